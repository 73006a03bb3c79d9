using System.Collections.Concurrent;
using System.Net;
using Bff.Redis;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Redis;

/// <summary>
/// A Redis Cluster primary crashes, or a slot moves to another primary, while users call APIs whose short-lived tokens
/// keep being refreshed: the replica takes over (or the new owner answers), the gateway follows by itself, calls in between get 503 with Retry-After (never a 401), no
/// session is lost, and no refresh token is presented to the provider twice.
/// </summary>
public sealed class RedisClusterFailoverTests : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(30);

    private readonly RedisClusterFixture _cluster = new();
    private readonly TestIdentityProvider _idp = new();
    private readonly List<GatewayReplica> _replicas = [];
    private UpstreamApi _api = null!;

    public async Task InitializeAsync()
    {
        await _cluster.InitializeAsync();
        _api = await UpstreamApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }

        await _api.DisposeAsync();
        await _cluster.DisposeAsync();
        _idp.Dispose();
    }

    [Fact]
    public Task A_primary_killed_under_refreshing_load_loses_no_session_and_spends_no_refresh_token_twice() =>
        SurvivesUnderRefreshingLoadAsync(async victim =>
        {
            await _cluster.ReplicasCaughtUpAsync();
            await _cluster.KillPrimaryOfAsync(victim);
        });

    [Fact]
    public Task A_slot_moved_to_another_primary_under_refreshing_load_loses_no_session_and_spends_no_refresh_token_twice() =>
        SurvivesUnderRefreshingLoadAsync(async victim => await _cluster.MigrateSlotOfAsync(victim));

    /// <summary>Six users call APIs through two replicas, refreshing all the time, while <paramref name="disrupt"/> hits one session's slot.</summary>
    private async Task SurvivesUnderRefreshingLoadAsync(Func<string, Task> disrupt)
    {
        var (a, b) = (Start(), Start());
        var spent = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        _idp.RefreshBehavior = request =>
        {
            spent.AddOrUpdate(TestIdentityProvider.Form(request).GetValueOrDefault("refresh_token") ?? string.Empty, 1, (_, n) => n + 1);
            return null;
        };

        // Every access token lasts two seconds: the load below refreshes each session about once a second.
        _idp.AccessTokenLifetime = TimeSpan.FromSeconds(2);
        var browsers = new List<BrowserClient>();
        for (var i = 0; i < 6; i++)
        {
            var browser = (i % 2 == 0 ? a : b).CreateBrowser();
            browsers.Add(browser);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_idp, subject: "failover-" + i)).StatusCode);
        }

        var keys = a.Services.GetRequiredService<RedisConnection>().Keys;
        var victim = keys.Session(SessionKey.Id(browsers[0].CookieValue("__Host-bff")!)).ToString();

        var answers = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        using var stop = new CancellationTokenSource();
        var load = browsers.Select((browser, i) => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var response = await browser.GetWithCsrfAsync(((n + i) % 2 == 0 ? a : b).Url("/api/orders"));
                answers.Add((response.StatusCode, response.Headers.RetryAfter is not null));
            }
        })).ToList();

        await RedisProcess.UntilAsync(() => Task.FromResult(_idp.RefreshRequests >= 6), "refreshes before the failover");
        await disrupt(victim);
        var refreshesAtFailover = _idp.RefreshRequests;

        foreach (var browser in browsers)
        {
            foreach (var replica in new[] { a, b })
            {
                Assert.True(await ReplicaSet.EventuallyAsync(
                    async () => (await browser.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.OK,
                    RecoveryDeadline), $"a session did not come back on {replica.BaseAddress}");
            }
        }

        // Refreshes go on after the failover, against the promoted primary.
        await RedisProcess.UntilAsync(() => Task.FromResult(_idp.RefreshRequests >= refreshesAtFailover + 6), "refreshes after the failover");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.DoesNotContain(spent, s => s.Value > 1);
        Assert.DoesNotContain(answers, r => r.Status != HttpStatusCode.OK && r.Status != HttpStatusCode.ServiceUnavailable);
        Assert.All(answers.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), r => Assert.True(r.RetryAfter));
        foreach (var browser in browsers)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/api/orders"))).StatusCode);
            browser.Dispose();
        }
    }

    private GatewayReplica Start()
    {
        var replica = GatewayReplica.Start(_idp, _cluster.Configuration, ProxyTestHost.RouteSettings(_api.Address));
        _replicas.Add(replica);
        return replica;
    }
}
