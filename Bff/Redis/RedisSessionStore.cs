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
/// <item><c>{prefix}session:v2:{id}</c>: a string, the token version in decimal, <c>:</c>, and the Data-Protected
/// payload (<see cref="SessionPayloadProtector"/>), expiring with the session (the earlier of its idle and absolute
/// limits). <c>id</c> is <see cref="SessionKey.Id"/> of the cookie value (names: <see cref="RedisKeys"/>). A string rather than a hash of version and
/// payload: Redis stores a hash with a value this long as a hash table, a few hundred bytes more per session.</item>
/// <item><c>{prefix}subject-sessions:{hash}</c>: one subject's session ids in a sorted set scored by creation time
/// (<see cref="RedisKeys.SubjectSessions"/>), and beside it <c>{prefix}subject-sessions:{hash}:details</c>, a hash from
/// each of those ids to what a list of the user's sessions shows (<see cref="SessionDetails"/>: created, absolute expiry,
/// a coarse device description; no token, no address). The one per-user index: the per-user cap, back-channel logout by
/// subject and the lists of sessions read it. Both keys expire together with the latest absolute expiry of the sessions
/// they list; every script that touches them (sign-in, a list, ending sessions) drops the members whose session is gone
/// and the details no member names, and deletes both keys when no session is left, so they stay at most
/// <c>Bff:Session:MaxPerSubject</c> large and never outlive their sessions.</item>
/// <item><c>{prefix}sid:{hash}</c>: a set of session ids of one provider session for back-channel logout, expiring
/// no earlier than the longest-lived session it lists. A member whose session is gone is harmless.</item>
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

    /// <summary>
    /// Lua shared by the scripts that touch a subject's index (KEYS[1] the sorted set, KEYS[2] its details).
    /// <c>prune(prefix, keep)</c> drops members whose session key is gone (expired, logged out, ended) except
    /// <c>keep</c>, and details whose member is gone (an older replica may have ended a session without them).
    /// <c>fit(now)</c> deletes both keys when no member is left, or else sets both to expire with the latest absolute
    /// expiry among the details (never sooner than they would when a member has no details: one written by an older
    /// version).
    /// </summary>
    private const string IndexFunctions = """
        local function prune(prefix, keep)
          for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            if id ~= keep and redis.call('EXISTS', prefix .. id) == 0 then
              redis.call('ZREM', KEYS[1], id)
              redis.call('HDEL', KEYS[2], id)
            end
          end
          for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
            if not redis.call('ZSCORE', KEYS[1], id) then redis.call('HDEL', KEYS[2], id) end
          end
        end
        local function fit(now)
          local members = redis.call('ZCARD', KEYS[1])
          if members == 0 then
            redis.call('DEL', KEYS[1], KEYS[2])
            return
          end
          local ttl = 0
          for _, details in ipairs(redis.call('HVALS', KEYS[2])) do
            local absolute = tonumber(string.match(details, '^1|%d+|(%d+)|'))
            if absolute and absolute - now > ttl then ttl = absolute - now end
          end
          if redis.call('HLEN', KEYS[2]) < members then
            local current = redis.call('PTTL', KEYS[1])
            if current > ttl then ttl = current end
          end
          if ttl > 0 then
            redis.call('PEXPIRE', KEYS[1], ttl)
            redis.call('PEXPIRE', KEYS[2], ttl)
          end
        end

        """;

    // KEYS: subject's sessions (sorted), their details, session: one slot (the subject's tag).
    // ARGV: value, session ttl ms, index ttl ms, id, created at (Unix ms), details.
    private const string CreateScript = """
        redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
        local ttl = tonumber(ARGV[3])
        redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
        redis.call('HSET', KEYS[2], ARGV[4], ARGV[6])
        for _, key in ipairs({ KEYS[1], KEYS[2] }) do
          if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
        end
        return 1
        """;

    // KEYS: a provider session's index. ARGV: session id, ttl ms. Adds the id; the index lives as long as its longest session.
    private const string AddToIndexScript = """
        redis.call('SADD', KEYS[1], ARGV[1])
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 1
        """;

    // KEYS: subject's sessions (sorted), their details. ARGV: session key prefix, how many to keep, the new session's
    // id, now (Unix ms).
    // Prunes (see IndexFunctions), then deletes the sessions of the lowest scores (the oldest) beyond the limit and
    // returns their ids, each followed by its stored value (so that the caller can revoke its refresh token) or false
    // when it expired meanwhile; never the new session, which may share its millisecond with an older one. One script,
    // so two sign-ins of one user at once cannot both keep the same session or both end the same one. The session keys
    // it deletes are named after the members, which carry the subject's tag: they are in the sorted set's slot, so the
    // script may touch them on Redis Cluster too.
    private const string EndOldestScript = IndexFunctions + """
        prune(ARGV[1], ARGV[3])
        local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
        local ended = {}
        if excess > 0 then
          for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            if #ended >= 2 * excess then break end
            if id ~= ARGV[3] then
              ended[#ended + 1] = id
              ended[#ended + 1] = redis.call('GET', ARGV[1] .. id)
              redis.call('DEL', ARGV[1] .. id)
              redis.call('ZREM', KEYS[1], id)
              redis.call('HDEL', KEYS[2], id)
            end
          end
        end
        fit(tonumber(ARGV[4]))
        return ended
        """;

    // KEYS: subject's sessions (sorted), their details. ARGV: session key prefix, now (Unix ms).
    // Prunes, then returns for each live session, oldest first: its id, its session key's remaining ttl (ms, -1 for
    // none) and its details (false when it has none). Reads no session value: a list never decrypts tokens.
    private const string ListScript = IndexFunctions + """
        prune(ARGV[1], false)
        local listed = {}
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          listed[#listed + 1] = id
          listed[#listed + 1] = redis.call('PTTL', ARGV[1] .. id)
          listed[#listed + 1] = redis.call('HGET', KEYS[2], id)
        end
        fit(tonumber(ARGV[2]))
        return listed
        """;

    // KEYS: subject's sessions (sorted), their details. ARGV: session key prefix, now (Unix ms), only this id ('' for
    // any), never this id ('' for none).
    // Ends the subject's sessions so chosen: an id that is not the subject's member is never deleted. Returns the ids
    // ended, each followed by its stored value (false when it expired meanwhile), as EndOldestScript does.
    private const string EndOfSubjectScript = IndexFunctions + """
        local ended = {}
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          if (ARGV[3] == '' or id == ARGV[3]) and id ~= ARGV[4] then
            local value = redis.call('GET', ARGV[1] .. id)
            if value then
              ended[#ended + 1] = id
              ended[#ended + 1] = value
              redis.call('DEL', ARGV[1] .. id)
            end
            redis.call('ZREM', KEYS[1], id)
            redis.call('HDEL', KEYS[2], id)
          end
        end
        prune(ARGV[1], false)
        fit(tonumber(ARGV[2]))
        return ended
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

    // KEYS: session, refresh lock. ARGV: value, token version, ttl ms, lock owner.
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
        RedisKey[] keys = [Keys.SubjectSessions(session.Subject), Keys.SubjectSessionDetails(session.Subject), Keys.Session(id)];
        RedisValue[] values =
        [
            StoredValue(id, session),
            TimeToLive(session.ExpiresAt, now),
            indexTtl,
            id,
            session.CreatedAt.ToUnixTimeMilliseconds(),
            SessionDetails.Format(session),
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
            var database = await connection.GetDatabaseAsync();
            // Single-key commands only: the indexes and the sessions they list may sit in different cluster slots.
            RedisValue[] ids;
            if (providerSessionId is not null)
            {
                ids = await database.SetMembersAsync(Keys.ProviderSessionIndex(providerSessionId));
                if (subject is not null && ids.Length > 0)
                {
                    // A logout token with both names one provider session of one subject.
                    var ofSubject = await SubjectSessionIdsAsync(database, subject);
                    ids = [.. ids.Where(ofSubject.Contains)];
                }
            }
            else
            {
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

            if (providerSessionId is not null)
            {
                await database.SetRemoveAsync(Keys.ProviderSessionIndex(providerSessionId), ids);
            }
            else
            {
                // Only these members: a session signed in meanwhile keeps its place in the index.
                await database.SortedSetRemoveAsync(Keys.SubjectSessions(subject!), ids);
                await database.HashDeleteAsync(Keys.SubjectSessionDetails(subject!), ids);
                await database.SetRemoveAsync(Keys.LegacySubjectIndex(subject!), ids);
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
                EndOldestScript,
                SubjectIndexKeys(newest.Subject),
                [Keys.SessionKeyPrefix, keep, SessionKey.Id(newest.Key), Now()]);
            return await EndedAsync(database, result);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "end the oldest sessions of a subject", ex.GetType().Name);
            return new EndedSessions(StoreOutcome.Unavailable, []);
        }
    }

    public async ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            var now = timeProvider.GetUtcNow();
            var result = (RedisResult[]?)await database.ScriptEvaluateAsync(
                ListScript, SubjectIndexKeys(subject), [Keys.SessionKeyPrefix, now.ToUnixTimeMilliseconds()]) ?? [];
            var sessions = new List<SessionSummary>(result.Length / 3);
            for (var i = 0; i + 2 < result.Length; i += 3)
            {
                var id = (string)result[i]!;
                var ttl = (long)result[i + 1];
                var details = SessionDetails.Parse((string?)result[i + 2]);
                var absolute = details?.AbsoluteExpiresAt;
                var expiresAt = ttl >= 0 ? now.AddMilliseconds(ttl) : absolute ?? now;
                sessions.Add(new SessionSummary(id, details?.CreatedAt ?? now, expiresAt, absolute, details?.Device));
            }

            return new SubjectSessions(StoreOutcome.Ok, sessions);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "list the sessions of a subject", ex.GetType().Name);
            return SubjectSessions.Unavailable;
        }
    }

    public async ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            var result = await database.ScriptEvaluateAsync(
                EndOfSubjectScript,
                SubjectIndexKeys(subject),
                [Keys.SessionKeyPrefix, Now(), onlyId ?? string.Empty, exceptId ?? string.Empty]);
            return await EndedAsync(database, result);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "end sessions of a subject", ex.GetType().Name);
            return new EndedSessions(StoreOutcome.Unavailable, []);
        }
    }

    /// <summary>
    /// Deletes every session key and every index under this gateway's prefix, scanning (never <c>KEYS</c>) so that Redis
    /// keeps answering meanwhile, and tells every replica to forget each session it deletes.
    /// </summary>
    public async ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken)
    {
        try
        {
            var multiplexer = await connection.GetMultiplexerAsync();
            var database = multiplexer.GetDatabase();
            var sessionPrefix = Keys.SessionKeyPrefix;
            var removed = 0;
            foreach (var server in multiplexer.GetServers().Where(s => s.IsConnected && !s.IsReplica))
            {
                foreach (var pattern in Keys.SessionPatterns)
                {
                    var batch = new List<RedisKey>(256);
                    await foreach (var key in server.KeysAsync(database.Database, pattern, pageSize: 500).WithCancellation(cancellationToken))
                    {
                        batch.Add(key);
                        if (batch.Count == batch.Capacity)
                        {
                            removed += await DeleteBatchAsync(database, batch, sessionPrefix);
                        }
                    }

                    removed += await DeleteBatchAsync(database, batch, sessionPrefix);
                }
            }

            return new RemoveManyResult(StoreOutcome.Ok, removed);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "end every session", ex.GetType().Name);
            return new RemoveManyResult(StoreOutcome.Unavailable, 0);
        }
    }

    /// <summary>Deletes the batch's keys; returns how many were sessions, which every replica is told to forget.</summary>
    private async Task<int> DeleteBatchAsync(IDatabase database, List<RedisKey> batch, string sessionPrefix)
    {
        if (batch.Count == 0)
        {
            return 0;
        }

        // One key a command: on Redis Cluster the batch spans slots.
        await Task.WhenAll(batch.Select(key => database.KeyDeleteAsync(key)));
        var sessions = 0;
        foreach (var key in batch)
        {
            var name = key.ToString();
            if (name.StartsWith(sessionPrefix, StringComparison.Ordinal))
            {
                var id = name[sessionPrefix.Length..];
                cache.Evict(id);
                await invalidation.PublishAsync(database, id);
                sessions++;
            }
        }

        batch.Clear();
        return sessions;
    }

    /// <summary>
    /// The ids of a subject's sessions: its index, and the index of sessions created before keys carried a tag
    /// (<see cref="RedisKeys.LegacySubjectIndex"/>, read until they have expired).
    /// </summary>
    private async Task<HashSet<RedisValue>> SubjectSessionIdsAsync(IDatabase database, string subject)
    {
        var ids = new HashSet<RedisValue>(await database.SortedSetRangeByRankAsync(Keys.SubjectSessions(subject)));
        ids.UnionWith(await database.SetMembersAsync(Keys.LegacySubjectIndex(subject)));
        return ids;
    }

    private RedisKey[] SubjectIndexKeys(string subject) => [Keys.SubjectSessions(subject), Keys.SubjectSessionDetails(subject)];

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// What RemoveAsync does after its delete, for the sessions a script ended (pairs of id and stored value): no replica
    /// serves them from its cache any longer. Their tokens are read back only to be revoked.
    /// </summary>
    private async Task<EndedSessions> EndedAsync(IDatabase database, RedisResult result)
    {
        var pairs = (RedisResult[]?)result ?? [];
        if (pairs.Length == 0)
        {
            return EndedSessions.None;
        }

        var ended = new EndedSession[pairs.Length / 2];
        for (var i = 0; i < ended.Length; i++)
        {
            var id = (string)pairs[2 * i]!;
            cache.Evict(id);
            await invalidation.PublishAsync(database, id);
            ended[i] = new EndedSession(id[..16], StoredTokens(id, (byte[]?)pairs[2 * i + 1])) { Id = id };
        }

        return new EndedSessions(StoreOutcome.Ok, ended);
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
