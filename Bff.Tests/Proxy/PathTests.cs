using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bff.Tests.Proxy;

/// <summary>
/// Path tricks sent as raw request lines (HttpClient would normalise them first) to a real Kestrel gateway. A token
/// must only ever reach the route's cluster, and the API must see a path under the route's prefix that no second
/// decoding or backslash rule could turn into another one.
/// </summary>
public sealed class PathTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;
    private TcpListener _elsewhere = null!;
    private string _sessionKey = null!;

    public async Task InitializeAsync()
    {
        _elsewhere = new TcpListener(IPAddress.Loopback, 0);
        _elsewhere.Start();
        _host = await ProxyTestHost.StartAsync(kestrel: true, routes: r =>
        {
            r["ReverseProxy:Routes:stripped:ClusterId"] = "api";
            r["ReverseProxy:Routes:stripped:Match:Path"] = "/stripped-api/{**rest}";
            r["ReverseProxy:Routes:stripped:Transforms:0:PathRemovePrefix"] = "/stripped-api";
        });
        (_, var session) = await _host.SignedInBrowserAsync();
        _sessionKey = session.Key;
    }

    public async Task DisposeAsync()
    {
        _elsewhere.Stop();
        await _host.DisposeAsync();
    }

    private string Elsewhere => "127.0.0.1:" + ((IPEndPoint)_elsewhere.LocalEndpoint).Port;

    [Theory]
    [InlineData("/api/..%2Fadmin")]
    [InlineData("/api/..%2fadmin")]
    [InlineData("/api/%2E%2E%2Fadmin")]
    [InlineData("/api/%252e%252e/admin")]
    [InlineData("/api/%252e%252e%252fadmin")]
    [InlineData("/api/..%252fadmin")]
    [InlineData("/api/%25252e%25252e/admin")]
    [InlineData("/api/..\\admin")]
    [InlineData("/api/..%5Cadmin")]
    [InlineData("/api/%5C..%5Cadmin")]
    [InlineData("/api/..;/admin")]
    [InlineData("/api/.;/x")]
    [InlineData("/api/%2F%2Fevil.example/x")]
    [InlineData("/stripped-api/..%2F..%2Fadmin")]
    [InlineData("/api/%c0%ae%c0%ae/admin")]
    [InlineData("/api/%C0%AE%C0%AE%C0%AFadmin")]
    [InlineData("/api/%e0%80%ae%e0%80%ae/admin")]
    [InlineData("/api/%u002e%u002e/admin")]
    [InlineData("/api/%u002e%u002e%u2215admin")]
    [InlineData("/api/%25c0%25ae%25c0%25ae/admin")]
    [InlineData("/api/%25u002e%25u002e/admin")]
    [InlineData("/api/%zz/admin")]
    [InlineData("/api/%ed%a0%80/x")]
    [InlineData("/api/caf%c3")]
    [InlineData("/api/%80/x")]
    public async Task A_path_an_api_could_read_differently_is_refused_with_400(string target)
    {
        var (status, body) = await SendRawAsync(target);

        Assert.Equal(400, status);
        Assert.Contains("\"error\":\"ambiguous_path\"", body, StringComparison.Ordinal);
        Assert.Empty(_host.Api.Received);
    }

    [Theory]
    [InlineData("/api/%2e%2e/admin")]
    [InlineData("/api/../admin")]
    [InlineData("/api/./.././admin")]
    [InlineData("/api;/../admin")]
    [InlineData("//api/x")]
    public async Task Dot_segments_are_resolved_before_routing_so_the_request_leaves_the_route(string target)
    {
        var (status, _) = await SendRawAsync(target);

        Assert.Equal(404, status);
        Assert.Empty(_host.Api.Received);
    }

    [Theory]
    [InlineData("/api//{elsewhere}/x")]
    [InlineData("/api/@{elsewhere}/x")]
    [InlineData("/api/%40{elsewhere}/x")]
    [InlineData("/api/http://{elsewhere}/x")]
    [InlineData("/api/x/..;/../y")]
    [InlineData("/stripped-api//{elsewhere}/x")]
    [InlineData("/stripped-api/@{elsewhere}")]
    public async Task Host_looking_paths_stay_paths_on_the_routes_cluster(string template)
    {
        var target = template.Replace("{elsewhere}", Elsewhere, StringComparison.Ordinal);

        var (status, _) = await SendRawAsync(target);

        Assert.Equal(200, status);
        var received = Assert.Single(_host.Api.Received);
        Assert.Equal(_host.Api.Port, received.LocalPort);
        var prefix = target.StartsWith("/stripped-api", StringComparison.Ordinal) ? "/" : "/api/";
        Assert.StartsWith(prefix, received.Path, StringComparison.Ordinal);
        Assert.StartsWith(prefix, received.RawTarget, StringComparison.Ordinal);
        Assert.DoesNotContain("..", received.Path, StringComparison.Ordinal);
        Assert.DoesNotContain('%', received.RawTarget);
        Assert.StartsWith("Bearer ", received.Header("Authorization"), StringComparison.Ordinal);
        Assert.False(_elsewhere.Pending(), "a request left for another host");
    }

    [Fact]
    public async Task An_absolute_form_request_target_for_another_host_is_refused()
    {
        var (status, _) = await SendRawAsync("http://" + Elsewhere + "/api/x");

        Assert.Equal(400, status);
        Assert.Empty(_host.Api.Received);
        Assert.False(_elsewhere.Pending(), "a request left for another host");
    }

    [Theory]
    [InlineData("/api/orders/42")]
    [InlineData("/api/.well-known/thing")]
    [InlineData("/api/files/report.v2..final.pdf")]
    [InlineData("/api/search/caf%C3%A9%20au%20lait")]
    [InlineData("/api/discount/10%25")]
    [InlineData("/api/discount/10%25off")]
    [InlineData("/api/emoji/%F0%9F%8D%95")]
    [InlineData("/api/orders?filter=%c0%ae%zz")]
    public async Task Ordinary_paths_with_dots_and_encodings_are_forwarded(string target)
    {
        var (status, _) = await SendRawAsync(target);

        Assert.Equal(200, status);
        Assert.Single(_host.Api.Received);
    }

    private async Task<(int Status, string Body)> SendRawAsync(string target)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _host.Address!.Port);
        await using var stream = client.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {_host.Address.Authority}\r\nX-CSRF: 1\r\n" +
            $"Cookie: {ProxyTestHost.CookieName}={_sessionKey}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, response);
    }
}
