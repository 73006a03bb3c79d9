using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Observability;

/// <summary>
/// A trace the SPA (or an ingress) starts goes on in the API, whether or not the gateway records spans of its own
/// (without an OTLP endpoint or <c>OTEL_TRACES_SAMPLER</c> it records none and subscribes no ASP.NET Core or HttpClient
/// instrumentation).
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class TracePropagationTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpanId = "00f067aa0ba902b7";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_callers_trace_continues_in_the_api(bool recordSpans)
    {
        var settings = recordSpans ? new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = "always_on" } : null;
        await using var host = await ProxyTestHost.StartAsync(settings: settings);
        var (browser, _) = await host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["traceparent"] = $"00-{TraceId}-{CallerSpanId}-01",
        }));

        var traceparent = echo.Header("traceparent");
        Assert.NotNull(traceparent);
        Assert.Equal(TraceId, traceparent.Split('-')[1]);
    }
}
