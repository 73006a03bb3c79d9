using Bff.Observability;
using System.Collections.Concurrent;
using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

/// <summary>
/// Sessions in this process's memory: the fastest store, and the right one for a single replica.
/// Expired sessions are dropped when found and by <see cref="SessionCleanupService"/>.
/// <para>
/// Holds at most <see cref="SessionSettings.MaxInMemorySessions"/>. When full, a new session is refused
/// (<see cref="StoreOutcome.Full"/>, a 503 to that sign-in) rather than made room for by ending the least recently
/// used one: a flood of sign-ins (one account scripted, or many) would otherwise sign every real user out, one
/// eviction per forged sign-in, while refusing costs the users already signed in nothing and recovers by itself as
/// sessions end. The check and the insert are not one atomic step, so concurrent sign-ins can overshoot the bound by
/// at most the number of sign-ins in flight.
/// </para>
/// <para>
/// Each session is kept as its compressed binary record (<see cref="StoredSession"/>, a sixth to a third of its object
/// graph); sessions in use also keep their decoded form, which the minute sweep drops once they go unread.
/// </para>
/// <para>
/// A per-user index (subject to the keys of that user's sessions) answers the per-user cap at every sign-in, the
/// user's session list and back-channel logout without walking every session: with the whole store walked, a sign-in
/// cost grew with the number of sessions held (about 0.1 µs each, 10 ms per sign-in at 100 000 sessions). A key
/// enters the index before its session enters the store and leaves it after the session left, so every stored
/// session is always found through it; a key whose session is gone is skipped.
/// </para>
/// </summary>
internal sealed class InMemorySessionStore : ISessionStore
{
    private readonly ConcurrentDictionary<string, StoredSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Subject to the keys of its sessions; an array replaced as a whole (compare-and-swap), never changed in place.</summary>
    private readonly ConcurrentDictionary<string, string[]> _keysBySubject = new(StringComparer.Ordinal);

    /// <summary>
    /// Sessions held, for the capacity check at every sign-in: <see cref="ConcurrentDictionary{TKey,TValue}.Count"/>
    /// takes every one of the dictionary's locks (hundreds once it holds thousands of sessions), about 2 % of a
    /// sign-in's CPU. Counted where an entry is added or removed, so it can lag by the operations in flight.
    /// </summary>
    private int _held;
    private readonly TimeProvider _timeProvider;
    private readonly IOptions<BffOptions> _options;

    public InMemorySessionStore(TimeProvider timeProvider, IOptions<BffOptions> options, BffMetrics metrics)
    {
        _timeProvider = timeProvider;
        _options = options;
        metrics.ObserveActiveSessions(() => Count);
    }

    /// <summary>Read when first needed: resolving the store must not validate the options before the host reports every refused setting at once.</summary>
    private int Capacity => _options.Value.Session.MaxInMemorySessions;

    public int Count => _sessions.Count;

