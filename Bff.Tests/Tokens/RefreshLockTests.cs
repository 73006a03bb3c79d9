using Bff.Provider;
using System.Collections.Concurrent;
using Bff.Sessions;
using Bff.Tests.Proxy;
using Bff.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Tokens;

/// <summary>The seam a shared session store uses to coordinate refreshes across replicas.</summary>
public sealed class RefreshLockTests : IAsyncLifetime
{
    private readonly ScriptedRefreshLock _lock;

    public RefreshLockTests() => _lock = new ScriptedRefreshLock(() => _host.Store);
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(services: services => services.AddSingleton<IRefreshLock>(_lock));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_refresh_holds_the_sessions_lock_by_its_hash_and_releases_it()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var sessionId = SessionKey.Id(session.Key);
        Assert.Equal([sessionId], _lock.Acquired);
        Assert.Equal([sessionId], _lock.Released);
        Assert.Equal(RefreshCoordinator.LockTtl, _lock.LastTtl);
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task Tokens_another_replica_saved_before_the_lock_was_granted_are_used_without_calling_the_provider()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        var otherReplicas = OtherReplicaRefreshed(session);
        _lock.WhileAcquiring = () => _host.Store.ReplaceAsync(otherReplicas, CancellationToken.None).AsTask();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + otherReplicas.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task While_another_replica_holds_the_lock_a_token_that_has_not_expired_is_used_without_waiting()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(20));
        _lock.HeldElsewhere = true;

        // The other holder never answers (it died holding the lock): no announcement, no time passing.
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders").WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.False(_lock.WaitStarted.Task.IsCompleted, "the request waited for the other replica");
        Assert.Equal(0, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task While_another_replica_holds_the_lock_the_request_waits_for_its_result()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(30));
        var otherReplicas = OtherReplicaRefreshed(session);
        _lock.HeldElsewhere = true;

        var call = browser.GetWithCsrfAsync("/api/orders");
        await _lock.WaitStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(call.IsCompleted);
        await _host.Store.ReplaceAsync(otherReplicas, CancellationToken.None);
        _lock.ReleaseWaiters();

        var echo = await ProxyTestHost.EchoAsync(await call);
        Assert.Equal("Bearer " + otherReplicas.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
        Assert.Empty(_lock.Acquired);
    }

    [Fact]
    public async Task A_lost_announcement_from_the_other_replica_delays_the_request_by_a_recheck_not_for_ever()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(30));
        var otherReplicas = OtherReplicaRefreshed(session);
        _lock.HeldElsewhere = true;

        var call = browser.GetWithCsrfAsync("/api/orders");
        await _lock.WaitStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await _host.Store.ReplaceAsync(otherReplicas, CancellationToken.None);

        // No announcement ever comes; only time passes, a re-check at a time.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!call.IsCompleted && DateTime.UtcNow < deadline)
        {
            _host.Time.Advance(ReplicaRefreshWait.RecheckInterval);
            await Task.WhenAny(call, Task.Delay(25));
        }

        var echo = await ProxyTestHost.EchoAsync(await call);
        Assert.Equal("Bearer " + otherReplicas.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task When_the_other_holder_goes_away_without_refreshing_the_request_refreshes_itself()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(30));
        _lock.HeldElsewhere = true;

        var call = browser.GetWithCsrfAsync("/api/orders");
        await _lock.WaitStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _lock.HeldElsewhere = false;
        _host.Time.Advance(RefreshCoordinator.LockTtl);
        _lock.ReleaseWaiters();

        var echo = await ProxyTestHost.EchoAsync(await call);
        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("Bearer " + stored.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(1, stored.Tokens.Version);
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    private UserSession OtherReplicaRefreshed(UserSession session) => session with
    {
        Tokens = new TokenSet
        {
            AccessToken = _host.Idp.NewAccessToken(session.Subject),
            AccessTokenExpiresAt = _host.Time.GetUtcNow().AddMinutes(5),
            RefreshToken = _host.Idp.NewRefreshToken(session.Subject),
            Version = session.Tokens.Version + 1,
        },
    };

    /// <summary>A lock whose other holders the test plays.</summary>
    private sealed class ScriptedRefreshLock(Func<ISessionStore> store) : IRefreshLock
    {
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<string> Acquired { get; } = new();

        public ConcurrentQueue<string> Released { get; } = new();

        public TimeSpan LastTtl { get; private set; }

        public volatile bool HeldElsewhere;

        public Func<Task>? WhileAcquiring { get; set; }

        public TaskCompletionSource WaitStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseWaiters() => _release.TrySetResult();

        public async ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken)
        {
            LastTtl = ttl;
            if (HeldElsewhere)
            {
                return null;
            }

            if (WhileAcquiring is { } action)
            {
                await action();
            }

            Acquired.Enqueue(sessionId);
            return new Lease(this, sessionId, store());
        }

        public RefreshAnnouncement Listen(string sessionId)
        {
            WaitStarted.TrySetResult();
            return new RefreshAnnouncement(_release.Task);
        }

        private sealed class Lease(ScriptedRefreshLock owner, string sessionId, ISessionStore store) : IRefreshLease
        {
            public bool IsHeld => true;

            public ValueTask<LeasedSave> SaveAsync(UserSession session) => InProcessRefreshLock.SaveAsync(store, session);

            public void Keep()
            {
            }

            public ValueTask DisposeAsync()
            {
                owner.Released.Enqueue(sessionId);
                return ValueTask.CompletedTask;
            }
        }
    }
}
