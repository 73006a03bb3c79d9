using Bff.Configuration;
using Bff.Csrf;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Bff.Endpoints;

/// <summary>One of the signed-in user's sessions, as <c>GET /bff/sessions</c> shows it. Never a token, the cookie value or the store id.</summary>
/// <param name="Handle">Names the session to <c>DELETE /bff/sessions/{handle}</c> (<see cref="SessionHandle"/>).</param>
/// <param name="LastUsedAt">
/// When a request last used it, to within a minute (sliding writes at most once a minute); in the session's last idle
/// timeout before its absolute limit, a lower bound.
/// </param>
internal sealed record SessionView(
    string Handle,
    bool Current,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? AbsoluteExpiresAt,
    string? Device);

internal sealed record SessionsResponse(IReadOnlyList<SessionView> Sessions);

internal sealed record SessionsEndedResponse(int Ended);

/// <summary>
/// The signed-in user's own sessions, each with <c>X-CSRF: 1</c> as <c>/bff/user</c>: <c>GET /bff/sessions</c> lists
/// them, <c>DELETE /bff/sessions/{handle}</c> ends one of the others, <c>DELETE /bff/sessions</c> ends all the others.
/// Ending goes through <see cref="SessionTermination"/> (revoking the refresh tokens); this request's own session is
/// ended by logout, never here.
/// </summary>
internal static class SessionsEndpoint
{
    public const string Path = "/bff/sessions";

    public static async Task<Results<Ok<SessionsResponse>, ProblemHttpResult, RetryAfterProblem>> ListAsync(
        HttpContext context, SessionResolver resolver, ISessionStore store, BffMetrics metrics, IOptions<BffOptions> options)
    {
        var (session, refusal) = await SignedInAsync(context, resolver, metrics);
        if (session is null)
        {
            if (refusal!.RetryAfter is not null)
            {
                return BffProblem.WithRetryAfter(refusal);
            }

            return BffProblem.Result(refusal);
        }

        var list = await store.ListOfSubjectAsync(session.Subject, context.RequestAborted);
        if (list.Outcome != StoreOutcome.Ok)
        {
            return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
        }

        var idle = options.Value.Session.IdleTimeout;
        var current = session.Id;
        var views = list.Sessions.Select(s => View(s, idle, string.Equals(s.Id, current, StringComparison.Ordinal))).ToList();
        if (!views.Any(v => v.Current))
        {
            // Found by this request a moment ago: a list read from a replica lagging behind still shows it.
            views.Add(View(new SessionSummary(current, session.CreatedAt, session.ExpiresAt, session.AbsoluteExpiresAt, session.Device), idle, current: true));
        }

        return TypedResults.Ok(new SessionsResponse(views));
    }

    public static async Task<Results<NoContent, ProblemHttpResult, RetryAfterProblem>> EndOneAsync(
        string handle, HttpContext context, SessionResolver resolver, ISessionStore store, SessionTermination termination, BffMetrics metrics)
    {
        var (session, refusal) = await SignedInAsync(context, resolver, metrics);
        if (session is null)
        {
            if (refusal!.RetryAfter is not null)
            {
                return BffProblem.WithRetryAfter(refusal);
            }

            return BffProblem.Result(refusal);
        }

        if (!SessionHandle.IsWellFormed(handle))
        {
            return BffProblem.Result(BffError.SessionNotFound);
        }

        if (string.Equals(handle, SessionHandle.For(session.Id), StringComparison.Ordinal))
        {
            return BffProblem.Result(BffError.CurrentSession);
        }

        var list = await store.ListOfSubjectAsync(session.Subject, context.RequestAborted);
        if (list.Outcome != StoreOutcome.Ok)
        {
            return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
        }

        var target = list.Sessions.FirstOrDefault(s => string.Equals(SessionHandle.For(s.Id), handle, StringComparison.Ordinal));
        if (target is null)
        {
            return BffProblem.Result(BffError.SessionNotFound);
        }

        var ended = await termination.EndAsync(
            session.Subject, SessionSelection.One(target.Id), TelemetryNames.SessionEndReasons.Revoked, revokeTokens: true, context.RequestAborted);
        return ended.Outcome switch
        {
            StoreOutcome.Ok when ended.Ended > 0 => TypedResults.NoContent(),
            StoreOutcome.Ok => BffProblem.Result(BffError.SessionNotFound),
            _ => BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable),
        };
    }

    public static async Task<Results<Ok<SessionsEndedResponse>, ProblemHttpResult, RetryAfterProblem>> EndOthersAsync(
        HttpContext context, SessionResolver resolver, SessionTermination termination, BffMetrics metrics)
    {
        var (session, refusal) = await SignedInAsync(context, resolver, metrics);
        if (session is null)
        {
            if (refusal!.RetryAfter is not null)
            {
                return BffProblem.WithRetryAfter(refusal);
            }

            return BffProblem.Result(refusal);
        }

        var ended = await termination.EndAsync(
            session.Subject, SessionSelection.AllBut(session.Id), TelemetryNames.SessionEndReasons.Revoked, revokeTokens: true, context.RequestAborted);
        return ended.Outcome == StoreOutcome.Ok
            ? TypedResults.Ok(new SessionsEndedResponse(ended.Ended))
            : BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
    }

    private static SessionView View(SessionSummary summary, TimeSpan idleTimeout, bool current)
    {
        var lastUsed = summary.ExpiresAt - idleTimeout;
        return new SessionView(
            SessionHandle.For(summary.Id),
            current,
            summary.CreatedAt,
            lastUsed > summary.CreatedAt ? lastUsed : summary.CreatedAt,
            summary.ExpiresAt,
            summary.AbsoluteExpiresAt,
            summary.Device);
    }

    /// <summary>The request's session, after the same CSRF rule as <c>/bff/user</c>; or the refusal to answer.</summary>
    private static async Task<(UserSession? Session, BffError? Refusal)> SignedInAsync(HttpContext context, SessionResolver resolver, BffMetrics metrics)
    {
        if (!CsrfHeader.IsPresent(context.Request))
        {
            metrics.CsrfRejected(Path);
            return (null, BffError.CsrfHeaderMissing);
        }

        var lookup = await resolver.ResolveAsync(context);
        return lookup.Status switch
        {
            SessionLookupStatus.Found => (lookup.Session, null),
            SessionLookupStatus.Unavailable => (null, BffError.SessionStoreUnavailable),
            _ => (null, BffError.Unauthenticated),
        };
    }
}
