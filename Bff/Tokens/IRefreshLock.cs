using Bff.Provider;
using Bff.Sessions;

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
/// announcement (or a fallback re-check) until its <see cref="TokenSet.Version"/> changes (that replica's result); if
/// the holder released the lock without writing, or went quiet, it tries to acquire again. A call whose access token
/// has not expired does not wait at all: it uses that token.</item>
/// </list>
/// Session ids given to the lock are <see cref="Sessions.SessionKey.Id"/> values, never the cookie value.
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

/// <summary>
/// A held refresh lock: a short lease its holder renews while it calls the provider and saves, so that a holder that
/// died frees the session within one lease. Disposing it releases the lock unless <see cref="Keep"/> was called.
/// </summary>
internal interface IRefreshLease : IAsyncDisposable
{
    /// <summary>
    /// False once the lease ran out without being renewed (the holder was frozen, or the store was unreachable for a
    /// whole lease) or another holder took the lock: from then on nothing may be spent or saved under it.
    /// </summary>
    bool IsHeld { get; }

    /// <summary>
    /// Saves refreshed tokens, fenced: only while this lease holds the lock (or no one does) and the store still holds
    /// the token version they replace (<see cref="TokenSet.Version"/> - 1), so a holder that comes back late cannot
    /// overwrite a newer save. Not cancellable: the provider has already spent the old refresh token.
    /// </summary>
    ValueTask<LeasedSave> SaveAsync(UserSession session);

    /// <summary>
    /// Leaves the lock to expire by itself instead of releasing it: the refresh spent the session's refresh token but
    /// could neither save its successor nor remove the session, so no one may spend the old one again meanwhile.
    /// </summary>
    void Keep();
}

internal enum LeasedSave
{
    Saved,

    /// <summary>The session was removed meanwhile (logout, back-channel logout).</summary>
    NotFound,

    /// <summary>The store did not answer; the tokens may be saved later under the same lease.</summary>
    Unavailable,

    /// <summary>Another holder took the lock or saved newer tokens: these tokens must never be saved.</summary>
    LeaseLost,
}

/// <summary>The single-replica lock: <see cref="RefreshCoordinator"/> already serialises refreshes in this process.</summary>
internal sealed class InProcessRefreshLock(ISessionStore store) : IRefreshLock
{
    public ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken) =>
        new(new Lease(store));

    public RefreshAnnouncement Listen(string sessionId) => RefreshAnnouncement.Never;

    /// <summary>A save straight to the store, as a lease of one process makes it (test doubles of the lock use it too).</summary>
    public static async ValueTask<LeasedSave> SaveAsync(ISessionStore store, UserSession session) =>
        await store.ReplaceAsync(session, CancellationToken.None) switch
        {
            StoreOutcome.Ok => LeasedSave.Saved,
            StoreOutcome.NotFound => LeasedSave.NotFound,
            _ => LeasedSave.Unavailable,
        };

    private sealed class Lease(ISessionStore store) : IRefreshLease
    {
        public bool IsHeld => true;

        public ValueTask<LeasedSave> SaveAsync(UserSession session) => InProcessRefreshLock.SaveAsync(store, session);

        public void Keep()
        {
            // Nothing to keep: one process, and its flights are already one at a time per session.
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
