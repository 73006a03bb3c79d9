namespace Bff.Tokens;

/// <summary>
/// Mutual exclusion for spending one session's refresh token, across gateway replicas.
/// <para>
/// The seam for multi-replica deployments. Within one process <see cref="RefreshCoordinator"/> already lets only one
/// refresh per session run at a time, so the default <see cref="InProcessRefreshLock"/> grants every request. A store
/// shared by replicas (Redis) registers its own implementation, for example <c>SET key token NX PX ttl</c> with a
/// compare-and-delete release. The coordinator then works like this for each refresh flight:
/// </para>
/// <list type="number">
/// <item>it calls <see cref="TryAcquireAsync"/>; on success it re-reads the session from the store (another replica may
/// have refreshed meanwhile: its fresh tokens are used and the provider is not called), otherwise refreshes and
/// writes the new tokens before releasing the lock;</item>
/// <item>when the lock is held elsewhere (<c>null</c>), it re-reads the session from the store until
/// <see cref="TokenSet.Version"/> changes (that replica's result), bounded in time, and tries to acquire again if the
/// holder went away without writing.</item>
/// </list>
/// </summary>
internal interface IRefreshLock
{
    /// <summary>
    /// Takes the refresh lock of one session, or returns <c>null</c> when someone else holds it. Disposing the result
    /// releases it; <paramref name="ttl"/> bounds how long a crashed holder can block others.
    /// </summary>
    /// <param name="sessionId">The session's <see cref="Sessions.SessionKey.Hash"/>, never the cookie value.</param>
    ValueTask<IAsyncDisposable?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>The single-replica lock: <see cref="RefreshCoordinator"/> already serialises refreshes in this process.</summary>
internal sealed class InProcessRefreshLock : IRefreshLock
{
    private static readonly ValueTask<IAsyncDisposable?> Granted = new(new Lease());

    public ValueTask<IAsyncDisposable?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken) => Granted;

    private sealed class Lease : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
