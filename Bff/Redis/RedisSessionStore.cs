using Bff.Provider;
using Bff.Sessions;
using Bff.Tokens;
using System.Collections.Concurrent;
using System.Globalization;
using Bff.Observability;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>
/// Sessions in Redis, shared by every replica.
/// <list type="bullet">
/// <item><c>{prefix}session:v2:{id}</c> (names: <see cref="RedisKeys"/>): a string, the token version in decimal, <c>:</c>, and the Data-Protected
/// payload (<see cref="SessionPayloadProtector"/>), expiring with the session (the earlier of its idle and absolute
/// limits). <c>id</c> is <see cref="SessionKey.Id"/> of the cookie value. A string rather than a hash of version and
/// payload: Redis stores a hash with a value this long as a hash table, a few hundred bytes more per session.</item>
/// <item><c>{prefix}sub:{hash}</c> and <c>{prefix}sid:{hash}</c>: sets of session ids for back-channel logout, expiring
/// no earlier than the longest-lived session they list. A member whose session is gone is harmless.</item>
/// <item><c>{prefix}subject-sessions:{hash}</c>: a sorted set of one subject's session ids scored by creation time
/// (<see cref="RedisKeys.SubjectSessions"/>), expiring with the subject's newest session. Every sign-in prunes the
/// members whose session is gone and ends the oldest beyond <c>Bff:Session:MaxPerSubject</c>, so it stays that small.</item>
/// </list>
/// Writes that must not interleave are Lua scripts. Every key a script touches is in the slot of the subject's hash
/// tag (<see cref="RedisKeys"/>), so the store works on Redis Cluster as on a standalone primary or behind Sentinel;
/// the provider-session index, in a slot of its own, is written before the session and read with single-key commands.
/// </summary>
internal sealed class RedisSessionStore(
    RedisConnection connection,
    SessionPayloadProtector payloads,
    SessionCache cache,
    SessionInvalidation invalidation,
    TimeProvider timeProvider,
    ILogger<RedisSessionStore> logger) : ISessionStore
{
    /// <summary>The most digits a token version (a non-negative <see cref="long"/>) takes, and the colon after it.</summary>
    private const int VersionPrefixMaxLength = 20;

    // KEYS: session, subject's sessions (sorted), subject index: one slot (the subject's tag).
    // ARGV: value, session ttl ms, index ttl ms, id, created at (Unix ms).
    private const string CreateScript = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        local ttl = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
        for i = 3, #KEYS do
          redis.call('SADD', KEYS[i], ARGV[4])
        end
        for i = 2, #KEYS do
          if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
        end
        return 1
        """;

    // KEYS: subject's sessions (sorted). ARGV: session key prefix (RedisKeys.SessionKeyPrefix), how many to keep, the
    // new session's id.
    // Drops members whose session is gone (expired, logged out), then deletes the sessions of the lowest scores (the
    // oldest) beyond the limit and returns their ids, each followed by its stored value (so that the caller can revoke
    // its refresh token) or false when it expired meanwhile; never the new session, which may share its millisecond with an
    // older one. One script, so two sign-ins of one user at once cannot both keep the same session or both end the
    // same one. The session keys it deletes are named after the members, which carry the subject's tag: they are in
    // the sorted set's slot, so the script may touch them on Redis Cluster too.
    private const string EndOldestScript = """
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          if id ~= ARGV[3] and redis.call('EXISTS', ARGV[1] .. id) == 0 then redis.call('ZREM', KEYS[1], id) end
        end
        local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
        local ended = {}
        if excess <= 0 then return ended end
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          if #ended >= excess then break end
          if id ~= ARGV[3] then
            ended[#ended + 1] = id
            ended[#ended + 1] = redis.call('GET', ARGV[1] .. id)
            redis.call('DEL', ARGV[1] .. id)
            redis.call('ZREM', KEYS[1], id)
          end
        end
        return ended
        """;

    // KEYS: a provider session's index. ARGV: session id, ttl ms. Adds the id; the index lives as long as its longest session.
    private const string AddToIndexScript = """
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 1
        """;

    // KEYS: session. ARGV: value, token version, ttl ms.
    // 0: the session is gone (never revived). -1: the store already holds newer tokens (a refresh elsewhere won; a
    // concurrent sliding-expiry write carrying the older tokens must not undo it, or the spent refresh token would
    // come back: the caller retries with the stored tokens). 1: replaced.
    private const string ReplaceScript = """
        local current = string.match(redis.call('GETRANGE', KEYS[1], 0, 19), '^(%d+):')
        if not current then return 0 end
        if tonumber(current) > tonumber(ARGV[2]) then return -1 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        return 1
        """;

    // KEYS: session, refresh lock (one slot: the lock is named after the session id). ARGV: value, token version, ttl ms, lock owner.
    // The fenced save of a refresh: -2: another holder has the lock. 0: the session is gone. -1: the stored tokens are
    // not the ones this refresh replaced (a holder that came back late must not overwrite a newer save). 1: saved.
    private const string ReplaceRefreshedScript = """
        local holder = redis.call('GET', KEYS[2])
        if holder and holder ~= ARGV[4] then return -2 end
        local current = string.match(redis.call('GETRANGE', KEYS[1], 0, 19), '^(%d+):')
        if not current then return 0 end
        if tonumber(current) ~= tonumber(ARGV[2]) - 1 then return -1 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        return 1
        """;

    /// <summary>How often removals that failed are tried again while Redis is unreachable.</summary>
    private static readonly TimeSpan RemovalRetryInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Sessions this replica was asked to remove while Redis could not be reached (logout, or a refresh that found its
    /// refresh token rejected or spent, leaving that token in the store). They are gone for this replica at once
    /// and are deleted from Redis as soon as it answers again, before another replica can spend that refresh token
    /// (the refresh holder leaves the refresh lock to expire meanwhile, see <see cref="Tokens.IRefreshLease.Keep"/>).
    /// </summary>
    private readonly ConcurrentDictionary<string, byte> _pendingRemovals = new(StringComparer.Ordinal);
    private int _retrying;

    private RedisKeys Keys => connection.Keys;

    public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken)
    {
        // Sessions removed while Redis was unreachable are gone for this replica, cached or not.
        string? id = null;
        if (!_pendingRemovals.IsEmpty && _pendingRemovals.ContainsKey(id = SessionKey.Id(key)))
        {
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        // The hot path: a cached session, found by its cookie value without hashing it.
        if (cache.TryGet(key, out var cached))
        {
            return ValueTask.FromResult(SessionLookup.Found(cached!));
        }

        return ReadAsync(key, id ?? SessionKey.Id(key));
    }

    public async ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken)
    {
        var id = SessionKey.Id(session.Key);
        var now = timeProvider.GetUtcNow();
        var indexTtl = TimeToLive(session.AbsoluteExpiresAt, now);
        RedisKey[] keys = [Keys.Session(id), Keys.SubjectSessions(session.Subject), Keys.SubjectIndex(session.Subject)];
        RedisValue[] values =
        [
            StoredValue(id, session),
            TimeToLive(session.ExpiresAt, now),
            indexTtl,
            id,
            session.CreatedAt.ToUnixTimeMilliseconds(),
        ];

        try
        {
            var database = await connection.GetDatabaseAsync();
            if (session.ProviderSessionId is { } sid)
            {
                // Before the session, so that a back-channel logout never misses a session that exists; should the
                // session then not be written, the member names nothing and is harmless.
                await database.ScriptEvaluateAsync(AddToIndexScript, [Keys.ProviderSessionIndex(sid)], [id, indexTtl]);
            }

            await database.ScriptEvaluateAsync(CreateScript, keys, values);
            return StoreOutcome.Ok;
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "create", ex.GetType().Name);
            return StoreOutcome.Unavailable;
        }
    }

    public async ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken)
    {
        var id = SessionKey.Id(session.Key);

        // Evict before writing (a read already under way must not cache the old value) and after (neither may one that
        // started while the write was in flight).
        cache.Evict(id);
        try
        {
            var database = await connection.GetDatabaseAsync();
            for (var attempt = 1; ; attempt++)
            {
                RedisValue[] values =
                [
                    StoredValue(id, session),
                    session.Tokens.Version,
                    TimeToLive(session.ExpiresAt, timeProvider.GetUtcNow()),
                ];
                var result = (int)await database.ScriptEvaluateAsync(ReplaceScript, [Keys.Session(id)], values);
                if (result > 0)
                {
                    await invalidation.PublishAsync(database, id);
                    return StoreOutcome.Ok;
                }

                if (result == 0)
                {
                    return StoreOutcome.NotFound;
                }

                // The store holds newer tokens (a refresh won meanwhile): keep them, apply the rest of this write.
                BffLog.StaleSessionWriteSkipped(logger, session.LogId, session.Tokens.Version);
                var latest = await ReadAsync(session.Key, id);
                if (latest.Status != SessionLookupStatus.Found)
                {
                    return latest.Status == SessionLookupStatus.Unavailable ? StoreOutcome.Unavailable : StoreOutcome.NotFound;
                }

                if (attempt == 3)
                {
                    // Tokens keep moving under us; what is stored is newer than this write in every way that matters.
                    return StoreOutcome.Ok;
                }

                session = session with { Tokens = latest.Session!.Tokens };
                cache.Evict(id);
            }
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "replace", ex.GetType().Name);
            return StoreOutcome.Unavailable;
        }
        finally
        {
            cache.Evict(id);
        }
    }

    /// <summary>
    /// Saves the tokens of a refresh made under the refresh lock held by <paramref name="lockOwner"/>: only while that
    /// lock is still its (or no one's) and the store holds the version the refresh replaced.
    /// </summary>
    public async ValueTask<LeasedSave> ReplaceRefreshedAsync(UserSession session, string lockOwner)
    {
        var id = SessionKey.Id(session.Key);
        cache.Evict(id);
        try
        {
            var database = await connection.GetDatabaseAsync();
            RedisValue[] values =
            [
                StoredValue(id, session),
                session.Tokens.Version,
                TimeToLive(session.ExpiresAt, timeProvider.GetUtcNow()),
                lockOwner,
            ];
            var result = (int)await database.ScriptEvaluateAsync(ReplaceRefreshedScript, [Keys.Session(id), Keys.RefreshLock(id)], values);
            if (result > 0)
            {
                await invalidation.PublishAsync(database, id);
                return LeasedSave.Saved;
            }

            return result == 0 ? LeasedSave.NotFound : LeasedSave.LeaseLost;
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "save refreshed tokens", ex.GetType().Name);
            return LeasedSave.Unavailable;
        }
        finally
        {
            cache.Evict(id);
        }
    }

    public async ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        var id = SessionKey.Id(key);
        if (await TryDeleteAsync(id, "remove"))
        {
            return StoreOutcome.Ok;
        }

        _pendingRemovals.TryAdd(id, 0);
        StartRetryingRemovals();
        return StoreOutcome.Unavailable;
    }

    public async ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken)
    {
        if (subject is null && providerSessionId is null)
        {
            return new RemoveManyResult(StoreOutcome.Ok, 0);
        }

        try
        {
            // Single-key commands only: the indexes and the sessions they list may sit in different cluster slots.
            var database = await connection.GetDatabaseAsync();
            RedisValue[] ids;
            RedisKey[] indexes;
            if (providerSessionId is not null)
            {
                var index = Keys.ProviderSessionIndex(providerSessionId);
                indexes = [index];
                ids = await database.SetMembersAsync(index);
                if (subject is not null && ids.Length > 0)
                {
                    var ofSubject = await SubjectSessionIdsAsync(database, subject);
                    ids = [.. ids.Where(ofSubject.Contains)];
                }
            }
            else
            {
                indexes = [Keys.SubjectIndex(subject!), Keys.LegacySubjectIndex(subject!)];
                ids = [.. await SubjectSessionIdsAsync(database, subject!)];
            }

            if (ids.Length == 0)
            {
                return new RemoveManyResult(StoreOutcome.Ok, 0);
            }

            var removed = 0;
            foreach (var id in ids)
            {
                if (await database.KeyDeleteAsync(Keys.Session(id!)))
                {
                    removed++;
                }
            }

            foreach (var index in indexes)
            {
                await database.SetRemoveAsync(index, ids);
            }

            foreach (var id in ids)
            {
                cache.Evict(id!);
                await invalidation.PublishAsync(database, id!);
            }

            return new RemoveManyResult(StoreOutcome.Ok, removed);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "remove by provider session", ex.GetType().Name);
            return new RemoveManyResult(StoreOutcome.Unavailable, 0);
        }
    }

    public async ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            var result = await database.ScriptEvaluateAsync(
                EndOldestScript, [Keys.SubjectSessions(newest.Subject)], [Keys.SessionKeyPrefix, keep, SessionKey.Id(newest.Key)]);
            var pairs = (RedisResult[]?)result ?? [];
            if (pairs.Length == 0)
            {
                return EndedSessions.None;
            }

            // What RemoveAsync does after its delete: no replica serves these sessions from its cache any longer.
            var ended = new EndedSession[pairs.Length / 2];
            for (var i = 0; i < ended.Length; i++)
            {
                var id = (string)pairs[2 * i]!;
                cache.Evict(id);
                await invalidation.PublishAsync(database, id);
                ended[i] = new EndedSession(id[..16], StoredTokens(id, (byte[]?)pairs[2 * i + 1]));
            }

            return new EndedSessions(StoreOutcome.Ok, ended);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "end the oldest sessions of a subject", ex.GetType().Name);
            return new EndedSessions(StoreOutcome.Unavailable, []);
        }
    }

    /// <summary>The ids of a subject's sessions: its index, and the index of sessions created before keys carried a tag.</summary>
    private async Task<HashSet<RedisValue>> SubjectSessionIdsAsync(IDatabase database, string subject)
    {
        var ids = new HashSet<RedisValue>(await database.SetMembersAsync(Keys.SubjectIndex(subject)));
        ids.UnionWith(await database.SetMembersAsync(Keys.LegacySubjectIndex(subject)));
        return ids;
    }

    private async ValueTask<bool> TryDeleteAsync(string id, string operation)
    {
        cache.Evict(id);
        try
        {
            var database = await connection.GetDatabaseAsync();
            await database.KeyDeleteAsync(Keys.Session(id));
            await invalidation.PublishAsync(database, id);
            return true;
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, operation, ex.GetType().Name);
            return false;
        }
        finally
        {
            cache.Evict(id);
        }
    }

    private void StartRetryingRemovals()
    {
        if (Interlocked.Exchange(ref _retrying, 1) == 0)
        {
            _ = RetryRemovalsAsync();
        }
    }

    private async Task RetryRemovalsAsync()
    {
        try
        {
            while (!_pendingRemovals.IsEmpty)
            {
                await Task.Delay(RemovalRetryInterval, timeProvider);
                foreach (var id in _pendingRemovals.Keys)
                {
                    if (!await TryDeleteAsync(id, "remove (retry)"))
                    {
                        break;
                    }

                    _pendingRemovals.TryRemove(id, out _);
                    BffLog.PendingSessionRemovalCompleted(logger, id[..16]);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _retrying, 0);
            if (!_pendingRemovals.IsEmpty)
            {
                StartRetryingRemovals();
            }
        }
    }

    private async ValueTask<SessionLookup> ReadAsync(string key, string id)
    {
        var generation = cache.Generation(id);
        byte[]? value;
        try
        {
            var database = await connection.GetDatabaseAsync();
            value = await database.StringGetAsync(Keys.Session(id));
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "read", ex.GetType().Name);
            return SessionLookup.Unavailable;
        }

        if (value is null)
        {
            return SessionLookup.NotFound;
        }

        var colon = value.AsSpan(0, Math.Min(value.Length, VersionPrefixMaxLength)).IndexOf((byte)':');
        if (colon < 1 || !payloads.TryUnprotect(key, id, value.AsSpan(colon + 1), out var session))
        {
            BffLog.SessionPayloadUnreadable(logger, SessionKey.LogId(key));
            return SessionLookup.NotFound;
        }

        cache.Put(id, session!, generation);
        return SessionLookup.Found(session!);
    }

    /// <summary>
    /// The tokens of a session read by its id alone (its cookie value is not known here, and only its tokens are used:
    /// to revoke the refresh token of a session the per-user cap ended). Null when it cannot be read.
    /// </summary>
    private TokenSet? StoredTokens(string id, byte[]? value)
    {
        if (value is null)
        {
            return null;
        }

        var colon = value.AsSpan(0, Math.Min(value.Length, VersionPrefixMaxLength)).IndexOf((byte)':');
        return colon >= 1 && payloads.TryUnprotect(string.Empty, id, value.AsSpan(colon + 1), out var session) ? session!.Tokens : null;
    }

    /// <summary>The session as its key holds it: the token version (which the replace script compares), a colon, the payload.</summary>
    private byte[] StoredValue(string id, UserSession session)
    {
        Span<byte> version = stackalloc byte[VersionPrefixMaxLength];
        session.Tokens.Version.TryFormat(version, out var digits, default, CultureInfo.InvariantCulture);
        version[digits++] = (byte)':';
        var payload = payloads.Protect(id, session);
        var value = new byte[digits + payload.Length];
        version[..digits].CopyTo(value);
        payload.CopyTo(value.AsSpan(digits));
        return value;
    }

    /// <summary>Milliseconds until <paramref name="until"/>, at least one (Redis refuses a zero or negative expiry).</summary>
    private static string TimeToLive(DateTimeOffset until, DateTimeOffset now) =>
        Math.Max(1L, (long)Math.Ceiling((until - now).TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
}
