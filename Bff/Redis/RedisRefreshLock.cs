using Bff.Sessions;
using System.Security.Cryptography;
using Bff.Observability;
using Bff.Tokens;
using StackExchange.Redis;

namespace Bff.Redis;

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
/// and the request gets a 503, and nothing is sent to the provider without the lock. A holder that ended a session
/// (its refresh token rejected or spent) but could not remove it keeps the lock (<see cref="IRefreshLease.Keep"/>):
/// it expires by itself. A holder whose new tokens could not be saved holds on to the lock, renewing it, until
/// <see cref="UnsavedRefreshes"/> has saved them.
/// </para>
/// <para>
/// The lease is short (<see cref="RefreshCoordinator.LockTtl"/>) and its holder renews it every third of it, so a
/// replica that died or froze holding it frees the session within one lease. The holder's save is fenced by a script
/// that checks the lock's value and the stored token version (<see cref="RedisSessionStore.ReplaceRefreshedAsync"/>).
/// </para>
/// </summary>
internal sealed class RedisRefreshLock(
    RedisConnection connection,
    RedisSessionStore store,
    SessionCache cache,
    SessionInvalidation invalidation,
    TimeProvider timeProvider,
    ILogger<RedisRefreshLock> logger) : IRefreshLock
{
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // Extends the holder's lease, or takes the lock again when it expired unheld (Redis restarted, or was unreachable
    // for a while): 1 held, 0 another holder has it.
    private const string RenewScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
        return 0
        """;

    public async ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var owner = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var asked = timeProvider.GetUtcNow();
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
        return new Lease(this, sessionId, owner, ttl, asked + ttl);
    }

    public RefreshAnnouncement Listen(string sessionId)
    {
        var listener = invalidation.Listen(sessionId);

        // The next read goes to Redis: a cached copy may predate an announcement that was lost.
        cache.Evict(sessionId);
        return new RefreshAnnouncement(listener.Task, () => invalidation.StopListening(sessionId, listener));
    }

    private DateTimeOffset Now => timeProvider.GetUtcNow();

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, timeProvider, cancellationToken);

    private ValueTask<LeasedSave> SaveRefreshedAsync(UserSession session, string owner) => store.ReplaceRefreshedAsync(session, owner);

    /// <summary>True: still (or again) the holder. False: another holder has the lock. Null: Redis did not answer.</summary>
    private async Task<bool?> RenewAsync(string sessionId, string owner, TimeSpan ttl)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            var renewed = (long)await database.ScriptEvaluateAsync(RenewScript,
                [connection.Keys.RefreshLock(sessionId)], [owner, (long)ttl.TotalMilliseconds]);
            return renewed == 1;
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "renew the refresh lock", ex.GetType().Name);
            return null;
        }
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

    private sealed class Lease : IRefreshLease
    {
        private readonly RedisRefreshLock _owner;
        private readonly string _sessionId;
        private readonly string _token;
        private readonly TimeSpan _ttl;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private long _validUntilTicks;
        private volatile bool _lost;
        private volatile bool _kept;
        private int _released;

        public Lease(RedisRefreshLock owner, string sessionId, string token, TimeSpan ttl, DateTimeOffset validUntil)
        {
            (_owner, _sessionId, _token, _ttl) = (owner, sessionId, token, ttl);
            _validUntilTicks = validUntil.UtcTicks;
            _renewal = RenewAsync();
        }

        public bool IsHeld => !_lost && _owner.Now.UtcTicks < Interlocked.Read(ref _validUntilTicks);

        // Not refused locally once the lease ran out: the script decides, so tokens kept through a Redis restart that
        // outlasted the lease are still saved if no one else took the lock meanwhile.
        public ValueTask<LeasedSave> SaveAsync(UserSession session) => _owner.SaveRefreshedAsync(session, _token);

        public void Keep() => _kept = true;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            _stop.Cancel();
            await _renewal;
            _stop.Dispose();
            if (!_lost)
            {
                await _owner.ReleaseAsync(_sessionId, _token, _kept);
            }
        }

        /// <summary>Every third of the lease, for as long as the holder works; ends when the lease is lost or released.</summary>
        private async Task RenewAsync()
        {
            while (true)
            {
                try
                {
                    await _owner.DelayAsync(_ttl / 3, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var asked = _owner.Now;
                switch (await _owner.RenewAsync(_sessionId, _token, _ttl))
                {
                    case true:
                        Interlocked.Exchange(ref _validUntilTicks, (asked + _ttl).UtcTicks);
                        break;
                    case false:
                        _lost = true;
                        return;
                    default:
                        // Redis did not answer: tried again at the next third; the lease ends if Redis stays away that long.
                        break;
                }
            }
        }
    }
}
