using System.Security.Cryptography;
using Bff.Observability;
using Bff.Tokens;
using StackExchange.Redis;

namespace Bff.Sessions.Redis;

/// <summary>
/// The refresh lock shared by every replica, so that one session's refresh token is spent by one replica at a time:
/// <c>SET {prefix}lock:refresh:{id} {random} NX PX {ttl}</c> to take it, and a compare-and-delete script to release it
/// (a holder that outlived its lease must not release the next holder's lock).
/// <para>
/// Taking the lock evicts this replica's cached copy of the session, so the <see cref="RefreshCoordinator"/> reads
/// what Redis holds (another replica may have refreshed a moment ago). A waiting replica listens before each read and
/// wakes when the holder's write or release is announced over pub/sub (<see cref="SessionInvalidation"/>), and then
/// reads Redis too; a lost announcement costs one fallback re-check (<see cref="ReplicaRefreshWait.RecheckInterval"/>).
/// When Redis cannot be reached the lock reports "held elsewhere": the coordinator's next read of the store fails
/// and the request gets a 503, and nothing is sent to the provider without the lock. A holder whose new tokens could
/// not be saved, nor its session removed, keeps the lock (<see cref="IRefreshLease.Keep"/>): it expires by itself.
/// </para>
/// </summary>
internal sealed class RedisRefreshLock(
    RedisConnection connection,
    SessionCache cache,
    SessionInvalidation invalidation,
    ILogger<RedisRefreshLock> logger) : IRefreshLock
{
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    public async ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var owner = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        try
        {
            var database = await connection.GetDatabaseAsync();
            if (!await database.StringSetAsync(connection.Keys.RefreshLock(sessionId), owner, ttl, When.NotExists))
            {
                return null;
            }
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "take the refresh lock", ex.GetType().Name);
            cache.Evict(sessionId);
            return null;
        }

        cache.Evict(sessionId);
        return new Lease(this, sessionId, owner);
    }

    public RefreshAnnouncement Listen(string sessionId)
    {
        var listener = invalidation.Listen(sessionId);

        // The next read goes to Redis: a cached copy may predate an announcement that was lost.
        cache.Evict(sessionId);
        return new RefreshAnnouncement(listener.Task, () => invalidation.StopListening(sessionId, listener));
    }

    private async ValueTask ReleaseAsync(string sessionId, string owner, bool kept)
    {
        if (kept)
        {
            // The refresh spent the refresh token but its successor could not be saved, nor the session removed: keep
            // other replicas from spending the old one again until the removal has gone through (the lease expires).
            BffLog.RefreshLockKept(logger, sessionId[..16]);
            return;
        }

        try
        {
            var database = await connection.GetDatabaseAsync();
            await database.ScriptEvaluateAsync(ReleaseScript, [connection.Keys.RefreshLock(sessionId)], [owner]);
            await invalidation.PublishAsync(database, sessionId);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            // The lease expires by itself.
            BffLog.SessionStoreFailed(logger, "release the refresh lock", ex.GetType().Name);
        }
    }

    private sealed class Lease(RedisRefreshLock owner, string sessionId, string token) : IRefreshLease
    {
        private int _released;
        private volatile bool _kept;

        public void Keep() => _kept = true;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _released, 1) == 0 ? owner.ReleaseAsync(sessionId, token, _kept) : ValueTask.CompletedTask;
    }
}
