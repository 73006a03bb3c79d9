using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// A stub provider, a real Redis and as many gateway replicas as a test starts, all torn down together. Tests own one
/// each (xunit builds a test class per test), so stopping Redis in one test disturbs no other.
/// </summary>
public sealed class ReplicaSet : IAsyncLifetime
{
    private readonly List<GatewayReplica> _replicas = [];

    public TestIdentityProvider Idp { get; } = new();

    public RedisFixture Redis { get; } = new();

    public Task InitializeAsync() => Redis.InitializeAsync();

    public GatewayReplica Start(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var replica = GatewayReplica.Start(Idp, Redis, settings, services);
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds or <paramref name="within"/> has passed. For waiting on
    /// something outside the test's control (Redis coming back, a message crossing replicas), never as a pause.
    /// </summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(25);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            replica.Dispose();
        }

        await Redis.DisposeAsync();
        Idp.Dispose();
    }
}
