using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Bff.Tests.Proxy;

/// <summary>Streams through a real Kestrel gateway: server-sent events and WebSockets.</summary>
public sealed class StreamingTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync(kestrel: true);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Server_sent_events_arrive_one_by_one_unbuffered()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var client = _host.CreateApiClient(session.Key);

        using var response = await client.GetAsync("/api/sse", HttpCompletionOption.ResponseHeadersRead);
        using var events = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        // The API holds its second event until the first one has reached the browser.
        Assert.Equal("data: first", await events.ReadLineAsync());
        Assert.False(_host.Api.SecondEvent.Task.IsCompleted);
        _host.Api.SecondEvent.SetResult();
        Assert.Equal(string.Empty, await events.ReadLineAsync());
        Assert.Equal("data: second", await events.ReadLineAsync());
    }

    [Fact]
    public async Task A_websocket_from_the_gateways_own_origin_is_forwarded_with_the_users_token()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var socket = WebSocketFor(session.Key, origin: Origin(_host.Address!));

        await socket.ConnectAsync(WebSocketUri("/api/ws"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var buffer = new byte[256];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);

        Assert.Equal("echo: hello", Encoding.UTF8.GetString(buffer, 0, received.Count));
        var upgrade = Assert.Single(_host.Api.Received, r => r.Path == "/api/ws");
        Assert.Equal("Bearer " + session.Tokens.AccessToken, upgrade.Header("Authorization"));
        Assert.Null(upgrade.Header("Cookie"));
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("null")]
    [InlineData(null)]
    public async Task A_websocket_from_another_origin_is_refused_with_403(string? origin)
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        using var socket = WebSocketFor(session.Key, origin);

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri("/api/ws"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        Assert.DoesNotContain(_host.Api.Received, r => r.Path == "/api/ws");
    }

    [Fact]
    public async Task A_look_alike_origin_on_another_port_is_refused()
    {
        var (_, session) = await _host.SignedInBrowserAsync();
        var address = _host.Address!;
        using var socket = WebSocketFor(session.Key, $"{address.Scheme}://{address.Host}:{address.Port + 1}");

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri("/api/ws"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Fact]
    public async Task A_websocket_without_a_session_is_refused_with_401()
    {
        using var socket = WebSocketFor(sessionKey: null, origin: Origin(_host.Address!));

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WebSocketUri("/api/ws"), CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    /// <summary>What a browser sends on a page of the gateway's public origin (the port of the loopback listener is not part of it).</summary>
    private static string Origin(Uri address) => $"{address.Scheme}://{address.Host}";

    private Uri WebSocketUri(string path) => new UriBuilder(_host.Address!) { Scheme = "ws", Path = path }.Uri;

    private static ClientWebSocket WebSocketFor(string? sessionKey, string? origin)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (sessionKey is not null)
        {
            socket.Options.SetRequestHeader("Cookie", ProxyTestHost.CookieName + "=" + sessionKey);
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        return socket;
    }
}
