using Bff.Redis;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Bff.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using WireMock;

namespace Bff.Tests.Redis;

/// <summary>
/// Replicas together spend each refresh token once: a burst of API calls on an expiring token, split over two
/// replicas, makes one call to the provider, and a provider that revokes the grant on refresh-token reuse never sees one.
/// </summary>
public sealed class CrossReplicaRefreshTests : IAsyncLifetime
{
    // Expired, not merely expiring: a replica uses a token that still works rather than wait for another's refresh.
    private static readonly TimeSpan Expiring = TimeSpan.FromSeconds(-1);
    private static readonly TimeSpan OneHour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly ReplicaSet _set = new();
    private UpstreamApi _api = null!;

    private TestIdentityProvider Idp => _set.Idp;

    public async Task InitializeAsync()
    {
        await _set.InitializeAsync();
        _api = await UpstreamApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _set.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task An_API_call_on_another_replica_carries_the_users_access_token()
    {
        var (a, b) = (StartReplica(), StartReplica());
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(Idp);
        var session = await StoredSessionAsync(a, browser);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync(b.Url("/api/orders")));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(0, Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_burst_split_over_two_replicas_on_an_expiring_token_refreshes_exactly_once()
    {
        var (a, b) = (StartReplica(), StartReplica());
        var (browser, signedIn) = await SignInWithExpiringTokenAsync(a);
        // The provider answers only once both replicas have a refresh under way: the burst overlaps the refresh.
        Idp.RefreshBehavior = _ => WaitForFlightsOn(a, b);

        var responses = await BurstAsync(a, b, browser, count: 20);

        Assert.Equal(1, Idp.RefreshRequests);
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
    public async Task A_provider_that_revokes_the_grant_on_refresh_token_reuse_never_sees_a_reuse()
    {
        var (a, b) = (StartReplica(), StartReplica());
        var provider = new RotatingProviderWithReuseDetection(() => WaitForFlightsOn(a, b));
        var (browser, _) = await SignInWithExpiringTokenAsync(a);
        Idp.RefreshBehavior = provider.Answer;

        foreach (var response in await BurstAsync(a, b, browser, count: 20))
        {
            await ProxyTestHost.EchoAsync(response);
        }

        // The new access token nears its expiry too; the next burst spends the rotated refresh token, once.
        var store = a.Services.GetRequiredService<ISessionStore>();
        var current = await StoredSessionAsync(a, browser);
        var expiring = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow + Expiring).ToUnixTimeMilliseconds());
        await store.ReplaceAsync(current with { Tokens = current.Tokens with { AccessTokenExpiresAt = expiring } }, CancellationToken.None);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await StoredSessionAsync(b, browser)).Tokens.AccessTokenExpiresAt == expiring, Deadline));
        foreach (var response in await BurstAsync(b, a, browser, count: 20))
        {
            await ProxyTestHost.EchoAsync(response);
        }

        Assert.False(provider.ReuseDetected, "a spent refresh token was presented again");
        Assert.Equal(2, Idp.RefreshRequests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_refresh_whose_new_tokens_cannot_be_saved_keeps_them_until_Redis_is_back_and_the_session_survives()
    {
        var (a, b) = (StartReplica(), StartReplica());
        // Redis goes down (saving its data, as a restart with persistence would) after the provider redeemed the
        // refresh token and before the gateway saves the new tokens.
        var provider = new RotatingProviderWithReuseDetection(() =>
        {
            _set.Redis.StopAsync(keepData: true).GetAwaiter().GetResult();
            return null;
        });
        var (browser, signedIn) = await SignInWithExpiringTokenAsync(a);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Idp.RefreshBehavior = provider.Answer;

        var failed = await browser.GetWithCsrfAsync(a.Url("/api/orders"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.NotNull(failed.Headers.RetryAfter);
        Assert.Contains("\"session_store_unavailable\"", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_api.Received);
        Assert.DoesNotContain(a.Logs.Lines, l => l.EventId.Id == 1002);

        await _set.Redis.StartAsync();

        // The kept tokens are saved once Redis answers; both replicas serve them, and the session never ended.
        var statuses = new List<HttpStatusCode>();
        Assert.True(await ReplicaSet.EventuallyAsync(async () =>
        {
            var response = await browser.GetWithCsrfAsync(a.Url("/api/orders"));
            statuses.Add(response.StatusCode);
            return response.StatusCode == HttpStatusCode.OK;
        }, Deadline));
        Assert.DoesNotContain(HttpStatusCode.Unauthorized, statuses);
        // The other replica reconnects on its own schedule.
        UserSession? saved = null;
        Assert.True(await ReplicaSet.EventuallyAsync(async () =>
        {
            var lookup = await b.Services.GetRequiredService<ISessionStore>().FindAsync(browser.CookieValue(ProxyTestHost.CookieName)!, CancellationToken.None);
            saved = lookup.Session;
            return saved is not null;
        }, Deadline));
        Assert.Equal(signedIn.Tokens.Version + 1, saved!.Tokens.Version);
        Assert.NotEqual(signedIn.Tokens.RefreshToken, saved.Tokens.RefreshToken);
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync(b.Url("/api/orders")));
        Assert.Equal("Bearer " + saved.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.False(provider.ReuseDetected, "the spent refresh token was presented again");
        Assert.Equal(1, Idp.RefreshRequests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_refresh_whose_id_token_is_not_the_providers_ends_the_session_on_every_replica_with_one_refresh()
    {
        var (a, b) = (StartReplica(), StartReplica());
        var forged = Idp.CreateIdToken(new IdTokenShape
        {
            Subject = "alice",
            SigningKeyOverride = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "key-never-published" },
        });
        // The answer comes once both replicas have a refresh under way: one spends the refresh token, the other waits
        // on the lock and must learn that the session ended rather than spend the token again.
        var provider = new RotatingProviderWithReuseDetection(() =>
        {
            WaitForFlightsOn(a, b);
            return TestIdentityProvider.Json(200, new JsonObject
            {
                ["access_token"] = "at.alice.untrusted",
                ["token_type"] = "Bearer",
                ["expires_in"] = 3600,
                ["refresh_token"] = "rt.alice.untrusted",
                ["id_token"] = forged,
            });
        });
        var (browser, _) = await SignInWithExpiringTokenAsync(a);
        Idp.RefreshBehavior = provider.Answer;

        var responses = await BurstAsync(a, b, browser, count: 20);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Empty(_api.Received);
        Assert.Equal(1, Idp.RefreshRequests);
        Assert.False(provider.ReuseDetected, "the spent refresh token was presented again");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync(a.Url("/api/orders"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync(b.Url("/api/orders"))).StatusCode);
        Assert.Equal(1, Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_replica_that_died_holding_the_refresh_lock_neither_freezes_the_session_nor_makes_it_spend_a_token_twice()
    {
        var (a, b) = (StartReplica(), StartReplica());
        var provider = new RotatingProviderWithReuseDetection(() => null);
        var (browser, signedIn) = await SignInWithExpiringTokenAsync(a);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        var store = a.Services.GetRequiredService<ISessionStore>();
        Idp.RefreshBehavior = provider.Answer;

        // A third replica took the session's refresh lock and died: its lease is neither renewed nor released.
        var lockKey = a.Services.GetRequiredService<RedisConnection>().Keys.RefreshLock(SessionKey.Id(key));
        await _set.Redis.CommandAsync($"SET {lockKey} dead-replica PX {(long)RefreshCoordinator.LockTtl.TotalMilliseconds}");

        // While the access token has not expired, both replicas use it at once rather than wait for that lock.
        var stillValid = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30)).ToUnixTimeMilliseconds());
        await store.ReplaceAsync(signedIn with { Tokens = signedIn.Tokens with { AccessTokenExpiresAt = stillValid } }, CancellationToken.None);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await StoredSessionAsync(b, browser)).Tokens.AccessTokenExpiresAt == stillValid, Deadline));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var duringLease = await BurstAsync(a, b, browser, count: 10);
        var answeredIn = clock.Elapsed;

        foreach (var response in duringLease)
        {
            var echo = await ProxyTestHost.EchoAsync(response);
            Assert.Equal("Bearer " + signedIn.Tokens.AccessToken, echo.Header("Authorization"));
        }

        Assert.True(answeredIn < RefreshCoordinator.LockTtl, $"the calls waited {answeredIn} for the dead replica's lock");
        Assert.Equal(0, Idp.RefreshRequests);

        // Once the token has expired, calls wait for the dead replica's lease to run out (it is short), then one
        // replica refreshes, once.
        var expired = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow - TimeSpan.FromSeconds(1)).ToUnixTimeMilliseconds());
        await store.ReplaceAsync(signedIn with { Tokens = signedIn.Tokens with { AccessTokenExpiresAt = expired } }, CancellationToken.None);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await StoredSessionAsync(b, browser)).Tokens.AccessTokenExpiresAt == expired, Deadline));
        var afterLease = await BurstAsync(b, a, browser, count: 10);

        var refreshed = await StoredSessionAsync(a, browser);
        Assert.Equal(signedIn.Tokens.Version + 1, refreshed.Tokens.Version);
        foreach (var response in afterLease)
        {
            var echo = await ProxyTestHost.EchoAsync(response);
            Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, echo.Header("Authorization"));
        }

        Assert.Equal(1, Idp.RefreshRequests);
        Assert.False(provider.ReuseDetected, "a spent refresh token was presented again");
    }

    private GatewayReplica StartReplica() => _set.Start(ProxyTestHost.RouteSettings(_api.Address));

    /// <summary>
    /// A session whose one-hour access token has just expired, so inside the refresh window (a freshly issued
    /// 30-second token would not be: the window is at most half the token's lifetime).
    /// </summary>
    private async Task<(BrowserClient Browser, UserSession Session)> SignInWithExpiringTokenAsync(GatewayReplica replica)
    {
        Idp.AccessTokenLifetime = OneHour;
        var browser = replica.CreateBrowser();
        await browser.SignInAsync(Idp);
        var signedIn = await StoredSessionAsync(replica, browser);
        var expiring = DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow + Expiring).ToUnixTimeMilliseconds());
        var session = signedIn with { Tokens = signedIn.Tokens with { AccessTokenExpiresAt = expiring } };
        Assert.Equal(StoreOutcome.Ok, await replica.Services.GetRequiredService<ISessionStore>().ReplaceAsync(session, CancellationToken.None));
        return (browser, await StoredSessionAsync(replica, browser));
    }

    private static async Task<UserSession> StoredSessionAsync(GatewayReplica replica, BrowserClient browser)
    {
        var lookup = await replica.Services.GetRequiredService<ISessionStore>()
            .FindAsync(browser.CookieValue(ProxyTestHost.CookieName)!, CancellationToken.None);
        return lookup.Session ?? throw new InvalidOperationException($"No session: {lookup.Status}.");
    }

    /// <summary>Concurrent API calls of one session, alternating between two replicas.</summary>
    private static async Task<HttpResponseMessage[]> BurstAsync(GatewayReplica first, GatewayReplica second, BrowserClient browser, int count)
    {
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
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
        client.DefaultRequestHeaders.Add("Cookie", ProxyTestHost.CookieName + "=" + sessionKey);
        return client;
    }

    /// <summary>Holds the provider's answer until both replicas have a refresh flight (bounded), then issues tokens.</summary>
    private static IResponseMessage? WaitForFlightsOn(GatewayReplica a, GatewayReplica b)
    {
        var coordinators = new[] { a, b }.Select(r => r.Services.GetRequiredService<RefreshCoordinator>()).ToArray();
        var deadline = DateTime.UtcNow + Deadline;
        while (coordinators.Any(c => c.FlightsInProgress == 0) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.True(coordinators.All(c => c.FlightsInProgress > 0), "the burst did not reach both replicas while the refresh was under way");
        return null;
    }

    /// <summary>
    /// A provider with rotating refresh tokens and reuse detection: each refresh token works once; presenting a spent
    /// one revokes the whole grant (every later refresh is refused), as OAuth 2.0 Security BCP 4.14.2 describes.
    /// </summary>
    private sealed class RotatingProviderWithReuseDetection(Func<IResponseMessage?> beforeAnswer)
    {
        private readonly ConcurrentDictionary<string, bool> _spent = new(StringComparer.Ordinal);
        private volatile bool _revoked;

        public bool ReuseDetected => _revoked;

        public IResponseMessage? Answer(IRequestMessage request)
        {
            var refreshToken = TestIdentityProvider.Form(request).GetValueOrDefault("refresh_token") ?? string.Empty;
            if (_revoked || !_spent.TryAdd(refreshToken, true))
            {
                _revoked = true;
                return TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });
            }

            return beforeAnswer();
        }
    }
}
