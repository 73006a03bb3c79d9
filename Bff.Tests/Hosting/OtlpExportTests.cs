using Bff.Hosting;
using System.Net;
using System.Text;
using Bff.Tests.Infrastructure;
using Bff.Tests.Observability;
using Microsoft.Extensions.Configuration;

namespace Bff.Tests.Hosting;

/// <summary>
/// The published gateway, run as operators run it, exporting to a collector over each OTLP protocol: traces, metrics
/// and logs arrive, the metrics only because the providers are flushed when SIGTERM stops the process (their export
/// interval is a minute), and no secret of the journey (sign-in, a refreshing API call, logout, back-channel logout)
/// is in any byte sent nor in the console log at Trace level.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class OtlpExportTests
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    [InlineData(null)] // The default protocol is grpc.
    public async Task Telemetry_reaches_the_collector_without_secrets_and_is_flushed_on_sigterm(string? protocol)
    {
        using var idp = new TestIdentityProvider();
        await using var api = await UpstreamApi.StartAsync();
        await using var collector = await FakeOtlpCollector.StartAsync(protocol ?? "grpc");
        using var gateway = GatewayProcess.Start(new Dictionary<string, string?>(SecretJourney.ApiRoute(api.Address, "__"))
        {
            ["Bff__Authority"] = idp.Authority,
            ["Bff__ClientId"] = TestIdentityProvider.ClientId,
            ["Bff__ClientSecret"] = TestIdentityProvider.ClientSecret,
            ["Bff__RequireHttpsMetadata"] = "false",
            ["Bff__PublicOrigin"] = "http://127.0.0.1",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
            ["OTEL_SERVICE_NAME"] = "bff-under-test",
            ["Logging__LogLevel__Default"] = "Trace",
            ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
            ["Logging__LogLevel__Yarp"] = "Trace",
            ["Logging__LogLevel__System.Net.Http.HttpClient"] = "Trace",
            ["Logging__LogLevel__Polly"] = "Trace",
        });
        var address = await gateway.WaitUntilListeningAsync();
        var secrets = new SecretJourney.Secrets();
        using (var browser = new BrowserClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }, address))
        {
            await SecretJourney.RunAsync(idp, browser, secrets);
        }

        gateway.Terminate();
        var exitCode = await gateway.WaitForExitAsync();

        Assert.True(exitCode == 0, $"exit code {exitCode}\n{gateway.Output}");
        var traces = collector.BodiesFor("traces");
        var metrics = collector.BodiesFor("metrics");
        var logs = collector.BodiesFor("logs");
        Assert.True(traces.Count > 0 && metrics.Count > 0 && logs.Count > 0,
            $"traces {traces.Count}, metrics {metrics.Count}, logs {logs.Count} requests; received {string.Join(", ", collector.Requests.Select(r => r.Path))}\n{gateway.Output}");
        Assert.True(Contains(metrics, "bff.sessions.started"), "The gateway's own metrics were not flushed at shutdown.");
        Assert.True(Contains(traces, "bff.callback") && Contains(traces, "bff-under-test"), "The gateway's spans or its service name are missing.");
        Assert.True(Contains(traces, "bff.token.refresh") && Contains(traces, "bff.backchannel_logout"), "The refresh or back-channel logout spans are missing.");
        Assert.True(Contains(metrics, "bff.token.refreshes") && Contains(metrics, "bff.backchannel_logouts"), "The refresh or back-channel logout metrics are missing.");
        Assert.True(Contains(logs, "code=Redacted"), "The request log lines are missing.");
        foreach (var (name, value) in secrets.All)
        {
            Assert.False(Contains([.. traces, .. metrics, .. logs], value), $"The {name} was exported: {Around([.. traces, .. metrics, .. logs], value)}");
            Assert.False(gateway.Output.Contains(value, StringComparison.Ordinal), $"The {name} is in the console log (Kestrel, Trace).");
        }
    }

    [Fact]
    public void Export_switches_on_only_with_an_endpoint()
    {
        Assert.False(OtlpExportSettings.IsEnabled(Configuration(null)));
        Assert.False(OtlpExportSettings.IsEnabled(Configuration(" ")));
        Assert.True(OtlpExportSettings.IsEnabled(Configuration("http://collector:4317")));

        static IConfiguration Configuration(string? endpoint) =>
            new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc" })
                .Build();
    }

    private static string Around(IEnumerable<byte[]> bodies, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        foreach (var body in bodies)
        {
            var at = body.AsSpan().IndexOf(needle);
            if (at >= 0)
            {
                var start = Math.Max(0, at - 200);
                var around = Encoding.UTF8.GetString(body, start, Math.Min(body.Length - start, 400));
                return new string([.. around.Select(c => char.IsControl(c) ? '.' : c)]);
            }
        }

        return string.Empty;
    }

    private static bool Contains(IEnumerable<byte[]> bodies, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return bodies.Any(body => body.AsSpan().IndexOf(needle) >= 0);
    }
}
