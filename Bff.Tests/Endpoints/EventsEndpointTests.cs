using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.Observability;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bff.Tests.Endpoints;

/// <summary>
/// <c>GET /bff/events</c>: a page learns that its session is about to end or has ended, and why, without keeping the
/// session alive by listening; nobody else's page can listen.
/// </summary>
public sealed class EventsEndpointTests : IDisposable
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private readonly TestIdentityProvider _idp = new();
    private readonly TimerReportingClock _clock = new(DateTimeOffset.UtcNow);
    private readonly GatewayFactory _gateway;

    public EventsEndpointTests() => _gateway = new GatewayFactory(
        _idp,
        new Dictionary<string, string?>
        {
            ["Bff:Session:IdleTimeout"] = "00:20:00",
            ["Bff:Session:AbsoluteTimeout"] = "00:30:00",
            ["Bff:Session:WarnBefore"] = "00:02:00",
        },
        services: services => services.AddSingleton<TimeProvider>(_clock));

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task The_stream_says_it_is_ready_with_the_session_end_and_nothing_secret()
    {
        using var browser = await SignedInAsync();

        var (response, stream) = await OpenAsync(browser);
        using var _ = stream;
        var ready = await stream!.NextEventAsync();

        Assert.Equal("text/event-stream; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("ready", ready!.Name);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromMinutes(20), ready.Json.GetProperty("expiresAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain("alice", ready.Data, StringComparison.Ordinal);
        Assert.DoesNotContain(browser.CookieValue("__Host-bff")!, ready.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_is_warned_ahead_of_the_idle_timeout_with_the_seconds_left_and_can_extend_it()
    {
        using var browser = await SignedInAsync();
        var signedIn = _clock.GetUtcNow();
        var (_, stream) = await OpenAsync(browser);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);

        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(18));
        var expiring = await stream.NextEventAsync();

        Assert.Equal("expiring", expiring!.Name);
        Assert.Equal("idle", expiring.Json.GetProperty("kind").GetString());
        Assert.Equal(120, expiring.Json.GetProperty("secondsLeft").GetInt32());
        Assert.True(expiring.Json.GetProperty("canExtend").GetBoolean());

        // "Stay signed in": an ordinary call slides the session, and every tab's stream says so at its next read.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(Heartbeat);
        var extended = await stream.NextEventAsync();

        Assert.Equal("extended", extended!.Name);
        // Slid at minute 18 to minute 38, past the absolute end (30): the session now ends at that.
        Assert.Equal(signedIn + TimeSpan.FromMinutes(30), extended.Json.GetProperty("expiresAt").GetDateTimeOffset(), TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task Listening_does_not_keep_the_session_alive_and_the_stream_ends_with_expired()
    {
        using var browser = await SignedInAsync();
        var (_, stream) = await OpenAsync(browser);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);

        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.True((await stream.NextAsync())!.IsComment);
        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(8));
        Assert.Equal("expiring", (await stream.NextEventAsync())!.Name);
        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(3));

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("expired", ended.Json.GetProperty("reason").GetString());
        Assert.Null(await stream.NextAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user?slide=false")).StatusCode);
    }

    [Fact]
    public async Task The_absolute_limit_is_announced_as_one_no_call_can_extend()
    {
        using var browser = await SignedInAsync();
        var (_, stream) = await OpenAsync(browser);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);

        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(15));
        // Active at minute 15: the idle end moves to 35, past the absolute end (30).
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(TimeSpan.FromMinutes(13));

        var expiring = await stream.NextEventAsync();
        Assert.Equal("expiring", expiring!.Name);
        Assert.Equal("absolute", expiring.Json.GetProperty("kind").GetString());
        Assert.False(expiring.Json.GetProperty("canExtend").GetBoolean());
        Assert.Equal(120, expiring.Json.GetProperty("secondsLeft").GetInt32());
    }

    [Fact]
    public async Task Logging_out_in_one_tab_ends_every_tabs_stream_with_logout()
    {
        using var events = new CounterTotals(_gateway.Services.GetRequiredService<BffMetrics>().Meter, "bff.session.end_reason");
        using var browser = await SignedInAsync();
        var (_, first) = await OpenAsync(browser);
        var (_, second) = await OpenAsync(browser);
        using var a = first;
        using var b = second;
        Assert.Equal("ready", (await first!.NextEventAsync())!.Name);
        Assert.Equal("ready", (await second!.NextEventAsync())!.Name);

        await LogoutAsync(browser);

        foreach (var stream in new[] { first, second })
        {
            var ended = await stream.NextEventAsync();
            Assert.Equal("ended", ended!.Name);
            Assert.Equal("logout", ended.Json.GetProperty("reason").GetString());
            Assert.Null(await stream.NextAsync());
        }

        Assert.Equal(2, events["bff.events.sent", "logout"]);
    }

    [Fact]
    public async Task Back_channel_logout_ends_the_stream_with_backchannel()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp, shape: s => s.ProviderSessionId = "sid-7");
        var (_, stream) = await OpenAsync(browser);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);

        using var provider = new HttpClient(_gateway.Server.CreateHandler()) { BaseAddress = new Uri("https://localhost") };
        var posted = await provider.PostAsync("/bff/backchannel", new FormUrlEncodedContent([new("logout_token", _idp.CreateLogoutToken(null, "sid-7"))]));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("backchannel", ended.Json.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Another_users_logout_reaches_only_that_users_streams()
    {
        using var alice = await SignedInAsync("alice");
        using var bob = await SignedInAsync("bob");
        var (_, aliceStream) = await OpenAsync(alice);
        var (_, bobStream) = await OpenAsync(bob);
        using var a = aliceStream;
        using var b = bobStream;
        Assert.Equal("ready", (await aliceStream!.NextEventAsync())!.Name);
        Assert.Equal("ready", (await bobStream!.NextEventAsync())!.Name);

        await LogoutAsync(bob);
        Assert.Equal("ended", (await bobStream.NextEventAsync())!.Name);

        // Alice's stream goes on: its next message is the heartbeat.
        await _clock.WaitForTimerAsync(Heartbeat);
        _clock.Advance(Heartbeat);
        Assert.True((await aliceStream.NextAsync())!.IsComment);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetWithCsrfAsync("/bff/user?slide=false")).StatusCode);
    }

    [Fact]
    public async Task The_stream_needs_the_csrf_header_as_bff_user_does()
    {
        using var browser = await SignedInAsync();

        var (response, stream) = await EventStreamClient.OpenAsync(
            _gateway.Server.CreateHandler(), new Uri("https://localhost"), browser.CookieValue("__Host-bff"), csrf: false);

        Assert.Null(stream);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("csrf_header_missing", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    [InlineData("none")]
    public async Task A_request_the_browser_marks_as_from_another_site_is_refused(string site)
    {
        using var browser = await SignedInAsync();

        var (response, stream) = await OpenAsync(browser, new Dictionary<string, string>
        {
            ["Sec-Fetch-Site"] = site,
            ["Origin"] = "https://evil.example",
        });

        Assert.Null(stream);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("cross_site_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_preflight_from_another_origin_is_granted_nothing()
    {
        using var browser = await SignedInAsync();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/bff/events");

        var response = await browser.SendAsync(preflight, new Dictionary<string, string>
        {
            ["Origin"] = "https://evil.example",
            ["Access-Control-Request-Method"] = "GET",
            ["Access-Control-Request-Headers"] = "x-csrf",
        });

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Without_a_session_the_stream_is_refused()
    {
        var (response, stream) = await EventStreamClient.OpenAsync(_gateway.Server.CreateHandler(), new Uri("https://localhost"), sessionCookie: null);

        Assert.Null(stream);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("unauthenticated", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<BrowserClient> SignedInAsync(string subject = "alice")
    {
        var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp, subject: subject);
        return browser;
    }

    private Task<(HttpResponseMessage Response, EventStreamClient? Stream)> OpenAsync(BrowserClient browser, IDictionary<string, string>? headers = null) =>
        EventStreamClient.OpenAsync(
            _gateway.Server.CreateHandler(),
            new Uri("https://localhost"),
            browser.CookieValue("__Host-bff"),
            headers ?? new Dictionary<string, string> { ["Sec-Fetch-Site"] = "same-origin" });

    private static async Task LogoutAsync(BrowserClient browser)
    {
        var user = await browser.GetWithCsrfAsync("/bff/user?slide=false");
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var logout = await browser.GetAsync(json.RootElement.GetProperty("logoutUrl").GetString()!);
        Assert.True(logout.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found, $"logout answered {(int)logout.StatusCode}");
    }
}

/// <summary>The stream on a gateway that proxies APIs: a refresh the provider rejects, and the host's shutdown.</summary>
public sealed class EventsEndpointProxyTests
{
    [Fact]
    public async Task A_refresh_the_provider_rejects_ends_the_stream_with_refresh_rejected()
    {
        await using var host = await ProxyTestHost.StartAsync();
        var (_, session) = await host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        var (_, stream) = await EventStreamClient.OpenAsync(host.Gateway.Server.CreateHandler(), new Uri("https://localhost"), session.Key);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);
        host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });

        using var api = host.CreateApiClient(session.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/orders")).StatusCode);

        var ended = await stream.NextEventAsync();
        Assert.Equal("ended", ended!.Name);
        Assert.Equal("refresh_rejected", ended.Json.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Stopping_the_gateway_closes_open_streams_cleanly_instead_of_waiting_out_the_drain()
    {
        await using var host = await ProxyTestHost.StartAsync(kestrel: true);
        var (_, session) = await host.SignedInBrowserAsync();
        var (_, stream) = await EventStreamClient.OpenAsync(
            new SocketsHttpHandler { UseCookies = false }, host.Address!, session.Key);
        using var _ = stream;
        Assert.Equal("ready", (await stream!.NextEventAsync())!.Name);

        var stopping = host.Gateway.Services.GetRequiredService<IHost>().StopAsync();

        // A clean end of the response (not a connection reset after the 15 s drain), and no "ended": the session lives
        // on, and the page reconnects to another replica.
        Assert.Null(await stream.NextAsync());
        await stopping.WaitAsync(EventStreamClient.ReadBound);
    }
}
