using System.Collections.Concurrent;
using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Redis;

/// <summary>
/// Redis behind Sentinel (<c>Bff:Redis:Configuration</c> lists the Sentinels and <c>serviceName=</c>): the gateway
/// finds the primary through them, and when the primary dies and the Sentinels promote its replica, the gateway follows
/// by itself; in between, signed-in users get 503 with Retry-After, never a 401, and no session is lost.
/// </summary>
public sealed class SentinelFailoverTests : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(30);

    private readonly RedisSentinelFixture _redis = new();
    private readonly TestIdentityProvider _idp = new();
    private readonly List<GatewayReplica> _replicas = [];
    private UpstreamApi? _api;

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }

        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        await _redis.DisposeAsync();
        _idp.Dispose();
    }

    [Fact]
    public async Task Primary_killed_under_refreshing_load_loses_no_session_and_spends_no_refresh_token_twice()
    {
        _api = await UpstreamApi.StartAsync();
        var (a, b) = (Start(ProxyTestHost.RouteSettings(_api.Address)), Start(ProxyTestHost.RouteSettings(_api.Address)));
        await RefreshingLoadDrill.RunAsync(
            _idp,
            a,
            b,
            async _ =>
            {
                await _redis.ReplicaCaughtUpAsync();
                await _redis.KillPrimaryAsync();
            },
            RecoveryDeadline);
    }

    [Fact]
    public async Task Primary_killed_under_load_costs_503s_with_retry_after_and_no_session()
    {
        var a = Start();
        var b = Start();
        // The gateway found the primary through the Sentinels, and says so.
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 5100 && l.Message.StartsWith("Redis shape: Sentinel, 1 primary(ies)", StringComparison.Ordinal));
        var browsers = new List<BrowserClient>();
        for (var i = 0; i < 6; i++)
        {
            var browser = (i % 2 == 0 ? a : b).CreateBrowser();
            browsers.Add(browser);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_idp, subject: "user" + i)).StatusCode);
        }

        // Sessions written so far are on the replica: a failover must not lose them.
        await _redis.ReplicaCaughtUpAsync();

        var answers = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        using var stop = new CancellationTokenSource();
        var load = browsers.Select((browser, i) => Task.Run(async () =>
        {
            var replica = i % 2 == 0 ? b : a;
            while (!stop.IsCancellationRequested)
            {
                using var response = await browser.GetWithCsrfAsync(replica.Url("/bff/user"));
                answers.Add((response.StatusCode, response.Headers.RetryAfter is not null));
            }
        })).ToList();

        // Writes too: sign-ins keep arriving. While no primary answers, a callback is a 503 with Retry-After.
        var signIns = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        load.Add(Task.Run(async () =>
        {
            using var browser = a.CreateBrowser();
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var authorize = await browser.StartSignInAsync(_idp);
                using var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce, "wave" + n), authorize.State));
                signIns.Add((callback.StatusCode, callback.Headers.RetryAfter is not null));
            }
        }));

        await RedisProcess.UntilAsync(() => Task.FromResult(answers.Count >= 20), "load before the failover");
        await _redis.KillPrimaryAsync();
        var beforeRecovery = answers.Count;

        // Every session answers on every replica again, without a restart.
        foreach (var browser in browsers)
        {
            foreach (var replica in new[] { a, b })
            {
                Assert.True(await ReplicaSet.EventuallyAsync(
                    async () => (await browser.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.OK,
                    RecoveryDeadline), $"a session did not come back on {replica.BaseAddress}");
            }
        }

        // Following the new primary was a topology change, logged as one.
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 5101);
        await RedisProcess.UntilAsync(() => Task.FromResult(answers.Count >= beforeRecovery + 20), "load after the failover");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.All(signIns, r => Assert.True(r.Status == HttpStatusCode.Redirect || (r.Status == HttpStatusCode.ServiceUnavailable && r.RetryAfter), $"sign-in answered {r.Status}"));
        var unexpected = answers.Where(r => r.Status != HttpStatusCode.OK && r.Status != HttpStatusCode.ServiceUnavailable).ToList();
        Assert.Empty(unexpected);
        Assert.All(answers.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), r => Assert.True(r.RetryAfter));

        // The promoted primary takes writes: a new sign-in, and a logout that ends a session everywhere.
        using var late = a.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await late.SignInAsync(_idp, subject: "late")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await late.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        foreach (var browser in browsers)
        {
            browser.Dispose();
        }
    }

    private GatewayReplica Start(IDictionary<string, string?>? routes = null)
    {
        var settings = new Dictionary<string, string?>(routes ?? new Dictionary<string, string?>())
        {
            // A sign-in wave from one loopback address.
            ["Bff:RateLimits:SignIn:Enabled"] = "false",
        };
        var replica = GatewayReplica.Start(_idp, _redis.Configuration, settings);
        _replicas.Add(replica);
        return replica;
    }
}
