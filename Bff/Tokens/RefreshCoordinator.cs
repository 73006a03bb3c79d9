using Bff.Observability;
using Bff.Provider;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// Spends a session's refresh token at most once at a time. All concurrent requests of one session share one
/// refresh "flight" (<see cref="SingleFlight{TKey, TResult}"/> keyed by the session key), so a burst of calls on an
/// expiring token causes exactly one token request and all of them get its result. Sessions never share a flight, so
/// users never receive each other's tokens.
/// <para>
/// Inside a flight: take the session's <see cref="IRefreshLock"/> (a no-op in one process, a distributed lock across
/// replicas) and refresh under it (<see cref="SessionRefresher"/>), or, while another replica holds it, wait for that
/// replica's result (<see cref="ReplicaRefreshWait"/>). A flight belongs to no request: a caller that goes away does
/// not cancel it, because the provider may already have rotated the refresh token and the result must be saved.
/// </para>
/// <para>
/// Telemetry follows flights, not requests: one <c>bff.token.refresh</c> span and one <c>bff.token.refreshes</c>
/// count per flight, with its outcome; a flight that waits for another replica's refresh also counts a lock wait.
/// </para>
/// </summary>
internal sealed class RefreshCoordinator(
    IRefreshLock refreshLock,
    SessionRefresher refresher,
    ReplicaRefreshWait otherReplica,
    UnsavedRefreshes unsaved,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<RefreshCoordinator> logger)
{
    /// <summary>
    /// The refresh lock's lease: short, so that a holder that died frees the session quickly, and renewed by a live
    /// holder for as long as its provider call and save take.
    /// </summary>
    public static readonly TimeSpan LockTtl = TimeSpan.FromSeconds(5);

    /// <summary>One token call (<see cref="ProviderHttp.Timeout"/>) and the waits for another replica's lease around it.</summary>
    private static readonly TimeSpan FlightBudget = ProviderHttp.Timeout + LockTtl + LockTtl;

    private readonly SingleFlight<string, RefreshResult> _flights = new(StringComparer.Ordinal);

    /// <summary>Flights in progress (for tests and diagnostics).</summary>
    public int FlightsInProgress => _flights.Count;

    /// <summary>
    /// Joins the session's flight in progress, or starts one for <paramref name="target"/>. A joined flight may be for
    /// another target of the same session: the caller checks <see cref="RefreshResult.Target"/> and asks again, which
    /// keeps every use of one refresh token strictly sequential.
    /// </summary>
    public Task<RefreshResult> RefreshAsync(UserSession session, TokenTarget target) =>
        _flights.Join(session.Key, (Coordinator: this, Session: session, Target: target),
            static (_, flight) => flight.Coordinator.RunAsync(flight.Session, flight.Target));

    private async Task<RefreshResult> RunAsync(UserSession seen, TokenTarget target)
    {
        // The span ends before the waiting requests resume, so it is complete when their responses are.
        using var activity = BffActivitySource.StartRefresh(seen.LogId);
        var started = timeProvider.GetTimestamp();
        RefreshReport report = default;
        try
        {
            var result = await FlyAsync(seen, target);
            report = result.Report;
            return result;
        }
        catch (Exception ex)
        {
            report = new RefreshReport(Outcomes.Failure, ex.GetType().FullName);
            throw;
        }
        finally
        {
            if (report.ErrorType is { } errorType)
            {
                activity.SetFailure(report.Outcome, errorType);
            }
            else
            {
                activity.SetOutcome(report.Outcome);
            }

            metrics.RefreshCompleted(report.Outcome, timeProvider.GetElapsedTime(started));
        }
    }

    private async Task<RefreshResult> FlyAsync(UserSession seen, TokenTarget target)
    {
        using var budget = new CancellationTokenSource(FlightBudget, timeProvider);
        var cancellationToken = budget.Token;
        var sessionId = SessionKey.Id(seen.Key);
        long? waitStarted = null;
        try
        {
            while (true)
            {
                if (unsaved.IsPending(seen.Key))
                {
                    // This replica holds the session's only valid tokens, waiting for the store: nothing to spend.
                    return RefreshResult.StoreUnavailable(target, RefreshErrors.SaveFailed);
                }

                var lease = await refreshLock.TryAcquireAsync(sessionId, LockTtl, cancellationToken);
                if (lease is null)
                {
                    if (target.IsDefault && seen.Tokens.AccessTokenExpiresAt > timeProvider.GetUtcNow())
                    {
                        // Another replica is renewing it (or died holding the lock): the token still works until it
                        // expires, so the call does not wait for that replica.
                        BffLog.RefreshLockedElsewhere(logger, seen.LogId);
                        return RefreshResult.Ready(seen, target, new(Outcomes.LockedElsewhere));
                    }

                    waitStarted ??= timeProvider.GetTimestamp();
                    var (settled, latest) = await otherReplica.AwaitAsync(seen, sessionId, target, cancellationToken);
                    if (settled is not null)
                    {
                        return settled;
                    }

                    seen = latest;
                    continue;
                }

                return await refresher.RefreshAsync(seen, target, lease, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            BffLog.RefreshTimedOut(logger, seen.LogId);
            return RefreshResult.ProviderUnavailable(target, TokenEndpointClient.Cooldown, RefreshErrors.Timeout);
        }
        finally
        {
            if (waitStarted is { } started)
            {
                metrics.RefreshLockWaited(timeProvider.GetElapsedTime(started));
            }
        }
    }
}
