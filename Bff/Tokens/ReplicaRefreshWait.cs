using Bff.Observability;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// What a flight does while another replica holds the session's refresh lock: re-read the session until its token
/// version changes (that replica's result), for at most <see cref="RefreshCoordinator.LockTtl"/>. Every wait counts
/// in the lock-wait metric.
/// </summary>
internal sealed class ReplicaRefreshWait(
    ISessionStore store,
    IRefreshLock refreshLock,
    RefreshWindow refreshWindow,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<ReplicaRefreshWait> logger)
{
    /// <summary>How often a flight waiting for another replica's refresh re-reads the session.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private static readonly int MaxWaits = (int)(RefreshCoordinator.LockTtl / PollInterval);

    /// <summary>
    /// Returns the other replica's result, or no result when the caller should try to take the lock again (with
    /// <c>Latest</c>, the session as last read).
    /// </summary>
    public async Task<(RefreshResult? Settled, UserSession Latest)> AwaitAsync(
        UserSession seen, string sessionId, TokenTarget target, CancellationToken cancellationToken)
    {
        var waitStarted = timeProvider.GetTimestamp();
        try
        {
            var deadline = timeProvider.GetUtcNow() + RefreshCoordinator.LockTtl;
            for (var wait = 0; wait < MaxWaits && timeProvider.GetUtcNow() < deadline; wait++)
            {
                await refreshLock.WaitAsync(sessionId, PollInterval, cancellationToken);
                var lookup = await store.FindAsync(seen.Key, cancellationToken);
                switch (lookup.Status)
                {
                    case SessionLookupStatus.Unavailable:
                        return (RefreshResult.StoreUnavailable(target, RefreshErrors.ReadFailed), seen);
                    case SessionLookupStatus.Found:
                        var current = lookup.Session!;
                        if (current.Tokens.Version == seen.Tokens.Version)
                        {
                            continue;
                        }

                        BffLog.RefreshedElsewhere(logger, current.LogId);
                        var tokens = current.Tokens;
                        if (target.IsDefault && !refreshWindow.IsDue(tokens, timeProvider.GetUtcNow()))
                        {
                            return (RefreshResult.Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.RefreshedElsewhere)), current);
                        }

                        // The other replica rotated the refresh token for another target: refresh ourselves, with the new one.
                        return (null, current);
                    default:
                        return (RefreshResult.SessionGone(target), seen);
                }
            }

            BffLog.RefreshLockWaitExpired(logger, seen.LogId);
            return (null, seen);
        }
        finally
        {
            metrics.RefreshLockWaited(timeProvider.GetElapsedTime(waitStarted));
        }
    }
}
