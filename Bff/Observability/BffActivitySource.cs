using Bff.Configuration;
using System.Diagnostics;
using static Bff.Observability.TelemetryNames;

namespace Bff.Observability;

/// <summary>
/// The gateway's spans (ActivitySource <c>"Bff"</c>). How to use it:
/// <code>
/// // A gateway request (login, callback, logout, signed-out callback, back-channel logout) already has its span:
/// // OperationTracingMiddleware opens it around the whole request. Say how it ended:
/// context.SetBffOutcome(TelemetryNames.Outcomes.Success);
/// context.SetBffFailure(BffError.LoginFailed);                  // outcome=failure, error.type=login_failed, status Error
///
/// // A token refresh flight (RefreshCoordinator, ClientTokenCache) opens its own span and records its outcome:
/// using var activity = BffActivitySource.StartRefresh(session);
/// ... activity.SetOutcome(TelemetryNames.Outcomes.Refreshed);   // or .SetFailure(TelemetryNames.Outcomes.Rejected, "invalid_grant")
///
/// // Session store calls are traced by InstrumentedSessionStore; nothing to do in a store implementation.
/// </code>
/// Every Start method returns null when nobody listens, and every extension accepts null, so callers never branch.
/// Attributes never carry a token, code, key or URL: sessions appear as hashes (<c>SessionKey.LogId</c>).
/// </summary>
internal static class BffActivitySource
{
    public static readonly ActivitySource Source = new(
        ActivitySourceName, typeof(BffActivitySource).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Opens <c>bff.token.refresh</c> for one refresh flight of a session: one span however many requests wait for it.
    /// Its parent is the request that started the flight.
    /// </summary>
    public static Activity? StartRefresh(string sessionLogId) =>
        Source.StartActivity(Spans.Refresh)
            ?.SetTag(Attributes.TokenGrant, TokenGrants.RefreshToken)
            .SetTag(Attributes.SessionId, sessionLogId);

    /// <summary>Opens <c>bff.token.refresh</c> for one client-credentials token request (one per target at a time).</summary>
    public static Activity? StartClientCredentials() =>
        Source.StartActivity(Spans.Refresh)?.SetTag(Attributes.TokenGrant, TokenGrants.ClientCredentials);

    /// <summary>Opens <c>bff.session_store.{operation}</c>; the session appears only as its hash, <paramref name="sessionLogId"/>.</summary>
    public static Activity? StartSessionStore(string operation, string kind, string? sessionLogId, DateTimeOffset startTime = default)
    {
        var activity = Source.StartActivity(Spans.SessionStorePrefix + operation, ActivityKind.Client, parentContext: default, startTime: startTime);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(Attributes.SessionStoreOperation, operation);
            activity.SetTag(Attributes.SessionStoreKind, kind);
            if (sessionLogId is not null)
            {
                activity.SetTag(Attributes.SessionId, sessionLogId);
            }
        }

        return activity;
    }

    /// <summary>Opens one of the request-level spans (<see cref="Spans"/>); used by <c>OperationTracingMiddleware</c>, which hands it to <see cref="GatewayOperation"/>.</summary>
    public static Activity? StartOperation(string spanName) => Source.StartActivity(spanName);

    public static Activity? SetOutcome(this Activity? activity, string outcome)
    {
        activity?.SetTag(Attributes.Outcome, outcome);
        return activity;
    }

    /// <summary>Marks the span failed: <c>bff.outcome</c>, <c>error.type</c> (a stable code, never a message) and status Error.</summary>
    public static Activity? SetFailure(this Activity? activity, string outcome, string errorType)
    {
        if (activity is not null)
        {
            activity.SetTag(Attributes.Outcome, outcome);
            activity.SetTag(Attributes.ErrorType, errorType);
            activity.SetStatus(ActivityStatusCode.Error);
        }

        return activity;
    }

    /// <summary>Records which session (<paramref name="sessionLogId"/>, a hash) the span concerned.</summary>
    public static Activity? SetSession(this Activity? activity, string sessionLogId) =>
        activity?.SetTag(Attributes.SessionId, sessionLogId);

    /// <summary>Records how this request's gateway span ended (no-op when the request has none).</summary>
    public static void SetBffOutcome(this HttpContext context, string outcome) =>
        GatewayOperation.Current(context).SetOutcome(outcome);

    /// <summary>Records that this request's gateway operation failed with the error <paramref name="errorCode"/>.</summary>
    public static void SetBffFailureCode(this HttpContext context, string errorCode) =>
        GatewayOperation.Current(context).SetFailure(Outcomes.Failure, errorCode);

    /// <summary>Records how many sessions this request's gateway operation ended (back-channel logout).</summary>
    public static void SetBffSessionsRemoved(this HttpContext context, int count) =>
        GatewayOperation.Current(context)?.SetTag(Attributes.SessionsRemoved, count);

    /// <summary>Records which session this request's gateway operation concerned (<paramref name="sessionLogId"/>, a hash).</summary>
    public static void SetBffSession(this HttpContext context, string sessionLogId) =>
        GatewayOperation.Current(context).SetSession(sessionLogId);
}
