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

/// <summary><c>GET /bff/user</c> with <c>X-CSRF: 1</c>.</summary>
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

        var lookup = await resolver.ResolveAsync(context);
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
