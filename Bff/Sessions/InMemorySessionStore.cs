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
/// </summary>
internal sealed class InMemorySessionStore : ISessionStore
{
    private readonly ConcurrentDictionary<string, StoredSession> _sessions = new(StringComparer.Ordinal);
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
            _sessions.TryRemove(new KeyValuePair<string, StoredSession>(key, stored));
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        return ValueTask.FromResult(SessionLookup.Found(stored.Session));
    }

    public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken)
    {
        // Expired sessions wait for the minute's sweep; they must not keep a sign-in out meanwhile.
        if (_sessions.Count >= Capacity && (RemoveExpired() == 0 || _sessions.Count >= Capacity))
        {
            return ValueTask.FromResult(StoreOutcome.Full);
        }

        _sessions[session.Key] = StoredSession.From(session, keepDecoded: false);
        return ValueTask.FromResult(StoreOutcome.Ok);
    }

    public ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken)
    {
        while (_sessions.TryGetValue(session.Key, out var current))
        {
            var replacement = current.TokenVersion > session.Tokens.Version ? session with { Tokens = current.Session.Tokens } : session;
            if (_sessions.TryUpdate(session.Key, StoredSession.From(replacement, keepDecoded: true), current))
            {
                return ValueTask.FromResult(StoreOutcome.Ok);
            }
        }

        return ValueTask.FromResult(StoreOutcome.NotFound);
    }

    public ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(key, out _);
        return ValueTask.FromResult(StoreOutcome.Ok);
    }

    public ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var (key, session) in _sessions)
        {
            if (Matches(session, subject, providerSessionId) && _sessions.TryRemove(key, out _))
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
        foreach (var (key, session) in _sessions)
        {
            if (string.Equals(session.Subject, newest.Subject, StringComparison.Ordinal) && !session.IsExpired(now)
                && !string.Equals(key, newest.Key, StringComparison.Ordinal))
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
            if (_sessions.TryRemove(session.Key, out _))
            {
                ended.Add(new EndedSession(session.LogId, session.Session.Tokens) { Id = session.Id });
            }
        }

        return ValueTask.FromResult(new EndedSessions(StoreOutcome.Ok, ended));
    }

    public ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var sessions = new List<SessionSummary>();
        foreach (var (_, session) in _sessions)
        {
            if (string.Equals(session.Subject, subject, StringComparison.Ordinal) && !session.IsExpired(now))
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
        foreach (var (key, session) in _sessions)
        {
            if (!string.Equals(session.Subject, subject, StringComparison.Ordinal))
            {
                continue;
            }

            var id = session.Id;
            if ((onlyId is null || string.Equals(id, onlyId, StringComparison.Ordinal))
                && !string.Equals(id, exceptId, StringComparison.Ordinal)
                && _sessions.TryRemove(new KeyValuePair<string, StoredSession>(key, session)))
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
            if (_sessions.TryRemove(key, out _))
            {
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
                if (_sessions.TryRemove(new KeyValuePair<string, StoredSession>(key, session)))
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
