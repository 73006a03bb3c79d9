using Bff.Csrf;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Bff.Configuration;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Bff.Endpoints;

/// <summary>What <c>/bff/user</c> tells the SPA: who is signed in, until when, and how to log out. Never a token.</summary>
internal sealed record UserResponse(
    IReadOnlyList<SessionClaim> Claims,
    DateTimeOffset SessionExpiresAt,
    DateTimeOffset AbsoluteExpiresAt,
    string LogoutUrl);

/// <summary>
/// <c>GET /bff/user</c> with <c>X-CSRF: 1</c>. Like every call of the session, it slides the idle timeout; with
/// <c>?slide=false</c> it only looks, so a page can check whether it is still signed in without keeping itself signed in.
/// </summary>
internal static class UserEndpoint
{
    public const string Path = "/bff/user";

    public static async Task<Results<Ok<UserResponse>, ProblemHttpResult, RetryAfterProblem>> HandleAsync(
        HttpContext context, SessionResolver resolver, BffMetrics metrics, IOptions<BffOptions> options)
    {
        if (!CsrfHeader.IsPresent(context.Request))
        {
            metrics.CsrfRejected(Path);
            return BffProblem.Result(BffError.CsrfHeaderMissing);
        }

        if (!TryReadSlide(context.Request.Query, out var slide))
        {
            return BffProblem.Result(BffError.InvalidParameter, "slide must be true or false.");
        }

        var lookup = slide ? await resolver.ResolveAsync(context) : await resolver.ResolveWithoutSlidingAsync(context);
        switch (lookup.Status)
        {
            case SessionLookupStatus.Found:
                var session = lookup.Session!;
                return TypedResults.Ok(new UserResponse(
                    Shared(session.Claims, options.Value.UserEndpoint.Claims),
                    session.ExpiresAt,
                    session.AbsoluteExpiresAt,
                    LogoutEndpoint.UrlFor(session)));
            case SessionLookupStatus.Unavailable:
                return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
            default:
                return BffProblem.Result(BffError.Unauthenticated);
        }
    }

    /// <summary>
    /// <c>slide</c>: absent or <c>true</c> slides, <c>false</c> does not; anything else (a repeat, <c>0</c>, <c>no</c>)
    /// is refused rather than guessed, so a page that meant not to slide never slides by a typo.
    /// </summary>
    private static bool TryReadSlide(IQueryCollection query, out bool slide)
    {
        slide = true;
        if (!query.TryGetValue("slide", out var values))
        {
            return true;
        }

        return values.Count == 1 && bool.TryParse(values[0], out slide);
    }

    /// <summary>The session's claims of the types <c>Bff:UserEndpoint:Claims</c> lists (all of them when it lists none).</summary>
    private static IReadOnlyList<SessionClaim> Shared(IReadOnlyList<SessionClaim> claims, IList<string> allowed)
    {
        if (allowed.Count == 0)
        {
            return claims;
        }

        var types = AuthorizationPolicySettings.Entries(allowed);
        return [.. claims.Where(c => types.Contains(c.Type, StringComparer.Ordinal))];
    }
}