    public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(key, out var stored))
        {
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        if (stored.IsExpired(_timeProvider.GetUtcNow()))
        {
            TryRemove(key, stored);
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        return ValueTask.FromResult(SessionLookup.Found(stored.Session));
    }

    public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken)
    {
        // Expired sessions wait for the minute's sweep; they must not keep a sign-in out meanwhile.
        if (Volatile.Read(ref _held) >= Capacity && (RemoveExpired() == 0 || Volatile.Read(ref _held) >= Capacity))
        {
            return ValueTask.FromResult(StoreOutcome.Full);
        }

        var stored = StoredSession.From(session, keepDecoded: false);
        Index(stored.Subject, stored.Key);
        if (_sessions.TryAdd(session.Key, stored))
        {
            Interlocked.Increment(ref _held);
        }
        else
        {
            // A key is 256 random bits: taken only if the same session is created twice, which replaces it as before.
            _sessions[session.Key] = stored;
        }

        return ValueTask.FromResult(StoreOutcome.Ok);
    }

    public ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken)
    {
        while (_sessions.TryGetValue(session.Key, out var current))
        {
            var replacement = current.TokenVersion > session.Tokens.Version ? session with { Tokens = current.Session.Tokens } : session;
            var stored = StoredSession.From(replacement, keepDecoded: true);
            var otherSubject = !string.Equals(stored.Subject, current.Subject, StringComparison.Ordinal);
            if (otherSubject)
            {
                Index(stored.Subject, stored.Key);
            }

            if (_sessions.TryUpdate(session.Key, stored, current))
            {
                if (otherSubject)
                {
                    Unindex(current.Subject, current.Key);
                }

                return ValueTask.FromResult(StoreOutcome.Ok);
            }
        }

        return ValueTask.FromResult(StoreOutcome.NotFound);
    }

    public ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        if (_sessions.TryRemove(key, out var removed))
        {
            Forget(removed.Subject, key);
        }

        return ValueTask.FromResult(StoreOutcome.Ok);
    }

    public ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken)
    {
        var removed = 0;
        // A logout token that names its subject is answered from the index; one with only a provider session walks all.
        foreach (var (key, session) in subject is null ? (IEnumerable<KeyValuePair<string, StoredSession>>)_sessions : OfSubject(subject))
        {
            if (Matches(session, subject, providerSessionId) && TryRemove(key, session))
            {
                removed++;
            }
        }

        return ValueTask.FromResult(new RemoveManyResult(StoreOutcome.Ok, removed));
    }

    public ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        List<StoredSession>? live = null;
        foreach (var (key, session) in OfSubject(newest.Subject))
        {
            if (!session.IsExpired(now) && !string.Equals(key, newest.Key, StringComparison.Ordinal))
            {
                (live ??= []).Add(session);
            }
        }

        // The newest (not in the list) counts as one of those kept.
        var excess = (live?.Count ?? 0) + 1 - keep;
        if (live is null || excess <= 0)
        {
            return ValueTask.FromResult(EndedSessions.None);
        }

        var ended = new List<EndedSession>(excess);
        foreach (var session in live.OrderBy(s => s.CreatedAt).ThenBy(s => s.Key, StringComparer.Ordinal).Take(excess))
        {
            if (_sessions.TryRemove(session.Key, out var removed))
            {
                Forget(removed.Subject, session.Key);
                ended.Add(new EndedSession(session.LogId, session.Session.Tokens) { Id = session.Id });
            }
        }

        return ValueTask.FromResult(new EndedSessions(StoreOutcome.Ok, ended));
    }

    public ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var sessions = new List<SessionSummary>();
        foreach (var (_, session) in OfSubject(subject))
        {
            if (!session.IsExpired(now))
            {
                sessions.Add(new SessionSummary(session.Id, session.CreatedAt, session.ExpiresAt, session.AbsoluteExpiresAt, session.Device));
            }
        }

        sessions.Sort(static (a, b) => a.CreatedAt != b.CreatedAt ? a.CreatedAt.CompareTo(b.CreatedAt) : string.CompareOrdinal(a.Id, b.Id));
        return ValueTask.FromResult(new SubjectSessions(StoreOutcome.Ok, sessions));
    }

    public ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken)
    {
        var ended = new List<EndedSession>();
        foreach (var (key, session) in OfSubject(subject))
        {
            var id = session.Id;
            if ((onlyId is null || string.Equals(id, onlyId, StringComparison.Ordinal))
                && !string.Equals(id, exceptId, StringComparison.Ordinal)
                && TryRemove(key, session))
            {
                ended.Add(new EndedSession(session.LogId, session.Session.Tokens) { Id = session.Id });
            }
        }

        return ValueTask.FromResult(ended.Count == 0 ? EndedSessions.None : new EndedSessions(StoreOutcome.Ok, ended));
    }

    public ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var key in _sessions.Keys)
        {
            if (_sessions.TryRemove(key, out var session))
            {
                Forget(session.Subject, key);
                removed++;
            }
        }

        return ValueTask.FromResult(new RemoveManyResult(StoreOutcome.Ok, removed));
    }

    /// <summary>
    /// Drops every expired session, and the decoded form of every session nobody read since the previous sweep;
    /// returns how many sessions were dropped.
    /// </summary>
    public int RemoveExpired()
    {
        var now = _timeProvider.GetUtcNow();
        var removed = 0;
        foreach (var (key, session) in _sessions)
        {
            if (session.IsExpired(now))
            {
                if (TryRemove(key, session))
                {
                    removed++;
                }
            }
            else
            {
                session.ReleaseIfIdle();
            }
        }

        return removed;
    }

    /// <summary>The number of users with at least one session in the index (for tests: the index keeps no ended user).</summary>
    internal int IndexedSubjects => _keysBySubject.Count;

    /// <summary>The stored sessions of <paramref name="subject"/>, read through the index (a snapshot of its keys).</summary>
    private List<KeyValuePair<string, StoredSession>> OfSubject(string subject)
    {
        var found = new List<KeyValuePair<string, StoredSession>>();
        if (_keysBySubject.TryGetValue(subject, out var keys))
        {
            foreach (var key in keys)
            {
                if (_sessions.TryGetValue(key, out var session) && string.Equals(session.Subject, subject, StringComparison.Ordinal))
                {
                    found.Add(new(key, session));
                }
            }
        }

        return found;
    }

    /// <summary>Removes <paramref name="key"/> if it still holds <paramref name="session"/>, and then its index entry and count.</summary>
    private bool TryRemove(string key, StoredSession session)
    {
        if (!_sessions.TryRemove(new KeyValuePair<string, StoredSession>(key, session)))
        {
            return false;
        }

        Forget(session.Subject, key);
        return true;
    }

    /// <summary>After a session left the dictionary: its index entry and its place in the count.</summary>
    private void Forget(string subject, string key)
    {
        Interlocked.Decrement(ref _held);
        Unindex(subject, key);
    }

    private void Index(string subject, string key) =>
        _keysBySubject.AddOrUpdate(subject, static (_, added) => [added], static (_, keys, added) => [.. keys, added], key);

    private void Unindex(string subject, string key)
    {
        while (_keysBySubject.TryGetValue(subject, out var keys))
        {
            var at = Array.IndexOf(keys, key);
            if (at < 0)
            {
                return;
            }

            if (keys.Length == 1)
            {
                // Removed only if nobody added a key meanwhile (the array is compared by reference).
                if (_keysBySubject.TryRemove(new KeyValuePair<string, string[]>(subject, keys)))
                {
                    return;
                }

                continue;
            }

            var rest = new string[keys.Length - 1];
            keys.AsSpan(0, at).CopyTo(rest);
            keys.AsSpan(at + 1).CopyTo(rest.AsSpan(at));
            if (_keysBySubject.TryUpdate(subject, rest, keys))
            {
                return;
            }
        }
    }

    internal static bool Matches(StoredSession session, string? subject, string? providerSessionId)
    {
        if (providerSessionId is not null)
        {
            // A logout token with both names one provider session of one subject.
            return string.Equals(session.ProviderSessionId, providerSessionId, StringComparison.Ordinal)
                && (subject is null || string.Equals(session.Subject, subject, StringComparison.Ordinal));
        }

        return subject is not null && string.Equals(session.Subject, subject, StringComparison.Ordinal);
    }
}
