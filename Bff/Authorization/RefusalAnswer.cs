using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;

namespace Bff.Authorization;

/// <summary>
/// How an authorization decision is answered. A signed-in user whom a policy refuses gets <c>403 forbidden</c> Problem
/// Details (never which requirement failed, and the policy's name only with <c>Bff:Authorization:ShowPolicyName</c>:
/// either would tell an attacker what to aim for), one
/// log line and a count by route; the request goes no further, so a proxied call never reaches its API. Without a
/// session the challenge is ASP.NET Core's, answered by the session scheme: <c>401 unauthenticated</c>.
/// </summary>
internal sealed class RefusalAnswer(IOptions<BffOptions> options, BffMetrics metrics, ILogger<RefusalAnswer> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _standard = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            return _standard.HandleAsync(next, context, policy, authorizeResult);
        }

        var endpoint = AuthorizedEndpoint.NameOf(context);
        if (authorizeResult.AuthorizationFailure?.FailedRequirements.Any(r => r is ClaimsAuthorizationRequirement { ClaimType: "groups" }) == true
            && ClaimMapping.HasGroupsOverage(context.User))
        {
            BffLog.GroupPolicyNotEvaluable(logger, endpoint);
        }

        BffLog.AuthorizationRefused(logger, context.Request.Method, endpoint, Describe(authorizeResult.AuthorizationFailure));
        metrics.AuthorizationRefused(endpoint);
        return BffProblem.WriteAsync(context, BffError.Forbidden, options.Value.Authorization.ShowPolicyName ? PolicyNames(context) : null);
    }

    /// <summary>The names of the policies the endpoint or route requires, as a Problem Details <c>detail</c>.</summary>
    private static string? PolicyNames(HttpContext context)
    {
        var names = context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
            .Select(data => data.Policy)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        return names is { Length: > 0 }
            ? $"Refused by the authorization policy {string.Join(", ", names.Select(n => $"'{n}'"))}."
            : null;
    }

    /// <summary>For the operator's log only: which kinds of requirement failed, without the user's claim values.</summary>
    private static string Describe(AuthorizationFailure? failure) =>
        failure is null
            ? "-"
            : string.Join(", ", failure.FailedRequirements.Select(r => r.GetType().Name).Distinct(StringComparer.Ordinal).DefaultIfEmpty("-"));
}
