using Bff.Observability;
using Bff.Provider;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// What a flight does while another replica holds the session's refresh lock: listen for that replica's announcement
/// (over Redis pub/sub), re-read the session, and wait for the announcement before reading again, until the session's
/// token version changes (that replica's result), for at most <see cref="RefreshCoordinator.LockTtl"/>. A lost
/// announcement costs one <see cref="RecheckInterval"/>, after which the caller tries the lock again (a holder that
/// died frees it when its lease runs out, and no one announces that).
/// </summary>
internal sealed class ReplicaRefreshWait(
    ISessionStore store,
    IRefreshLock refreshLock,
    RefreshWindow refreshWindow,
    TimeProvider timeProvider,
    ILogger<ReplicaRefreshWait> logger)
{
    /// <summary>How long a waiting flight trusts the announcement to come before it re-reads the session anyway.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Returns the other replica's result, or no result when the caller should try to take the lock again (with
    /// <c>Latest</c>, the session as last read): the holder released the lock without a new version, or said nothing
    /// for a <see cref="RecheckInterval"/>.
    /// </summary>
    public async Task<(RefreshResult? Settled, UserSession Latest)> AwaitAsync(
        UserSession seen, string sessionId, TokenTarget target, CancellationToken cancellationToken)
    {
        BffLog.RefreshWaiting(logger, seen.LogId);
        for (var heard = false; ; heard = true)
        {
            using var announcement = refreshLock.Listen(sessionId);
            var lookup = await store.FindAsync(seen.Key, cancellationToken);
            switch (lookup.Status)
            {
                case SessionLookupStatus.Unavailable:
                    return (RefreshResult.StoreUnavailable(target, RefreshErrors.ReadFailed), seen);
                case SessionLookupStatus.Found when lookup.Session!.Tokens.Version != seen.Tokens.Version:
                    var current = lookup.Session!;
                    BffLog.RefreshedElsewhere(logger, current.LogId);
                    var tokens = current.Tokens;
                    if (target.IsDefault && !refreshWindow.IsDue(tokens, timeProvider.GetUtcNow()))
                    {
                        return (RefreshResult.Ready(current, target, new(Outcomes.RefreshedElsewhere)), current);
                    }

                    // The other replica rotated the refresh token for another target: refresh ourselves, with the new one.
                    return (null, current);
                case SessionLookupStatus.Found:
                    break;
                default:
                    return (RefreshResult.SessionGone(target), seen);
            }

            if (heard)
            {
                // Word came (or none for a while) but the tokens did not change: the holder gave up, died, or the
                // word was about another change of the session. Try the lock; if it is still held, wait again.
                return (null, seen);
            }

            try
            {
                await announcement.Heard.WaitAsync(RecheckInterval, timeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
                BffLog.RefreshWaitRechecked(logger, seen.LogId, RecheckInterval.TotalSeconds);
            }
        }
    }
}
