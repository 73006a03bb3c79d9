using System.Net;
using System.Net.Sockets;

namespace Bff.Tests.Proxy;

public sealed class UpstreamFailureTests
{
    [Fact]
    public async Task An_unreachable_api_answers_502_problem_details()
    {
        var closedPort = ClosedPort();
        await using var host = await ProxyTestHost.StartAsync(routes: r =>
        {
            r["ReverseProxy:Clusters:gone:Destinations:main:Address"] = $"http://127.0.0.1:{closedPort}/";
            r["ReverseProxy:Routes:gone:ClusterId"] = "gone";
            r["ReverseProxy:Routes:gone:Match:Path"] = "/gone-api/{**rest}";
        });
        var (browser, _) = await host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/gone-api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.BadGateway, "upstream_unreachable");
        Assert.Contains(host.Gateway.Logs.Lines, l => l.EventId.Id == 4003);
    }

    [Fact]
    public async Task An_api_idle_past_the_activity_timeout_answers_504_and_the_call_is_cancelled()
    {
        await using var host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:api:HttpRequest:ActivityTimeout"] = "00:00:01",
        });
        var (browser, _) = await host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/api/slow");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.GatewayTimeout, "upstream_timeout");
        await host.Api.SlowRequestAborted.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_upstream_call()
    {
        await using var host = await ProxyTestHost.StartAsync(kestrel: true);
        var (_, session) = await host.SignedInBrowserAsync();
        using var client = host.CreateApiClient(session.Key);
        using var abort = new CancellationTokenSource();

        var call = client.GetAsync("/api/slow", abort.Token);
        await host.Api.SlowRequestArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await abort.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await host.Api.SlowRequestAborted.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task An_api_that_fails_after_its_headers_aborts_the_response_instead_of_truncating_it()
    {
        await using var host = await ProxyTestHost.StartAsync(kestrel: true);
        var (_, session) = await host.SignedInBrowserAsync();
        using var client = host.CreateApiClient(session.Key);

        using var response = await client.GetAsync("/api/broken", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1000, response.Content.Headers.ContentLength);
        host.Api.BreakResponse.SetResult();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => response.Content.ReadAsByteArrayAsync());
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
