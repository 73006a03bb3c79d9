using System.Collections.Concurrent;

namespace Bff.Sessions;

/// <summary>
/// Sessions in this process's memory: the fastest store, and the right one for a single replica.
/// Expired sessions are dropped when found and by <see cref="SessionCleanupService"/>.
/// </summary>
internal sealed class InMemorySessionStore(TimeProvider timeProvider) : ISessionStore
{
    private readonly ConcurrentDictionary<string, UserSession> _sessions = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(key, out var session))
        {
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        if (session.IsExpired(timeProvider.GetUtcNow()))
        {
            _sessions.TryRemove(new KeyValuePair<string, UserSession>(key, session));
            return ValueTask.FromResult(SessionLookup.NotFound);
        }

        return ValueTask.FromResult(SessionLookup.Found(session));
    }

    public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken)
    {
        _sessions[session.Key] = session;
        return ValueTask.FromResult(StoreOutcome.Ok);
    }

    public ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken)
    {
        while (_sessions.TryGetValue(session.Key, out var current))
        {
            var replacement = current.Tokens.Version > session.Tokens.Version ? session with { Tokens = current.Tokens } : session;
            if (_sessions.TryUpdate(session.Key, replacement, current))
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

    /// <summary>Drops every expired session; returns how many.</summary>
    public int RemoveExpired()
    {
        var now = timeProvider.GetUtcNow();
        var removed = 0;
        foreach (var (key, session) in _sessions)
        {
            if (session.IsExpired(now) && _sessions.TryRemove(new KeyValuePair<string, UserSession>(key, session)))
            {
                removed++;
            }
        }

        return removed;
    }

    internal static bool Matches(UserSession session, string? subject, string? providerSessionId)
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

/// <summary>Sweeps expired sessions out of <see cref="InMemorySessionStore"/> once a minute.</summary>
internal sealed class SessionCleanupService(
    InMemorySessionStore store,
    TimeProvider timeProvider,
    Observability.BffMetrics metrics,
    ILogger<SessionCleanupService> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var removed = store.RemoveExpired();
                if (removed > 0)
                {
                    Observability.BffLog.ExpiredSessionsRemoved(logger, removed);
                    metrics.SessionEnded(Observability.TelemetryNames.SessionEndReasons.Expired, removed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
