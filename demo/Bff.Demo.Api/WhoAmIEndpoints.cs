using System.Globalization;
using System.Security.Claims;
using Bff.Demo;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Bff.Demo.Api;

/// <summary>What the API learned from the bearer token the gateway attached. Claims only: the token itself is never echoed.</summary>
internal sealed record WhoAmI(
    string Sub,
    string? Name,
    string? ClientId,
    IReadOnlyList<string> Scopes,
    IReadOnlyList<string> Audience,
    string? TokenId,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string TokenType,
    string? BoundKeyThumbprint);

internal static class WhoAmIEndpoints
{
    public const string ScopePolicy = "demo-api-scope";

    public static IEndpointRouteBuilder MapWhoAmI(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/whoami", WhoAmI).RequireAuthorization(ScopePolicy);
        return endpoints;
    }

    /// <summary>OpenIddict writes <c>scope</c> as one space-separated string (RFC 9068); accept arrays too.</summary>
    public static IEnumerable<string> Scopes(ClaimsPrincipal user) =>
        user.FindAll("scope").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal);

    private static Results<Ok<WhoAmI>, ProblemHttpResult> WhoAmI(ClaimsPrincipal user)
    {
        var sub = user.FindFirstValue("sub");
        if (sub is null || !TryUnixTime(user, "iat", out var issuedAt) || !TryUnixTime(user, "exp", out var expiresAt))
        {
            return TypedResults.Problem(
                title: "The access token lacks sub, iat or exp.",
                statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["error"] = "incomplete_token" });
        }

        // Only a token whose proof was checked gets here (BearerAuthentication): "DPoP" says the call was proved.
        var boundKey = DPoPProofValidator.BoundThumbprint(user.FindFirstValue("cnf"));
        return TypedResults.Ok(new WhoAmI(
            sub,
            user.FindFirstValue("name"),
            user.FindFirstValue("client_id") ?? user.FindFirstValue("azp"),
            Scopes(user).ToArray(),
            user.FindAll("aud").Select(c => c.Value).ToArray(),
            user.FindFirstValue("jti"),
            issuedAt,
            expiresAt,
            boundKey is null ? "Bearer" : "DPoP",
            boundKey));
    }

    private static bool TryUnixTime(ClaimsPrincipal user, string type, out DateTimeOffset value)
    {
        value = default;
        if (!long.TryParse(user.FindFirstValue(type), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}
