using System.Collections.Concurrent;
using Bff.Observability;
using Bff.Sessions;

namespace Bff.Tokens;

/// <summary>
/// Refreshed tokens the session store could not save. The provider has already spent the old refresh token, so these
/// are the session's only valid tokens: they stay in memory, under the refresh lock (renewed by its lease), and the
/// save is retried with backoff until the store answers. Meanwhile this replica answers the session's refreshes with
/// 503 and other replicas wait for the lock. Only when the lease is lost (the fenced save finds another holder, or
/// newer tokens) or the store stays away for <see cref="LongestKeep"/> are they dropped, logged and counted; the spent
/// refresh token is then never presented by this replica.
/// </summary>
internal sealed class UnsavedRefreshes(SpentRefreshTokens spent, TimeProvider timeProvider, BffMetrics metrics, ILogger<UnsavedRefreshes> logger)
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(1);

    /// <summary>Longer than any Redis restart or failover worth waiting for; a session is not held in memory for ever.</summary>
    public static readonly TimeSpan LongestKeep = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);

    public bool IsPending(string sessionKey) => !_pending.IsEmpty && _pending.ContainsKey(sessionKey);

    /// <summary>Takes over <paramref name="lease"/>: it is released once the tokens are saved or dropped.</summary>
    public void Keep(UserSession refreshed, IRefreshLease lease)
    {
        BffLog.RefreshSaveDeferred(logger, refreshed.LogId);
        _pending[refreshed.Key] = 0;
        _ = SaveAsync(refreshed, lease);
    }

    /// <summary>The tokens can never be saved: remember that the stored refresh token is spent.</summary>
    public void Drop(UserSession refreshed, string reason)
    {
        spent.Remember(refreshed.Key, refreshed.Tokens.Version - 1);
        BffLog.RefreshedTokensDropped(logger, refreshed.LogId, reason);
        metrics.RefreshUnsaved();
    }

    private async Task SaveAsync(UserSession refreshed, IRefreshLease lease)
    {
        var delay = FirstRetry;
        var started = timeProvider.GetTimestamp();
        try
        {
            for (var attempt = 2; ; attempt++)
            {
                await Task.Delay(delay, timeProvider);
                delay = delay * 2 < LongestRetry ? delay * 2 : LongestRetry;
                if (timeProvider.GetElapsedTime(started) > LongestKeep)
                {
                    Drop(refreshed, "the session store stayed unreachable");
                    return;
                }

                switch (await lease.SaveAsync(refreshed))
                {
                    case LeasedSave.Saved:
                        BffLog.RefreshSaveCompleted(logger, refreshed.LogId, attempt);
                        return;
                    case LeasedSave.NotFound:
                        BffLog.SessionEnded(logger, refreshed.LogId, "removed while its refreshed tokens waited to be saved");
                        return;
                    case LeasedSave.LeaseLost:
                        Drop(refreshed, "another holder took the refresh lock or saved newer tokens");
                        return;
                }
            }
        }
        catch (Exception ex)
        {
            // A bug, not the store being down (that is an outcome): never let the tokens vanish silently.
            Drop(refreshed, ex.GetType().Name);
        }
        finally
        {
            // Forget before releasing: the next flight of this replica reads what was saved.
            _pending.TryRemove(refreshed.Key, out _);
            await lease.DisposeAsync();
        }
    }
}
