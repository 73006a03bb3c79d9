using System.Net;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Configuration;

/// <summary>
/// A configuration that cannot work stops the real process at start-up (<c>dotnet Bff.Host.dll</c>), with exit code 1
/// and one line per setting to fix on stderr, never a stack trace, and before it listens for the first request.
/// </summary>
public sealed class FailFastTests
{
    private const string Heading = "The gateway's configuration is not usable:";

    public static TheoryData<string, Dictionary<string, string?>, string[]> RefusedConfigurations => new()
    {
        {
            "nothing configured",
            new(),
            ["Bff:Authority is required", "Bff:ClientId is required", "Bff:ClientSecret is required", "Bff:PublicOrigin is required outside Development: set it to the origin browsers use (for example Bff__PublicOrigin=https://app.example.com)"]
        },
        {
            "http authority in Production",
            Valid(("Bff__Authority", "http://idp.example.com")),
            ["Bff:Authority uses http, which is refused outside Development"]
        },
        {
            "SameSite=None",
            Valid(("Bff__Cookie__SameSite", "None")),
            ["Bff:Cookie:SameSite must be Strict or Lax"]
        },
        {
            "cookie name without __Host-",
            Valid(("Bff__Cookie__Name", "bff-session")),
            ["Bff:Cookie:Name 'bff-session' is not usable: it must start with '__Host-'"]
        },
        {
            "DPoP key file that does not exist",
            Valid(("Bff__DPoP__Enabled", "true"), ("Bff__DPoP__KeyFile", "/nonexistent/dpop.pem")),
            ["Bff:DPoP:KeyFile '/nonexistent/dpop.pem' cannot be read"]
        },
        {
            "Redis store without a Redis connection",
            Valid(("Bff__Session__Store", "Redis")),
            ["Bff:Session:Store is Redis, but Bff:Redis:Configuration is empty"]
        },
        {
            "unparseable trusted proxy",
            Valid(("Bff__ForwardedHeaders__KnownProxies__0", "ingress.internal")),
            ["Bff:ForwardedHeaders:KnownProxies contains 'ingress.internal', which is not an IP address"]
        },
        {
            "unparseable trusted network",
            Valid(("Bff__ForwardedHeaders__KnownNetworks", "10.0.0.0/8,10.0.0.1/8")),
            ["Bff:ForwardedHeaders:KnownNetworks contains '10.0.0.1/8', which is not a network in CIDR notation"]
        },
        {
            "no public origin in Production",
            Valid(("Bff__PublicOrigin", null)),
            ["Bff:PublicOrigin is required outside Development"]
        },
        {
            "public origin with a path",
            Valid(("Bff__PublicOrigin", "https://app.example.com/app")),
            ["Bff:PublicOrigin 'https://app.example.com/app' is not usable: an origin has no user, path, query or fragment. Write scheme, host and optional port, for example https://app.example.com."]
        },
        {
            "public origin without a scheme",
            Valid(("Bff__PublicOrigin", "app.example.com")),
            ["Bff:PublicOrigin 'app.example.com' is not usable: it is not an absolute http(s) URL."]
        },
        {
            "every IPv4 address trusted for forwarded headers",
            Valid(("Bff__ForwardedHeaders__KnownNetworks__0", "0.0.0.0/0")),
            ["Bff:ForwardedHeaders:KnownNetworks contains '0.0.0.0/0', which trusts every address"]
        },
        {
            "every IPv6 address and every IPv4 address seen through a dual-stack socket trusted for forwarded headers",
            Valid(("Bff__ForwardedHeaders__KnownNetworks", "10.0.0.0/8,::/0,::ffff:0.0.0.0/96")),
            ["Bff:ForwardedHeaders:KnownNetworks contains '::/0', which trusts every address", "Bff:ForwardedHeaders:KnownNetworks contains '::ffff:0.0.0.0/96', which trusts every address"]
        },
        {
            "unknown OTLP protocol",
            Valid(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")),
            ["OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf ('http/json' is not)"]
        },
        {
            "bad settings in several sections",
            Valid(("Bff__ClientSecret", ""), ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")),
            ["Bff:ClientSecret is required", "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL"]
        },
        {
            "misspelled section names",
            Valid(("Bff__Sesion__Store", "Redis"), ("Bff__Cookies__SameSite", "Lax"), ("Bff__Token__RefreshBeforeExpiry", "00:05:00"),
                ("Bff__ForwardedHeader__KnownProxies__0", "10.0.0.7")),
            [
                "Bff:Sesion:Store is not a setting; did you mean Bff:Session:Store?",
                "Bff:Cookies:SameSite is not a setting; did you mean Bff:Cookie:SameSite?",
                "Bff:Token:RefreshBeforeExpiry is not a setting; did you mean Bff:Tokens:RefreshBeforeExpiry?",
                "Bff:ForwardedHeader:KnownProxies:0 is not a setting; did you mean Bff:ForwardedHeaders:KnownProxies:0?",
            ]
        },
        {
            "unit-less time spans",
            Valid(("Bff__Session__AbsoluteTimeout", "8"), ("Bff__Tokens__RefreshBeforeExpiry", "60")),
            [
                "Bff:Session:AbsoluteTimeout is '8': write a time span as hh:mm:ss",
                "Bff:Tokens:RefreshBeforeExpiry is '60': write a time span as hh:mm:ss",
            ]
        },
        {
            "a time span that is not one",
            Valid(("Bff__Session__IdleTimeout", "abc")),
            ["Bff:Session:IdleTimeout is 'abc': write a time span as hh:mm:ss"]
        },
        {
            "a misspelled session store",
            Valid(("Bff__Session__Store", "Reds")),
            ["Bff:Session:Store is 'Reds': write one of InMemory, Redis"]
        },
        {
            "SameSite as a number",
            Valid(("Bff__Cookie__SameSite", "3")),
            ["Bff:Cookie:SameSite is '3': write one of"]
        },
        {
            "SameSite as a list",
            Valid(("Bff__Cookie__SameSite", "Lax, Strict")),
            ["Bff:Cookie:SameSite is 'Lax, Strict': write one of"]
        },
    };

    [Theory]
    [MemberData(nameof(RefusedConfigurations))]
    public async Task A_refused_configuration_stops_the_process_with_a_message_naming_the_setting(
        string configuration, Dictionary<string, string?> environment, string[] messages)
    {
        using var gateway = GatewayProcess.Start(environment);

        var exitCode = await gateway.WaitForExitAsync();

        Assert.True(exitCode == 1, $"{configuration}: exit code {exitCode}.\n{gateway.Output}");
        var stderr = gateway.StandardError;
        Assert.StartsWith(Heading, stderr, StringComparison.Ordinal);
        foreach (var message in messages)
        {
            Assert.True(stderr.Contains("  - " + message, StringComparison.Ordinal), $"{configuration}: '{message}' missing.\n{gateway.Output}");
        }

        Assert.Equal(messages.Length, stderr.Split('\n').Count(l => l.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", gateway.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_http_authority_is_accepted_in_development_and_the_process_stops_cleanly_on_sigterm()
    {
        var environment = Valid(("Bff__Authority", "http://127.0.0.1:9/"));
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        using var gateway = GatewayProcess.Start(environment);

        var address = await gateway.WaitUntilListeningAsync();
        using var http = new HttpClient { BaseAddress = address };
        var live = await http.GetAsync("/health/live");
        gateway.Terminate();
        var exitCode = await gateway.WaitForExitAsync();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{gateway.Output}");
        Assert.Contains("Application is shutting down", gateway.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>A working configuration (Production, https authority) with the given variables changed.</summary>
    private static Dictionary<string, string?> Valid(params (string Name, string? Value)[] changes)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Bff__Authority"] = "https://idp.example.com",
            ["Bff__ClientId"] = "bff",
            ["Bff__ClientSecret"] = "not-a-real-secret",
            ["Bff__PublicOrigin"] = "https://app.example.com",
        };
        foreach (var (name, value) in changes)
        {
            environment[name] = value;
        }

        return environment;
    }
}
