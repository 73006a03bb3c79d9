using System.Diagnostics;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Proxy;

/// <summary>Route metadata is checked when routes load: a mistake stops the gateway before it serves anything.</summary>
public sealed class RouteMetadataTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Theory]
    [InlineData("Bff.Token", "Users", "Route 'api': metadata 'Bff.Token' has unknown value 'Users'; use User, Client, UserOrClient or None")]
    [InlineData("Bff.Token", "1", "Route 'api': metadata 'Bff.Token' has unknown value '1'; use User, Client, UserOrClient or None")]
    [InlineData("Bff.Csrf", "yes", "Route 'api': metadata 'Bff.Csrf' has unknown value 'yes'; use true or false")]
    [InlineData("Bff.Tokens", "User", "Route 'api': metadata 'Bff.Tokens' is not known; use Bff.Token, Bff.Csrf, Bff.Scope or Bff.Resource")]
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
        Assert.Contains("Route 'api': metadata 'Bff.Token' has unknown value 'Users'; use User, Client, UserOrClient or None", output, StringComparison.Ordinal);
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
