using System.Diagnostics;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Proxy;

/// <summary>Route metadata is checked when routes load: a mistake stops the gateway before it serves anything.</summary>
public sealed class RouteMetadataTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Theory]
    [InlineData("Bff.Token", "Users", "Route 'api': metadata 'Bff.Token' has unknown value 'Users'; use User, Client, UserOrClient, UserOrNone or None")]
    [InlineData("Bff.Token", "1", "Route 'api': metadata 'Bff.Token' has unknown value '1'; use User, Client, UserOrClient, UserOrNone or None")]
    [InlineData("Bff.Csrf", "yes", "Route 'api': metadata 'Bff.Csrf' has unknown value 'yes'; use true or false")]
    [InlineData("Bff.Tokens", "User", "Route 'api': metadata 'Bff.Tokens' is not known; use Bff.Token, Bff.Csrf, Bff.CsrfOff, Bff.Scope, Bff.Resource, Bff.SetCookie, Bff.KeepRequestHeaders, Bff.Acr, Bff.MaxAge or Bff.DPoP")]
    [InlineData("Bff.DPoP", "Always", "Route 'api': metadata 'Bff.DPoP' has unknown value 'Always'; use Auto, Require or Bearer")]
    [InlineData("Bff.DPoP", "Require", "Route 'api': metadata 'Bff.DPoP' Require needs Bff:DPoP:Enabled true")]
    [InlineData("Bff.SetCookie", "Sometimes", "Route 'api': metadata 'Bff.SetCookie' has unknown value 'Sometimes'; use Drop or Allow")]
    [InlineData("Bff.KeepRequestHeaders", "X-Real-IP, X-Real-Ip-Address", "Route 'api': metadata 'Bff.KeepRequestHeaders' names 'X-Real-Ip-Address', which is not a header the gateway removes")]
    [InlineData("Bff.KeepRequestHeaders", "", "Route 'api': metadata 'Bff.KeepRequestHeaders' names ''")]
    [InlineData("Bff.CsrfOff", "yes", "Route 'api': metadata 'Bff.CsrfOff' has unknown value 'yes'; its only value is Acknowledged")]
    [InlineData("Bff.CsrfOff", "Acknowledged", "Route 'api': metadata 'Bff.CsrfOff' has no effect here")]
    [InlineData("Bff.Resource", "/orders", "Route 'api': metadata 'Bff.Resource' has unusable value '/orders'")]
    [InlineData("Bff.Resource", "https://api.example.com/#x", "Route 'api': metadata 'Bff.Resource' has unusable value")]
    [InlineData("Bff.Scope", "orders  read", "Route 'api': metadata 'Bff.Scope' has unusable value")]
    public void Wrong_route_metadata_stops_start_up_with_a_message_naming_route_and_key(string key, string value, string message)
    {
        using var gateway = Gateway(new() { [key] = value });

        var failures = StartUpFailures(gateway);

        Assert.Contains(failures, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Scope_or_resource_on_a_route_without_token_is_refused()
    {
        using var gateway = Gateway(new() { ["Bff.Token"] = "None", ["Bff.Resource"] = "https://api.example.com" });

        var failures = StartUpFailures(gateway);

        Assert.Contains(failures, f => f.Contains("have no effect with 'Bff.Token' None", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("User")]
    [InlineData("Client")]
    [InlineData("UserOrClient")]
    public void Csrf_off_on_a_route_that_carries_a_token_stops_start_up_unless_acknowledged(string token)
    {
        using var gateway = Gateway(new() { ["Bff.Token"] = token, ["Bff.Csrf"] = "false" });

        var failures = StartUpFailures(gateway);

        Assert.Contains(failures, f => f.Contains(
            $"Route 'api': metadata 'Bff.Csrf' false lets a cross-site form call the API with the token this route attaches ('Bff.Token' {token}); add 'Bff.CsrfOff': 'Acknowledged'",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Acknowledged_csrf_off_starts_with_one_warning_naming_the_route()
    {
        using var gateway = Gateway(new() { ["Bff.Csrf"] = "false", ["Bff.CsrfOff"] = "Acknowledged" });

        Assert.NotNull(gateway.Server);

        var warning = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 4009);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("Route api attaches a token (User) without the CSRF check", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Csrf_off_on_a_route_without_token_needs_no_acknowledgement()
    {
        using var gateway = Gateway(new() { ["Bff.Token"] = "None", ["Bff.Csrf"] = "false" });

        Assert.NotNull(gateway.Server);
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.EventId.Id == 4009);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        using var gateway = Gateway(new() { ["Bff.Token"] = "Users", ["Bff.Csrf"] = "maybe" });

        var failures = StartUpFailures(gateway);

        Assert.Contains(failures, f => f.Contains("'Bff.Token'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("'Bff.Csrf'", StringComparison.Ordinal));
    }

    [Fact]
    public void Known_values_are_accepted_in_any_case_and_other_metadata_is_left_alone()
    {
        using var gateway = Gateway(new()
        {
            ["bff.token"] = "userorclient",
            ["Bff.Csrf"] = "False",
            ["Bff.CsrfOff"] = "acknowledged",
            ["bff.setcookie"] = "allow",
            ["Bff.KeepRequestHeaders"] = "x-real-ip",
            ["Bff.Scope"] = "orders.read orders.write",
            ["Bff.Resource"] = "urn:example:orders",
            ["Team"] = "checkout",
        });

        Assert.NotNull(gateway.Server);
    }

    [Fact]
    public async Task The_published_gateway_exits_with_code_1_and_the_message()
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Bff.Host.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var argument in new[]
        {
            host,
            "--urls=http://127.0.0.1:0",
            "--Bff:Authority=" + _idp.Authority,
            "--Bff:ClientId=bff",
            "--Bff:ClientSecret=secret",
            "--Bff:RequireHttpsMetadata=false",
            "--Bff:PublicOrigin=https://app.example.com",
            "--ReverseProxy:Routes:api:ClusterId=api",
            "--ReverseProxy:Routes:api:Match:Path=/api/{**rest}",
            "--ReverseProxy:Routes:api:Metadata:Bff.Token=Users",
            "--ReverseProxy:Clusters:api:Destinations:main:Address=http://127.0.0.1:9/",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var output = await stderr;
        Assert.Contains("Route 'api': metadata 'Bff.Token' has unknown value 'Users'; use User, Client, UserOrClient, UserOrNone or None", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        _ = await stdout;
    }

    /// <summary>
    /// Starting the gateway fails (in the test host <c>BffHost.Run</c> turns the refusal into exit code 1, so the
    /// factory only sees a host that stopped); returns the problems the gateway reported.
    /// </summary>
    private static List<string> StartUpFailures(GatewayFactory gateway)
    {
        Assert.ThrowsAny<Exception>(() => gateway.Server);
        return gateway.Logs.Lines.Where(l => l.EventId.Id == 4006).Select(l => l.Message).ToList();
    }

    private GatewayFactory Gateway(Dictionary<string, string> metadata)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:api:ClusterId"] = "api",
            ["ReverseProxy:Routes:api:Match:Path"] = "/api/{**rest}",
            ["ReverseProxy:Clusters:api:Destinations:main:Address"] = "http://127.0.0.1:9/",
        };
        foreach (var (key, value) in metadata)
        {
            settings["ReverseProxy:Routes:api:Metadata:" + key] = value;
        }

        return new GatewayFactory(_idp, settings);
    }
}
