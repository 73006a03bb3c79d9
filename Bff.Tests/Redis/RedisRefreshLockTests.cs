using Bff.Redis;
using System.Diagnostics;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Redis;

/// <summary>
/// The Redis refresh lock's lease: renewed by a live holder, and fencing its holder's save, so that a holder that comes
/// back after its lease ran out cannot overwrite what the next holder saved.
/// </summary>
public sealed class RedisRefreshLockTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task A_holder_that_comes_back_after_its_lease_ran_out_cannot_overwrite_the_next_holders_save()
    {
        var (a, b) = (_set.Start(), _set.Start());
        var (session, lockKey) = await SignInAsync(a);
        var id = SessionKey.Id(session.Key);
        var late = (await a.Services.GetRequiredService<IRefreshLock>().TryAcquireAsync(id, RefreshCoordinator.LockTtl, CancellationToken.None))!;
        Assert.NotNull(late);

        // The holder froze past its lease: the lock runs out, another replica takes it, refreshes and saves.
        await _set.Redis.CommandAsync($"DEL {lockKey}");
        var next = await b.Services.GetRequiredService<IRefreshLock>().TryAcquireAsync(id, RefreshCoordinator.LockTtl, CancellationToken.None);
        Assert.NotNull(next);
        var nextTokens = session.Tokens with { AccessToken = "at.alice.next", RefreshToken = "rt.alice.next", Version = session.Tokens.Version + 1 };
        Assert.Equal(LeasedSave.Saved, await next.SaveAsync(session with { Tokens = nextTokens }));

        var lateTokens = session.Tokens with { AccessToken = "at.alice.late", RefreshToken = "rt.alice.late", Version = session.Tokens.Version + 1 };
        Assert.Equal(LeasedSave.LeaseLost, await late.SaveAsync(session with { Tokens = lateTokens }));
        await next.DisposeAsync();
        Assert.Equal(LeasedSave.LeaseLost, await late.SaveAsync(session with { Tokens = lateTokens }));
        await late.DisposeAsync();

        var stored = (await a.Services.GetRequiredService<ISessionStore>().FindAsync(session.Key, CancellationToken.None)).Session!;
        Assert.Equal("at.alice.next", stored.Tokens.AccessToken);
        Assert.Equal("rt.alice.next", stored.Tokens.RefreshToken);
    }

    [Fact]
    public async Task A_live_holder_keeps_its_lock_beyond_one_lease_by_renewing_it()
    {
        var a = _set.Start();
        var (session, lockKey) = await SignInAsync(a);
        var id = SessionKey.Id(session.Key);
        var clock = Stopwatch.StartNew();
        var lease = (await a.Services.GetRequiredService<IRefreshLock>().TryAcquireAsync(id, RefreshCoordinator.LockTtl, CancellationToken.None))!;

        // Outside the test's control: real time passing beyond one lease while the holder works.
        Assert.True(await ReplicaSet.EventuallyAsync(() => Task.FromResult(clock.Elapsed > RefreshCoordinator.LockTtl * 1.5), Deadline));
        Assert.Equal(":1", await _set.Redis.CommandAsync($"EXISTS {lockKey}"));
        Assert.True(lease.IsHeld);
        await lease.DisposeAsync();
        Assert.Equal(":0", await _set.Redis.CommandAsync($"EXISTS {lockKey}"));
    }

    private async Task<(UserSession Session, string LockKey)> SignInAsync(GatewayReplica replica)
    {
        using var browser = replica.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        var key = browser.CookieValue("__Host-bff")!;
        var session = (await replica.Services.GetRequiredService<ISessionStore>().FindAsync(key, CancellationToken.None)).Session!;
        var lockKey = replica.Services.GetRequiredService<RedisConnection>().Keys.RefreshLock(SessionKey.Id(key));
        return (session, lockKey!);
    }
}
