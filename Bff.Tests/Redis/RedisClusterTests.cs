using System.Net;
using System.Text.Json;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Bff.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Redis;

/// <summary>
/// Sessions on a real three-primary Redis Cluster (<c>Bff:Redis:Configuration</c> lists its nodes): every flow that
/// touches several keys at once (sign-in with its indexes, the per-user cap, the fenced refresh save, back-channel
/// logout, the replay cache) works, because a session's keys share its subject's hash slot; the key ring and the
/// invalidation channel work across nodes. One cluster serves every test of this class; each uses its own subjects.
/// </summary>
public sealed class RedisClusterTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TestIdentityProvider _idp = new();
    private readonly List<GatewayReplica> _replicas = [];
    private UpstreamApi _api = null!;

    public async Task InitializeAsync() => _api = await UpstreamApi.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }

        await _api.DisposeAsync();
        _idp.Dispose();
    }

    [Fact]
    public async Task Sessions_of_many_users_spread_over_the_primaries_and_every_replica_serves_them()
    {
        var (a, b) = (Start(), Start());
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 5100 && l.Message.StartsWith("Redis shape: Cluster, 3 primary(ies) and 3 replica(s)", StringComparison.Ordinal));
        var browsers = new List<BrowserClient>();
        var primaries = new HashSet<int>();
        for (var i = 0; i < 8; i++)
        {
            var browser = a.CreateBrowser();
            browsers.Add(browser);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_idp, subject: "spread-" + i)).StatusCode);
            var key = a.Services.GetRequiredService<RedisConnection>().Keys.Session(SessionKey.Id(browser.CookieValue("__Host-bff")!));
            primaries.Add((await cluster.PrimaryOfAsync(key.ToString())).Port);
        }

        Assert.True(primaries.Count >= 2, "the sessions all landed on one primary: the test proves nothing about slots");
        foreach (var browser in browsers)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/api/orders"))).StatusCode);
            browser.Dispose();
        }
    }

    [Fact]
    public async Task A_burst_over_two_replicas_on_an_expired_token_refreshes_once_and_every_call_carries_the_new_token()
    {
        var (a, b) = (Start(), Start());
        var (browser, signedIn) = await SignInWithExpiredTokenAsync(a, "refresh-burst");

        var responses = await BurstAsync(a, b, browser, count: 20);

        Assert.Equal(1, _idp.RefreshRequests);
        var refreshed = await StoredSessionAsync(b, browser);
        Assert.Equal(signedIn.Tokens.Version + 1, refreshed.Tokens.Version);
        Assert.NotEqual(signedIn.Tokens.RefreshToken, refreshed.Tokens.RefreshToken);
        foreach (var response in responses)
        {
            var echo = await ProxyTestHost.EchoAsync(response);
            Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, echo.Header("Authorization"));
        }
    }

    [Fact]
    public async Task Break_glass_on_one_replica_ends_the_event_streams_of_sessions_across_the_primaries_on_the_other()
    {
        var (a, b) = (Start(), Start());
        var browsers = new List<BrowserClient>();
        var streams = new List<EventStreamClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var browser = a.CreateBrowser();
                browsers.Add(browser);
                Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_idp, subject: "glass-" + i)).StatusCode);
                streams.Add(await EventStreamClient.OpenReadyAsync(b, browser));
            }

            var ended = await a.Services.GetRequiredService<SessionTermination>().EndEveryAsync(Bff.Observability.TelemetryNames.SessionEndReasons.BreakGlass, CancellationToken.None);

            Assert.Equal(StoreOutcome.Ok, ended.Outcome);
            foreach (var stream in streams)
            {
                var notice = await stream.NextEventAsync();
                Assert.Equal("ended", notice!.Name);
                Assert.Equal("revoked", notice.Json.GetProperty("reason").GetString());
            }

            Assert.Equal(HttpStatusCode.Unauthorized, (await browsers[0].GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
            browsers.ForEach(browser => browser.Dispose());
        }
    }

    [Fact]
    public async Task Logout_on_one_replica_ends_the_session_on_the_other()
    {
        var (a, b) = (Start(), Start());
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_idp, subject: "logout-user");
        var cookie = browser.CookieValue("__Host-bff")!;
        var user = await browser.GetWithCsrfAsync(b.Url("/bff/user"));
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        var logoutUrl = JsonDocument.Parse(await user.Content.ReadAsStringAsync()).RootElement.GetProperty("logoutUrl").GetString()!;

        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync(a.Url(logoutUrl))).StatusCode);

        using var stolen = a.CreateBrowser();
        stolen.PutCookie("__Host-bff", cookie);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await stolen.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, Deadline));
        Assert.Equal(HttpStatusCode.Unauthorized, (await stolen.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task Back_channel_logout_by_provider_session_or_by_subject_ends_sessions_everywhere_and_a_replayed_token_is_refused()
    {
        var (a, b) = (Start(), Start());
        using var bySid = a.CreateBrowser();
        await bySid.SignInAsync(_idp, subject: "bcl-user", shape: s => s.ProviderSessionId = "sid-cluster-1");
        using var sameUserOtherSid = b.CreateBrowser();
        await sameUserOtherSid.SignInAsync(_idp, subject: "bcl-user", shape: s => s.ProviderSessionId = "sid-cluster-2");
        using var bySubject = a.CreateBrowser();
        await bySubject.SignInAsync(_idp, subject: "bcl-other", shape: s => s.ProviderSessionId = "sid-cluster-3");
        using var provider = new HttpClient { BaseAddress = b.BaseAddress };

        var token = _idp.CreateLogoutToken(null, "sid-cluster-1");
        Assert.Equal(HttpStatusCode.OK, (await provider.PostAsync("/bff/backchannel", LogoutForm(token))).StatusCode);
        // The token id is remembered in the cluster: the same token again is a replay.
        Assert.Equal(HttpStatusCode.BadRequest, (await provider.PostAsync("/bff/backchannel", LogoutForm(token))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await provider.PostAsync("/bff/backchannel", LogoutForm(_idp.CreateLogoutToken("bcl-other", null)))).StatusCode);

        foreach (var replica in new[] { a, b })
        {
            Assert.True(await ReplicaSet.EventuallyAsync(
                async () => (await bySid.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, Deadline));
            Assert.True(await ReplicaSet.EventuallyAsync(
                async () => (await bySubject.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, Deadline));
            Assert.Equal(HttpStatusCode.OK, (await sameUserOtherSid.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode);
        }
    }

    [Fact]
    public async Task The_per_user_cap_ends_the_oldest_session_on_every_replica()
    {
        var settings = new Dictionary<string, string?> { ["Bff:Session:MaxPerSubject"] = "2" };
        var (a, b) = (Start(settings), Start(settings));
        using var first = a.CreateBrowser();
        using var second = b.CreateBrowser();
        using var third = a.CreateBrowser();
        await first.SignInAsync(_idp, subject: "capped-user");
        await second.SignInAsync(_idp, subject: "capped-user");
        Assert.Equal(HttpStatusCode.OK, (await first.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);

        await third.SignInAsync(_idp, subject: "capped-user");

        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await first.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized, Deadline));
        Assert.Equal(HttpStatusCode.OK, (await second.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await third.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    private GatewayReplica Start(IDictionary<string, string?>? extra = null)
    {
        var settings = ProxyTestHost.RouteSettings(_api.Address);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var replica = GatewayReplica.Start(_idp, cluster.Configuration, settings);
        _replicas.Add(replica);
        return replica;
    }

    private static FormUrlEncodedContent LogoutForm(string token) => new([new("logout_token", token)]);

    /// <summary>A session whose one-hour access token has just expired (inside the refresh window).</summary>
    internal static async Task<(BrowserClient Browser, UserSession Session)> SignInWithExpiredTokenAsync(
        GatewayReplica replica, TestIdentityProvider idp, string subject)
    {
        idp.AccessTokenLifetime = TimeSpan.FromHours(1);
        var browser = replica.CreateBrowser();
        await browser.SignInAsync(idp, subject: subject);
        var signedIn = await StoredSessionAsync(replica, browser);
        var expired = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds());
        var session = signedIn with { Tokens = signedIn.Tokens with { AccessTokenExpiresAt = expired } };
        Assert.Equal(StoreOutcome.Ok, await replica.Services.GetRequiredService<ISessionStore>().ReplaceAsync(session, CancellationToken.None));
        return (browser, await StoredSessionAsync(replica, browser));
    }

    private Task<(BrowserClient Browser, UserSession Session)> SignInWithExpiredTokenAsync(GatewayReplica replica, string subject) =>
        SignInWithExpiredTokenAsync(replica, _idp, subject);

    internal static async Task<UserSession> StoredSessionAsync(GatewayReplica replica, BrowserClient browser)
    {
        var lookup = await replica.Services.GetRequiredService<ISessionStore>()
            .FindAsync(browser.CookieValue("__Host-bff")!, CancellationToken.None);
        return lookup.Session ?? throw new InvalidOperationException($"No session: {lookup.Status}.");
    }

    /// <summary>Concurrent API calls of one session, alternating between two replicas.</summary>
    internal static async Task<HttpResponseMessage[]> BurstAsync(GatewayReplica first, GatewayReplica second, BrowserClient browser, int count)
    {
        var key = browser.CookieValue("__Host-bff")!;
        using var toFirst = ApiClient(first, key);
        using var toSecond = ApiClient(second, key);
        var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(i => (i % 2 == 0 ? toFirst : toSecond).GetAsync($"/api/orders/{i}")));
        foreach (var response in responses)
        {
            await response.Content.LoadIntoBufferAsync();
        }

        return responses;
    }

    private static HttpClient ApiClient(GatewayReplica replica, string sessionKey)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = replica.BaseAddress };
        client.DefaultRequestHeaders.Add("X-CSRF", "1");
        client.DefaultRequestHeaders.Add("Cookie", "__Host-bff=" + sessionKey);
        return client;
    }
}
