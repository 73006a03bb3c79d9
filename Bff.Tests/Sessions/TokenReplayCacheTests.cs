using Bff.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Sessions;

/// <summary>The in-memory replay cache refuses a second use within the lifetime and forgets expired ids in sweeps.</summary>
public sealed class TokenReplayCacheTests
{
    [Fact]
    public async Task An_id_is_refused_within_its_lifetime_and_usable_again_after_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new InMemoryTokenReplayCache(time);

        Assert.Equal(ReplayCheck.FirstUse, await cache.TryUseAsync("a", TimeSpan.FromMinutes(1), default));
        Assert.Equal(ReplayCheck.Replayed, await cache.TryUseAsync("a", TimeSpan.FromMinutes(1), default));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ReplayCheck.FirstUse, await cache.TryUseAsync("a", TimeSpan.FromMinutes(1), default));
    }

    [Fact]
    public async Task Expired_ids_are_swept_at_most_every_thirty_seconds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new InMemoryTokenReplayCache(time);
        for (var i = 0; i < 1_500; i++)
        {
            await cache.TryUseAsync("short-" + i, TimeSpan.FromSeconds(10), default);
        }

        // Past the threshold: the first add sweeps (nothing has expired yet), the next ones within 30 s do not.
        time.Advance(TimeSpan.FromSeconds(20));
        await cache.TryUseAsync("long-0", TimeSpan.FromHours(1), default);
        await cache.TryUseAsync("long-1", TimeSpan.FromHours(1), default);
        Assert.Equal(1_502, cache.Count);

        time.Advance(TimeSpan.FromSeconds(30));
        await cache.TryUseAsync("long-2", TimeSpan.FromHours(1), default);

        Assert.Equal(3, cache.Count);
        Assert.Equal(ReplayCheck.Replayed, await cache.TryUseAsync("long-0", TimeSpan.FromHours(1), default));
    }
}
