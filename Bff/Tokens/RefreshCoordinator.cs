using System.Collections.Concurrent;
using Bff.Authentication;
using Bff.Observability;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

internal enum RefreshOutcome
{
    /// <summary><see cref="RefreshResult.Authorization"/> holds a usable token for the flight's target.</summary>
    Ready,

    /// <summary>The session is gone (refresh token rejected, logged out meanwhile, nothing left to refresh with).</summary>
    SessionEnded,

    /// <summary>The provider is down or refused the client; the session and its refresh token are kept.</summary>
    ProviderUnavailable,

    /// <summary>The session store failed while reading or saving; nothing was forwarded.</summary>
    StoreUnavailable,
}

/// <summary>
/// How a flight ended, for its span and the refresh metrics: an <see cref="Outcomes"/> value and, when the flight
/// failed, a <see cref="RefreshErrors"/> value.
/// </summary>
internal readonly record struct RefreshReport(string Outcome, string? ErrorType = null);

internal sealed record RefreshResult(
    RefreshOutcome Outcome,
    TokenTarget Target,
    RefreshReport Report,
    UserSession? Session = null,
    string? Authorization = null,
    TimeSpan RetryAfter = default);

/// <summary>
/// Spends a session's refresh token at most once at a time. All concurrent requests of one session share one
/// refresh "flight" (a Task kept in a dictionary keyed by the session key until it completes), so a burst of calls on
/// an expiring token causes exactly one token request and all of them get its result. Sessions never share a flight,
/// so users never receive each other's tokens.
/// <para>
/// Inside a flight: take the session's <see cref="IRefreshLock"/> (a no-op in one process, a distributed lock across
/// replicas), re-read the session from the store (someone may have refreshed already, in a flight that just ended
/// or on another replica), and only if its token is still expiring call the provider and save the new tokens with
/// <see cref="TokenSet.Version"/> + 1. A flight belongs to no request: a caller that goes away does not cancel it,
/// because the provider may already have rotated the refresh token and the result must be saved.
/// </para>
/// <para>
/// Telemetry follows flights, not requests: one <c>bff.token.refresh</c> span and one <c>bff.token.refreshes</c>
/// count per flight, with its outcome; a flight that waits for another replica's refresh also counts a lock wait.
/// </para>
/// </summary>
internal sealed class RefreshCoordinator(
    ISessionStore store,
    IRefreshLock refreshLock,
    TokenEndpointClient tokenEndpoint,
    RefreshedIdTokenValidator idTokenValidator,
    ResourceTokenCache resourceTokens,
    RefreshWindow refreshWindow,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<RefreshCoordinator> logger)
{
    /// <summary>Longer than one token call (<see cref="ProviderHttp.Timeout"/>) plus the store write.</summary>
    public static readonly TimeSpan LockTtl = ProviderHttp.Timeout + TimeSpan.FromSeconds(10);

    /// <summary>How often a flight waiting for another replica's refresh re-reads the session.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan FlightBudget = LockTtl + LockTtl;
    private static readonly int MaxWaits = (int)(LockTtl / PollInterval);

    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);

    /// <summary>
    /// Sessions whose refresh token was redeemed (or rejected) but whose removal from the store failed, with the
    /// token version concerned: that refresh token is never sent to the provider again.
    /// </summary>
    private readonly ConcurrentDictionary<string, long> _spent = new(StringComparer.Ordinal);

    /// <summary>Flights in progress (for tests and diagnostics).</summary>
    public int FlightsInProgress => _flights.Count;

    /// <summary>
    /// Joins the session's flight in progress, or starts one for <paramref name="target"/>. A joined flight may be for
    /// another target of the same session: the caller checks <see cref="RefreshResult.Target"/> and asks again, which
    /// keeps every use of one refresh token strictly sequential.
    /// </summary>
    public Task<RefreshResult> RefreshAsync(UserSession session, TokenTarget target)
    {
        while (true)
        {
            if (_flights.TryGetValue(session.Key, out var running))
            {
                return running.Completion;
            }

            var flight = new Flight(target);
            if (_flights.TryAdd(session.Key, flight))
            {
                _ = RunAsync(session, flight);
                return flight.Completion;
            }
        }
    }

    private async Task RunAsync(UserSession seen, Flight flight)
    {
        RefreshResult? result = null;
        Exception? failure = null;

        // The span ends before the waiting requests resume, so it is complete when their responses are.
        using (var activity = BffActivitySource.StartRefresh(seen))
        {
            var started = timeProvider.GetTimestamp();
            try
            {
                result = await FlyAsync(seen, flight.Target);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            var report = result?.Report ?? new RefreshReport(Outcomes.Failure, failure!.GetType().FullName);
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

        // Leave the dictionary before completing: a request arriving from now on starts a new flight, which re-reads
        // the store and finds what this one saved.
        _flights.TryRemove(new KeyValuePair<string, Flight>(seen.Key, flight));
        flight.Complete(result, failure);
    }

    private async Task<RefreshResult> FlyAsync(UserSession seen, TokenTarget target)
    {
        using var budget = new CancellationTokenSource(FlightBudget, timeProvider);
        var cancellationToken = budget.Token;
        var sessionId = SessionKey.Hash(seen.Key);
        try
        {
            while (true)
            {
                var lease = await refreshLock.TryAcquireAsync(sessionId, LockTtl, cancellationToken);
                if (lease is null)
                {
                    var (settled, latest) = await AwaitOtherReplicaAsync(seen, sessionId, target, cancellationToken);
                    if (settled is not null)
                    {
                        return settled;
                    }

                    seen = latest;
                    continue;
                }

                await using (lease)
                {
                    return await RefreshUnderLockAsync(seen, target, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            BffLog.RefreshTimedOut(logger, seen.LogId);
            return ProviderUnavailable(target, TokenEndpointClient.Cooldown, RefreshErrors.Timeout);
        }
    }

    /// <summary>
    /// Another replica holds the lock: re-read the session until its token version changes (that replica's result),
    /// for at most <see cref="LockTtl"/>. Returns no result when the caller should try to take the lock again.
    /// </summary>
    private async Task<(RefreshResult? Settled, UserSession Latest)> AwaitOtherReplicaAsync(
        UserSession seen, string sessionId, TokenTarget target, CancellationToken cancellationToken)
    {
        var waitStarted = timeProvider.GetTimestamp();
        try
        {
            var deadline = timeProvider.GetUtcNow() + LockTtl;
            for (var wait = 0; wait < MaxWaits && timeProvider.GetUtcNow() < deadline; wait++)
            {
                await refreshLock.WaitAsync(sessionId, cancellationToken);
                var lookup = await store.FindAsync(seen.Key, cancellationToken);
                switch (lookup.Status)
                {
                    case SessionLookupStatus.Unavailable:
                        return (StoreUnavailable(target, RefreshErrors.ReadFailed), seen);
                    case SessionLookupStatus.Found:
                        var current = lookup.Session!;
                        if (current.Tokens.Version == seen.Tokens.Version)
                        {
                            continue;
                        }

                        BffLog.RefreshedElsewhere(logger, current.LogId);
                        var tokens = current.Tokens;
                        if (target.IsDefault && !refreshWindow.IsDue(tokens, timeProvider.GetUtcNow()))
                        {
                            return (Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.RefreshedElsewhere)), current);
                        }

                        // The other replica rotated the refresh token for another target: refresh ourselves, with the new one.
                        return (null, current);
                    default:
                        return (SessionGone(target), seen);
                }
            }

            BffLog.RefreshLockWaitExpired(logger, seen.LogId);
            return (null, seen);
        }
        finally
        {
            metrics.RefreshLockWaited(timeProvider.GetElapsedTime(waitStarted));
        }
    }

    private async Task<RefreshResult> RefreshUnderLockAsync(UserSession seen, TokenTarget target, CancellationToken cancellationToken)
    {
        var lookup = await store.FindAsync(seen.Key, cancellationToken);
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            return StoreUnavailable(target, RefreshErrors.ReadFailed);
        }

        if (lookup.Session is not { } current)
        {
            return SessionGone(target);
        }

        var now = timeProvider.GetUtcNow();
        var tokens = current.Tokens;
        if (target.IsDefault && !refreshWindow.IsDue(tokens, now))
        {
            if (tokens.Version != seen.Tokens.Version)
            {
                BffLog.RefreshedElsewhere(logger, current.LogId);
            }

            return Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.RefreshedElsewhere));
        }

        if (!target.IsDefault && resourceTokens.TryGet(current.Key, target, now, refreshWindow, out var cached))
        {
            return Ready(current, target, cached, new(Outcomes.RefreshedElsewhere));
        }

        if (_spent.TryGetValue(current.Key, out var spentVersion) && spentVersion == tokens.Version)
        {
            // Replaying a redeemed refresh token looks like token theft to the provider, which may revoke the grant.
            return await EndSessionAsync(current, target, "its refresh token was already spent",
                new(Outcomes.Rejected, RefreshErrors.RefreshTokenSpent), SessionEndReasons.RefreshRejected);
        }

        if (tokens.RefreshToken is null)
        {
            if (target.IsDefault && tokens.AccessTokenExpiresAt > now)
            {
                return Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.NoRefreshToken));
            }

            return await EndSessionAsync(current, target, "no refresh token to renew its access token",
                new(Outcomes.NoRefreshToken), SessionEndReasons.Expired);
        }

        var refusedFor = resourceTokens.RefusedFor(current.Key, target, now);
        var call = refusedFor > TimeSpan.Zero
            ? new TokenCallResult(TokenCallStatus.Refused, null, refusedFor)
            : await tokenEndpoint.RefreshAsync(tokens.RefreshToken, target, cancellationToken);
        switch (call.Status)
        {
            case TokenCallStatus.GrantRejected:
                BffLog.RefreshRejected(logger, current.LogId);
                return await EndSessionAsync(current, target, "the provider rejected its refresh token",
                    new(Outcomes.Rejected, RefreshErrors.InvalidGrant), SessionEndReasons.RefreshRejected);
            case TokenCallStatus.Unavailable or TokenCallStatus.Refused or TokenCallStatus.ClientRejected:
                var errorType = call.Status switch
                {
                    TokenCallStatus.Refused => RefreshErrors.Refused,
                    TokenCallStatus.ClientRejected => RefreshErrors.ClientRejected,
                    _ => RefreshErrors.Unavailable,
                };
                if (call.Status == TokenCallStatus.Refused && refusedFor == TimeSpan.Zero)
                {
                    // The refresh token was not spent, but asking again for the same target would only be refused again.
                    resourceTokens.Refuse(current.Key, target, now + call.RetryAfter);
                }

                if (target.IsDefault && tokens.AccessTokenExpiresAt > now)
                {
                    // Renewing early failed, but the token still works: use it rather than fail the call.
                    BffLog.RefreshDeferred(logger, current.LogId);
                    return Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.ProviderUnavailable, errorType));
                }

                return ProviderUnavailable(target, call.RetryAfter > TimeSpan.Zero ? call.RetryAfter : TokenEndpointClient.Cooldown, errorType);
        }

        var issued = call.Tokens!;

        // An ID token that fails the sign-in's checks makes the whole response untrustworthy (another user's tokens, or
        // not the provider's), and the old refresh token is spent: nothing of it is saved or forwarded, the session
        // ends. Not cancellable, like the save below. Without an id_token the session's own is kept.
        if (issued.IdToken is { } idToken
            && await idTokenValidator.ValidateAsync(idToken, current.Subject, tokens.IdToken, CancellationToken.None) is { } refusal)
        {
            BffLog.RefreshedIdTokenRefused(logger, current.LogId, refusal.Reason);
            return await EndSessionAsync(current, target, "the refreshed ID token was refused",
                new(Outcomes.Rejected, refusal.Mismatch ? RefreshErrors.IdTokenMismatch : RefreshErrors.IdTokenInvalid),
                SessionEndReasons.RefreshRejected);
        }

        var expiresAt = now + issued.Lifetime;
        TokenSet? renewed = null;
        if (target.IsDefault)
        {
            renewed = new TokenSet
            {
                AccessToken = issued.AccessToken,
                AccessTokenExpiresAt = expiresAt,
                AccessTokenLifetime = issued.Lifetime,
                RefreshToken = issued.RefreshToken ?? tokens.RefreshToken,
                IdToken = issued.IdToken ?? tokens.IdToken,
                Version = tokens.Version + 1,
            };
        }
        else if (issued.RefreshToken is { } rotated && !string.Equals(rotated, tokens.RefreshToken, StringComparison.Ordinal))
        {
            // A resource token leaves the session's own access token alone, but a rotated refresh token must be kept.
            renewed = tokens with { RefreshToken = rotated, IdToken = issued.IdToken ?? tokens.IdToken, Version = tokens.Version + 1 };
        }

        var session = current;
        if (renewed is not null)
        {
            session = current with { Tokens = renewed };

            // Not cancellable: the provider has already spent the old refresh token, so this write must finish.
            var saved = await store.ReplaceAsync(session, CancellationToken.None);
            if (saved == StoreOutcome.NotFound)
            {
                return SessionGone(target);
            }

            if (saved == StoreOutcome.Unavailable)
            {
                // Fail closed: never forward tokens that were not saved, and never replay the spent refresh token.
                BffLog.RefreshNotSaved(logger, current.LogId);
                if (await RemoveSpentSessionAsync(current))
                {
                    metrics.SessionEnded(SessionEndReasons.RefreshRejected);
                }

                return StoreUnavailable(target, RefreshErrors.SaveFailed);
            }

            BffLog.TokensRefreshed(logger, current.LogId, renewed.Version, target.ToString());
        }

        var authorization = "Bearer " + issued.AccessToken;
        if (!target.IsDefault)
        {
            resourceTokens.Set(current.Key, target, new CachedToken(authorization, expiresAt, issued.Lifetime));
        }

        return Ready(session, target, authorization, new(Outcomes.Refreshed));
    }

    /// <param name="endReason">The <see cref="SessionEndReasons"/> value counted when the session is removed.</param>
    private async Task<RefreshResult> EndSessionAsync(UserSession session, TokenTarget target, string reason, RefreshReport report, string endReason)
    {
        // Counted once, by whoever removes it: a failed removal is retried by the next flight (the spent-token check).
        if (await RemoveSpentSessionAsync(session))
        {
            metrics.SessionEnded(endReason);
        }

        BffLog.SessionEnded(logger, session.LogId, reason);
        return new RefreshResult(RefreshOutcome.SessionEnded, target, report);
    }

    /// <summary>Returns whether this call removed the session from the store.</summary>
    private async Task<bool> RemoveSpentSessionAsync(UserSession session)
    {
        _spent[session.Key] = session.Tokens.Version;
        resourceTokens.RemoveSession(session.Key);
        var removed = await store.RemoveAsync(session.Key, CancellationToken.None);
        if (removed == StoreOutcome.Ok)
        {
            _spent.TryRemove(new KeyValuePair<string, long>(session.Key, session.Tokens.Version));
        }

        return removed == StoreOutcome.Ok;
    }

    private static RefreshResult Ready(UserSession session, TokenTarget target, string authorization, RefreshReport report) =>
        new(RefreshOutcome.Ready, target, report, session, authorization);

    /// <summary>The session was removed meanwhile (logout, another flight's rejection, back-channel logout).</summary>
    private static RefreshResult SessionGone(TokenTarget target) =>
        new(RefreshOutcome.SessionEnded, target, new(Outcomes.NotFound));

    private static RefreshResult StoreUnavailable(TokenTarget target, string errorType) =>
        new(RefreshOutcome.StoreUnavailable, target, new(Outcomes.StoreUnavailable, errorType));

    private static RefreshResult ProviderUnavailable(TokenTarget target, TimeSpan retryAfter, string errorType) =>
        new(RefreshOutcome.ProviderUnavailable, target, new(Outcomes.ProviderUnavailable, errorType), RetryAfter: retryAfter);

    private sealed class Flight(TokenTarget target)
    {
        private readonly TaskCompletionSource<RefreshResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TokenTarget Target { get; } = target;

        public Task<RefreshResult> Completion => _completion.Task;

        public void Complete(RefreshResult? result, Exception? failure)
        {
            if (failure is not null)
            {
                _completion.TrySetException(failure);
            }
            else
            {
                _completion.TrySetResult(result!);
            }
        }
    }
}
