using Bff.Errors;
using Bff.Provider;
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
    TimeSpan RetryAfter = default,
    string? DPoPThumbprint = null)
{
    public static RefreshResult Ready(UserSession session, TokenTarget target, string authorization, RefreshReport report, string? dpopKey = null) =>
        new(RefreshOutcome.Ready, target, report, session, authorization, DPoPThumbprint: dpopKey);

    /// <summary>Ready with the session's own access token.</summary>
    public static RefreshResult Ready(UserSession session, TokenTarget target, RefreshReport report) =>
        Ready(session, target, session.Tokens.AuthorizationHeader, report, session.Tokens.DPoPKeyThumbprint);

    /// <summary>Ready with a cached resource token.</summary>
    public static RefreshResult Ready(UserSession session, TokenTarget target, CachedToken token, RefreshReport report) =>
        Ready(session, target, token.Authorization, report, token.DPoPThumbprint);

    /// <summary>The session was removed meanwhile (logout, another flight's rejection, back-channel logout).</summary>
    public static RefreshResult SessionGone(TokenTarget target) =>
        new(RefreshOutcome.SessionEnded, target, new(Outcomes.NotFound));

    public static RefreshResult StoreUnavailable(TokenTarget target, string errorType) =>
        new(RefreshOutcome.StoreUnavailable, target, new(Outcomes.StoreUnavailable, errorType), RetryAfter: BffError.SessionStoreUnavailable.RetryAfter ?? default);

    public static RefreshResult ProviderUnavailable(TokenTarget target, TimeSpan retryAfter, string errorType) =>
        new(RefreshOutcome.ProviderUnavailable, target, new(Outcomes.ProviderUnavailable, errorType), RetryAfter: retryAfter);
}
