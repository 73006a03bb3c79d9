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

    /// <summary>The refreshing-load drill through two replicas while <paramref name="disrupt"/> hits one session's slot.</summary>
    private Task SurvivesUnderRefreshingLoadAsync(Func<string, Task> disrupt)
    {
        var (a, b) = (Start(), Start());
        var keys = a.Services.GetRequiredService<RedisConnection>().Keys;
        return RefreshingLoadDrill.RunAsync(
            _idp, a, b, browsers => disrupt(keys.Session(SessionKey.Id(browsers[0].CookieValue("__Host-bff")!)).ToString()), RecoveryDeadline);
    }

    private GatewayReplica Start()
    {
        var replica = GatewayReplica.Start(_idp, _cluster.Configuration, ProxyTestHost.RouteSettings(_api.Address));
        _replicas.Add(replica);
        return replica;
    }
}
