using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using static Bff.Observability.TelemetryNames;

namespace Bff.Sessions;

/// <summary>
/// Wraps whichever <see cref="ISessionStore"/> is configured (in-memory, Redis) with a span and a latency measurement
/// per call, so every store is observed the same way and store implementations stay free of telemetry.
/// The session key is hashed before it becomes an attribute.
/// </summary>
internal sealed class InstrumentedSessionStore(Func<(ISessionStore Store, SessionStoreKind Kind)> select, BffMetrics metrics, TimeProvider timeProvider) : ISessionStore
{
    /// <summary>
    /// Chosen at the first call, not when resolved: the pipeline is composed before start-up validation has reported
    /// every refused setting at once, and reading the settings then would report only the first.
    /// </summary>
    private Selection? _selection;

    /// <summary>The decorated store (tests check the composition).</summary>
    public ISessionStore Inner => Current.Store;

    private Selection Current => _selection ??= Select();

    private Selection Select()
    {
        var (store, kind) = select();
        return new Selection(store, kind == SessionStoreKind.Redis ? "redis" : "in_memory");
    }

    /// <summary>
    /// Every request of a session calls this. An answer from memory (the in-memory store, the Redis store's local cache)
    /// completes synchronously in well under a microsecond: it is measured but gets no span, which would cost more than
    /// the lookup. A lookup that has to wait (a Redis round trip) or fails gets its span, started when the call was.
    /// When nothing listens to the duration metric, an answer from memory is not even timed (two clock reads per call).
    /// </summary>
    public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!metrics.SessionStoreOperationsMeasured)
        {
            return FindUntimedAsync(key, cancellationToken);
        }

        var started = timeProvider.GetTimestamp();
        var pending = Current.Store.FindAsync(key, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitFindAsync(pending, key, started);
        }

        var lookup = pending.Result;
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            return AwaitFindAsync(ValueTask.FromResult(lookup), key, started);
        }

        metrics.SessionStoreOperation(SessionStoreOperations.Find, Current.Kind, OutcomeOf(lookup), timeProvider.GetElapsedTime(started));
        return ValueTask.FromResult(lookup);
    }

    private ValueTask<SessionLookup> FindUntimedAsync(string key, CancellationToken cancellationToken)
    {
        var pending = Current.Store.FindAsync(key, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            // The span of a lookup that waits starts now: the call has only just handed its work to Redis.
            return AwaitFindAsync(pending, key, timeProvider.GetTimestamp());
        }

        var lookup = pending.Result;
        return lookup.Status == SessionLookupStatus.Unavailable
            ? AwaitFindAsync(ValueTask.FromResult(lookup), key, timeProvider.GetTimestamp())
            : ValueTask.FromResult(lookup);
    }

    private async ValueTask<SessionLookup> AwaitFindAsync(ValueTask<SessionLookup> pending, string key, long started)
    {
        var startedAt = timeProvider.GetUtcNow() - timeProvider.GetElapsedTime(started);
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.Find, Current.Kind, SessionKey.LogId(key), startedAt);
        try
        {
            var lookup = await pending;
            Complete(activity, SessionStoreOperations.Find, OutcomeOf(lookup), started);
            return lookup;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.Find, ex, started))
        {
            throw;
        }
    }

    public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken) =>
        MeasureAsync(SessionStoreOperations.Create, session.Key, () => Current.Store.CreateAsync(session, cancellationToken));

    public ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken) =>
        MeasureAsync(SessionStoreOperations.Replace, session.Key, () => Current.Store.ReplaceAsync(session, cancellationToken));

    public ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken) =>
        MeasureAsync(SessionStoreOperations.Remove, key, () => Current.Store.RemoveAsync(key, cancellationToken));

    public async ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken)
    {
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.RemoveByProviderSession, Current.Kind, sessionLogId: null);
        var started = timeProvider.GetTimestamp();
        try
        {
            var result = await Current.Store.RemoveByProviderSessionAsync(subject, providerSessionId, cancellationToken);
            activity?.SetTag(Attributes.SessionsRemoved, result.Removed);
            Complete(activity, SessionStoreOperations.RemoveByProviderSession, OutcomeOf(result.Outcome), started);
            return result;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.RemoveByProviderSession, ex, started))
        {
            throw;
        }
    }

    public async ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken)
    {
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.EndOldestOfSubject, Current.Kind, sessionLogId: null);
        var started = timeProvider.GetTimestamp();
        try
        {
            var result = await Current.Store.EndOldestOfSubjectAsync(newest, keep, cancellationToken);
            activity?.SetTag(Attributes.SessionsRemoved, result.Sessions.Count);
            Complete(activity, SessionStoreOperations.EndOldestOfSubject, OutcomeOf(result.Outcome), started);
            return result;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.EndOldestOfSubject, ex, started))
        {
            throw;
        }
    }

    public async ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken)
    {
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.ListOfSubject, Current.Kind, sessionLogId: null);
        var started = timeProvider.GetTimestamp();
        try
        {
            var result = await Current.Store.ListOfSubjectAsync(subject, cancellationToken);
            Complete(activity, SessionStoreOperations.ListOfSubject, OutcomeOf(result.Outcome), started);
            return result;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.ListOfSubject, ex, started))
        {
            throw;
        }
    }

    public async ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken)
    {
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.EndOfSubject, Current.Kind, sessionLogId: null);
        var started = timeProvider.GetTimestamp();
        try
        {
            var result = await Current.Store.EndOfSubjectAsync(subject, onlyId, exceptId, cancellationToken);
            activity?.SetTag(Attributes.SessionsRemoved, result.Sessions.Count);
            Complete(activity, SessionStoreOperations.EndOfSubject, OutcomeOf(result.Outcome), started);
            return result;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.EndOfSubject, ex, started))
        {
            throw;
        }
    }

    public async ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken)
    {
        using var activity = BffActivitySource.StartSessionStore(SessionStoreOperations.EndAll, Current.Kind, sessionLogId: null);
        var started = timeProvider.GetTimestamp();
        try
        {
            var result = await Current.Store.EndAllAsync(cancellationToken);
            activity?.SetTag(Attributes.SessionsRemoved, result.Removed);
            Complete(activity, SessionStoreOperations.EndAll, OutcomeOf(result.Outcome), started);
            return result;
        }
        catch (Exception ex) when (Fail(activity, SessionStoreOperations.EndAll, ex, started))
        {
            throw;
        }
    }

    private async ValueTask<StoreOutcome> MeasureAsync(string operation, string key, Func<ValueTask<StoreOutcome>> call)
    {
        using var activity = BffActivitySource.StartSessionStore(operation, Current.Kind, SessionKey.LogId(key));
        var started = timeProvider.GetTimestamp();
        try
        {
            var outcome = await call();
            Complete(activity, operation, OutcomeOf(outcome), started);
            return outcome;
        }
        catch (Exception ex) when (Fail(activity, operation, ex, started))
        {
            throw;
        }
    }

    private static string OutcomeOf(SessionLookup lookup) => lookup.Status switch
    {
        SessionLookupStatus.Found => Outcomes.Found,
        SessionLookupStatus.Unavailable => Outcomes.Unavailable,
        _ => Outcomes.NotFound,
    };

    private static string OutcomeOf(StoreOutcome outcome) => outcome switch
    {
        StoreOutcome.Ok => Outcomes.Success,
        StoreOutcome.NotFound => Outcomes.NotFound,
        StoreOutcome.Full => Outcomes.Full,
        _ => Outcomes.Unavailable,
    };

    private void Complete(System.Diagnostics.Activity? activity, string operation, string outcome, long started)
    {
        if (outcome == Outcomes.Unavailable)
        {
            activity.SetFailure(outcome, Errors.BffError.SessionStoreUnavailable.Code);
        }
        else if (outcome == Outcomes.Full)
        {
            activity.SetFailure(outcome, Errors.BffError.SessionCapacityReached.Code);
        }
        else
        {
            activity.SetOutcome(outcome);
        }

        metrics.SessionStoreOperation(operation, Current.Kind, outcome, timeProvider.GetElapsedTime(started));
    }

    /// <summary>Records a store that threw (a bug, not an outage) and lets the exception continue.</summary>
    private bool Fail(System.Diagnostics.Activity? activity, string operation, Exception ex, long started)
    {
        activity.SetFailure(Outcomes.Failure, ex.GetType().FullName ?? "exception");
        metrics.SessionStoreOperation(operation, Current.Kind, Outcomes.Failure, timeProvider.GetElapsedTime(started));
        return false;
    }

    private sealed record Selection(ISessionStore Store, string Kind);
}
