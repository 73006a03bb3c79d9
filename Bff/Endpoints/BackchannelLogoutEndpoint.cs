using Bff.Errors;
using Bff.Observability;
using Bff.Provider;
using Bff.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Bff.Endpoints;

/// <summary>
/// <c>POST /bff/backchannel</c>: OpenID Connect Back-Channel Logout 1.0. The provider posts a logout token
/// (<c>application/x-www-form-urlencoded</c>, field <c>logout_token</c>) when a user's provider session ends; the
/// gateway ends that user's sessions in the shared store, so their cookies answer 401 on every replica, and their
/// pages' event streams get <c>ended</c> (<c>backchannel</c>).
/// No cookie and no CSRF header: the caller is the provider's server, and the signed token is the credential.
/// Every answer records its outcome on the request's <c>bff.backchannel_logout</c> span and in
/// <c>bff.backchannel_logouts</c>; the sessions it ends count as <c>bff.sessions.ended{reason=backchannel}</c>.
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    public const string Path = "/bff/backchannel";

    /// <summary>A logout token is a few hundred bytes to a couple of kilobytes.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    public static async Task<Results<Ok, ProblemHttpResult, RetryAfterProblem>> HandleAsync(
        HttpContext context,
        LogoutTokenValidator validator,
        ISessionStore store,
        ITokenReplayCache seenTokens,
        ISessionEvents events,
        BffMetrics metrics,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(BackchannelLogoutEndpoint));
        var request = context.Request;
        if (!IsUrlEncodedForm(request))
        {
            return Reject(context, metrics, logger, "not an application/x-www-form-urlencoded POST");
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return Refuse(context, metrics, BffError.RequestTooLarge);
        }

        var body = await ReadBodyAsync(request, context.RequestAborted);
        if (body is null)
        {
            return Refuse(context, metrics, BffError.RequestTooLarge);
        }

        var form = new FormReader(body).ReadForm();
        if (!form.TryGetValue("logout_token", out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return Reject(context, metrics, logger, "no single logout_token field");
        }

        var validation = await validator.ValidateAsync(values[0]!, context.RequestAborted);
        if (validation.Request is not { } logout)
        {
            if (validation.Error != BffError.InvalidLogoutToken)
            {
                return Unavailable(context, metrics, logger, validation.Error!, validation.Reason!);
            }

            return Reject(context, metrics, logger, validation.Reason!);
        }

        switch (await seenTokens.TryUseAsync(logout.TokenId, logout.RememberFor, context.RequestAborted))
        {
            case ReplayCheck.Replayed:
                return Reject(context, metrics, logger, "jti already used");
            case ReplayCheck.Unavailable:
                return Unavailable(context, metrics, logger, BffError.SessionStoreUnavailable, "the session store is unavailable");
        }

        var removed = await store.RemoveByProviderSessionAsync(logout.Subject, logout.ProviderSessionId, context.RequestAborted);
        if (removed.Outcome != StoreOutcome.Ok)
        {
            // The provider may retry with the same token: let it.
            await seenTokens.ForgetAsync(logout.TokenId, context.RequestAborted);
            return Unavailable(context, metrics, logger, BffError.SessionStoreUnavailable, "the session store is unavailable");
        }

        if (removed.Removed > 0)
        {
            await events.PublishEndedForUserAsync(logout.Subject, logout.ProviderSessionId, SessionEndReason.Backchannel);
        }

        BffLog.BackchannelLogoutCompleted(
            logger,
            removed.Removed,
            logout.ProviderSessionId is null ? "-" : SessionKey.LogId(logout.ProviderSessionId),
            logout.Subject is null ? "-" : SessionKey.LogId(logout.Subject));
        context.SetBffOutcome(TelemetryNames.Outcomes.Success);
        context.SetBffSessionsRemoved(removed.Removed);
        metrics.BackchannelLogout(TelemetryNames.Outcomes.Success);
        metrics.SessionEnded(TelemetryNames.SessionEndReasons.Backchannel, removed.Removed);
        return TypedResults.Ok();
    }

    private static ProblemHttpResult Reject(HttpContext context, BffMetrics metrics, ILogger logger, string reason)
    {
        BffLog.BackchannelLogoutRejected(logger, reason);
        return Refuse(context, metrics, BffError.InvalidLogoutToken);
    }

    /// <summary>The request carried no usable logout token (invalid, replayed, not a form, too large): 4xx, ends nothing.</summary>
    private static ProblemHttpResult Refuse(HttpContext context, BffMetrics metrics, BffError error)
    {
        context.SetBffFailure(error);
        metrics.BackchannelLogout(TelemetryNames.Outcomes.InvalidToken);
        return BffProblem.Result(error);
    }

    /// <summary>The provider's keys or the session store could not be reached: 503, and the provider may retry.</summary>
    private static RetryAfterProblem Unavailable(HttpContext context, BffMetrics metrics, ILogger logger, BffError error, string reason)
    {
        BffLog.BackchannelLogoutFailed(logger, reason);
        context.SetBffFailure(error);
        metrics.BackchannelLogout(TelemetryNames.Outcomes.Unavailable);
        return BffProblem.WithRetryAfter(error);
    }

    private static bool IsUrlEncodedForm(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
        && mediaType.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The body as text, or null when it is longer than <see cref="MaxBodyBytes"/> (a chunked body has no Content-Length to check first).</summary>
    private static async Task<string?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > MaxBodyBytes ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, length);
    }
}
