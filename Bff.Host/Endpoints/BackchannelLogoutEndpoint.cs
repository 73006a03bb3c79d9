using Bff.Authentication;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Bff.Endpoints;

/// <summary>
/// <c>POST /bff/backchannel</c>: OpenID Connect Back-Channel Logout 1.0. The provider posts a logout token
/// (<c>application/x-www-form-urlencoded</c>, field <c>logout_token</c>) when a user's provider session ends; the
/// gateway ends that user's sessions in the shared store, so their cookies answer 401 on every replica.
/// No cookie and no CSRF header: the caller is the provider's server, and the signed token is the credential.
/// </summary>
internal static class BackchannelLogoutEndpoint
{
    public const string Path = "/bff/backchannel";

    /// <summary>A logout token is a few hundred bytes to a couple of kilobytes.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public static async Task<Results<Ok, ProblemHttpResult, RetryAfterProblem>> HandleAsync(
        HttpContext context,
        LogoutTokenValidator validator,
        ISessionStore store,
        ITokenReplayCache seenTokens,
        ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger(typeof(BackchannelLogoutEndpoint));
        var request = context.Request;
        if (!IsUrlEncodedForm(request))
        {
            return Reject(logger, "not an application/x-www-form-urlencoded POST");
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return BffProblem.Result(BffError.RequestTooLarge);
        }

        var body = await ReadBodyAsync(request, context.RequestAborted);
        if (body is null)
        {
            return BffProblem.Result(BffError.RequestTooLarge);
        }

        var form = new FormReader(body).ReadForm();
        if (!form.TryGetValue("logout_token", out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return Reject(logger, "no single logout_token field");
        }

        var validation = await validator.ValidateAsync(values[0]!, context.RequestAborted);
        if (validation.Request is not { } logout)
        {
            if (validation.Error != BffError.InvalidLogoutToken)
            {
                BffLog.BackchannelLogoutFailed(logger, validation.Reason!);
                return BffProblem.WithRetryAfter(validation.Error!, RetryAfter);
            }

            return Reject(logger, validation.Reason!);
        }

        switch (await seenTokens.TryUseAsync(logout.TokenId, logout.RememberFor, context.RequestAborted))
        {
            case ReplayCheck.Replayed:
                return Reject(logger, "jti already used");
            case ReplayCheck.Unavailable:
                BffLog.BackchannelLogoutFailed(logger, "the session store is unavailable");
                return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable, RetryAfter);
        }

        var removed = await store.RemoveByProviderSessionAsync(logout.Subject, logout.ProviderSessionId, context.RequestAborted);
        if (removed.Outcome != StoreOutcome.Ok)
        {
            // The provider may retry with the same token: let it.
            await seenTokens.ForgetAsync(logout.TokenId, context.RequestAborted);
            BffLog.BackchannelLogoutFailed(logger, "the session store is unavailable");
            return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable, RetryAfter);
        }

        BffLog.BackchannelLogoutCompleted(
            logger,
            removed.Removed,
            logout.ProviderSessionId is null ? "-" : SessionKey.LogId(logout.ProviderSessionId),
            logout.Subject is null ? "-" : SessionKey.LogId(logout.Subject));
        return TypedResults.Ok();
    }

    private static ProblemHttpResult Reject(ILogger logger, string reason)
    {
        BffLog.BackchannelLogoutRejected(logger, reason);
        return BffProblem.Result(BffError.InvalidLogoutToken);
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
