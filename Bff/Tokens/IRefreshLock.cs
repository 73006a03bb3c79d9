namespace Bff.Tokens;

/// <summary>
/// Mutual exclusion for spending one session's refresh token, across gateway replicas.
/// <para>
/// The seam for multi-replica deployments. Within one process <see cref="RefreshCoordinator"/> already lets only one
/// refresh per session run at a time, so the default <see cref="InProcessRefreshLock"/> grants every request. A store
/// shared by replicas (Redis) registers its own implementation, for example <c>SET key token NX PX ttl</c> with a
/// compare-and-delete release, and an announcement over pub/sub when the holder saved or released. For each refresh
/// flight the coordinator then:
/// </para>
/// <list type="number">
/// <item>calls <see cref="TryAcquireAsync"/>; once it holds the lock it re-reads the session from the store (another
/// replica may have refreshed meanwhile: those tokens are used and the provider is not called), otherwise refreshes
/// and writes the new tokens before releasing the lock;</item>
/// <item>when the lock is held elsewhere (<c>null</c>), <see cref="Listen"/>s, re-reads the session and waits for the
/// announcement (or a fallback re-check) until its <see cref="TokenSet.Version"/> changes (that replica's result), for
/// at most <see cref="RefreshCoordinator.LockTtl"/>; if the holder released the lock without writing, or went away,
/// it tries to acquire again.</item>
/// </list>
/// Session ids given to the lock are <see cref="Sessions.SessionKey.Hash"/> values, never the cookie value.
/// </summary>
internal interface IRefreshLock
{
    /// <summary>
    /// Takes the refresh lock of one session, or returns <c>null</c> when someone else holds it. Disposing the result
    /// releases it; <paramref name="ttl"/> bounds how long a crashed holder can block others.
    /// </summary>
    ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Starts listening for the holder elsewhere to announce that it saved the session or released the lock. Called
    /// before each re-read of the session; an announcement may be lost (a dropped connection), so the waiter re-reads
    /// on a timer too.
    /// </summary>
    RefreshAnnouncement Listen(string sessionId);
}

/// <summary>A held refresh lock. Disposing it releases the lock unless <see cref="Keep"/> was called.</summary>
internal interface IRefreshLease : IAsyncDisposable
{
    /// <summary>
    /// Leaves the lock to expire by itself instead of releasing it: the refresh spent the session's refresh token but
    /// could neither save its successor nor remove the session, so no one may spend the old one again meanwhile.
    /// </summary>
    void Keep();
}

/// <summary>The single-replica lock: <see cref="RefreshCoordinator"/> already serialises refreshes in this process.</summary>
internal sealed class InProcessRefreshLock : IRefreshLock
{
    private static readonly ValueTask<IRefreshLease?> Granted = new(new Lease());

    public ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken) => Granted;

    public RefreshAnnouncement Listen(string sessionId) => RefreshAnnouncement.Never;

    private sealed class Lease : IRefreshLease
    {
        public void Keep()
        {
            // Nothing to keep: one process, and its flights are already one at a time per session.
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
