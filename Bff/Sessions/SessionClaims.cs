using System.Security.Claims;

namespace Bff.Sessions;

/// <summary>
/// The claims a session keeps, built one way at sign-in and when a refresh re-reads userinfo
/// (<c>Bff:Claims:RefreshUserInfo</c>): the provider's claims without protocol claims, arrays as one claim per element,
/// the <c>Bff:Claims:Map</c> entries applied, and <c>acr</c> / <c>auth_time</c> only from the ID token
/// (<see cref="SignInStrength"/>).
/// </summary>
internal static class SessionClaims
{
    /// <summary>Protocol claims that say nothing about the user and only make the session bigger.</summary>
    private static readonly HashSet<string> OmittedClaims = new(StringComparer.Ordinal)
    {
        "nonce", "at_hash", "c_hash", "s_hash", "exp", "iat", "nbf", "aud", "azp", "iss", "jti", "sid",
    };

    /// <param name="principal">The ID token's claims, with userinfo's when it was read.</param>
    /// <param name="idToken">The (validated) ID token, the only source of <c>acr</c> and <c>auth_time</c>.</param>
    /// <param name="map"><c>Bff:Claims:Map</c>.</param>
    public static IReadOnlyList<SessionClaim> Build(ClaimsPrincipal principal, string? idToken, IDictionary<string, IList<string>> map) =>
    [
        .. principal.Claims.Where(c => !OmittedClaims.Contains(c.Type) && !SignInStrength.IsStrengthClaim(c.Type)).SelectMany(ClaimMapping.Expand)
            .Concat(ClaimMapping.Apply(principal, map).Where(c => !SignInStrength.IsStrengthClaim(c.Type)))
            .Concat(SignInStrength.FromIdToken(idToken).AsClaims())
            .Distinct(),
    ];
}
