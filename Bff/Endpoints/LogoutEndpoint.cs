using Bff.Provider;
using System.Security.Cryptography;
using System.Text;
using Bff.Authentication;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Bff.Endpoints;

/// <summary>
/// <c>GET /bff/logout?sid=…&amp;returnUrl=/</c>. The <c>sid</c> is the session's public id from <c>/bff/user</c>:
/// a cross-site page cannot read it, so it cannot log the user out behind their back.
/// </summary>
internal static class LogoutEndpoint
{
    public const string Path = "/bff/logout";

    public static string UrlFor(UserSession session) => $"{Path}?sid={session.PublicId}";

    public static async Task<Results<RedirectHttpResult, SignOutHttpResult, ProblemHttpResult, RetryAfterProblem>> HandleAsync(
        string? sid,
        string? returnUrl,
        HttpContext context,
        SessionResolver resolver,
        ISessionStore store,
        SessionCookie cookie,
        TokenRevoker revoker,
        ISessionEvents events,
        ProviderMetadata metadata,
        BffMetrics metrics,
        ILoggerFactory loggerFactory)
    {
        if (!ReturnUrl.TryNormalize(returnUrl ?? ReturnUrl.Default, out var target))
        {
            context.SetBffFailure(BffError.InvalidReturnUrl);
            return BffProblem.Result(BffError.InvalidReturnUrl);
        }

        var logger = loggerFactory.CreateLogger(typeof(LogoutEndpoint));
        var lookup = await resolver.ResolveAsync(context);
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            context.SetBffFailure(BffError.SessionStoreUnavailable);
            return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
        }

        if (lookup.Session is not { } session)
        {
            // Nothing to end (already logged out, expired): logging out again is harmless.
            context.SetBffOutcome(TelemetryNames.Outcomes.NotFound);
            cookie.Delete(context.Response);
            return TypedResults.Redirect(target);
        }

        context.SetBffSession(session.LogId);
        if (!PublicIdMatches(sid, session.PublicId))
        {
            BffLog.LogoutRejected(logger, session.LogId);
            context.SetBffFailure(BffError.InvalidLogoutRequest);
            return BffProblem.Result(BffError.InvalidLogoutRequest);
        }

        var removed = await store.RemoveAsync(session.Key, context.RequestAborted);
        if (removed == StoreOutcome.Unavailable)
        {
            context.SetBffFailure(BffError.SessionStoreUnavailable);
            return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
        }

        cookie.Delete(context.Response);
        SessionResolver.Remember(context, SessionLookup.NotFound);
        // Every open tab of this session, on every replica, switches to signed out.
        await events.PublishEndedAsync(session.Id, SessionEndReason.Logout);
        BffLog.SessionEnded(logger, session.LogId, TelemetryNames.SessionEndReasons.Logout);
        metrics.SessionEnded(TelemetryNames.SessionEndReasons.Logout);
        context.SetBffOutcome(TelemetryNames.Outcomes.Success);

        await revoker.RevokeAsync(session.Tokens, session.LogId, context.RequestAborted);

        var provider = await metadata.GetAsync(context.RequestAborted);
        if (string.IsNullOrEmpty(provider.Configuration?.EndSessionEndpoint))
        {
            // The provider is down or has no end-session endpoint: the local logout is complete all the same.
            return TypedResults.Redirect(target);
        }

        EndSessionHints.Remember(context, session);

        return TypedResults.SignOut(
            new AuthenticationProperties { RedirectUri = target },
            [OpenIdConnectDefaults.AuthenticationScheme]);
    }

    private static bool PublicIdMatches(string? supplied, string expected) =>
        supplied is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(supplied), Encoding.ASCII.GetBytes(expected));
}
