using System.Net;
using System.Net.Sockets;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Observability;

/// <summary>What an operator sees of proxied calls the gateway refused or could not complete, by route.</summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class ProxyTelemetryTests : IAsyncLifetime
{
    private readonly TelemetryCapture _telemetry = new();
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        var closedPort = ClosedPort();
        _host = await ProxyTestHost.StartAsync(
            settings: TelemetryCapture.Settings(),
            services: _telemetry.Register,
            routes: r =>
            {
                r["ReverseProxy:Clusters:gone:Destinations:main:Address"] = $"http://127.0.0.1:{closedPort}/";
                r["ReverseProxy:Routes:gone:ClusterId"] = "gone";
                r["ReverseProxy:Routes:gone:Match:Path"] = "/gone-api/{**rest}";
            });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Calls_refused_by_the_csrf_or_origin_check_are_counted_by_route()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var withoutHeader = await browser.GetAsync("/api/orders");
        var foreignUpgrade = await browser.GetAsync("/orders-api/live", new Dictionary<string, string>
        {
            ["Upgrade"] = "websocket",
            ["Origin"] = "https://evil.example",
        });

        Assert.Equal(HttpStatusCode.Unauthorized, withoutHeader.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, foreignUpgrade.StatusCode);
        Assert.Empty(_host.Api.Received);
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.CsrfRejections, (Attributes.Endpoint, "user")));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.CsrfRejections, (Attributes.Endpoint, "orders")));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.ProxyErrors));
    }

    [Fact]
    public async Task An_unreachable_api_is_counted_as_a_proxy_error_of_its_kind_and_route()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/gone-api/orders");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.ProxyErrors, (Attributes.ErrorType, "upstream_unreachable"), (Attributes.Route, "gone")));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.ProxyErrors));
    }

    [Fact]
    public async Task A_refused_ambiguous_path_is_counted_as_a_proxy_error()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/api/..;/admin");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.ProxyErrors, (Attributes.ErrorType, "ambiguous_path"), (Attributes.Route, "user")));
    }

    [Fact]
    public async Task Forwarded_calls_add_no_gateway_metric()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/public-api/status"));

        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(0, _telemetry.CounterValue(Instruments.ProxyErrors));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.CsrfRejections));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.Refreshes));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
