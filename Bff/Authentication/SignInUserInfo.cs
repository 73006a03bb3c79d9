using System.Security.Claims;
using Bff.Provider;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// <c>Bff:Claims:FromUserInfo</c>: userinfo is read by the gateway once the sign-in's tokens are validated, not by the
/// OpenID Connect handler, which takes a signed (<c>application/jwt</c>) answer without checking its signature, reads an
/// answer of any size, and always says <c>Bearer</c> (a provider that enforces DPoP binding refuses a bound token
/// presented so, RFC 9449 §7). <see cref="UserInfoClient"/> verifies a signed answer, bounds the size, and presents a
/// bound token as <c>DPoP</c> with a proof signed by the key the code exchange proved
/// (<see cref="SessionIssuer.DPoPKeyItem"/>), a bearer token as <c>Bearer</c>: the same client a refresh re-reads userinfo with.
/// <para>
/// The result is the handler's: no access token or no userinfo endpoint, no userinfo; userinfo's <c>sub</c> must be the
/// ID token's (OpenID Connect Core §5.3.2); its members become claims through the handler's own claim actions
/// (<c>MapAll</c>: every member kept as <c>JsonElement.ToString()</c> gives it, a duplicate of an ID token claim
/// dropped), so a JSON answer gives the claims the handler gave; any failure fails the sign-in.
/// </para>
/// </summary>
internal sealed class SignInUserInfo(UserInfoClient userInfo)
{
    /// <summary>Adds userinfo's claims to the sign-in's principal; returns why the sign-in must fail (a phrase, never a value), or null.</summary>
    public async Task<string?> AddClaimsAsync(TicketReceivedContext context)
    {
        var properties = context.Properties!;
        var accessToken = properties.GetTokenValue(OpenIdConnectParameterNames.AccessToken);
        if (context.Principal?.Identity is not ClaimsIdentity identity || string.IsNullOrEmpty(accessToken))
        {
            return null;
        }

        var boundKey = properties.Items.TryGetValue(SessionIssuer.DPoPKeyItem, out var thumbprint) && !string.IsNullOrEmpty(thumbprint)
            ? thumbprint
            : null;
        var read = await userInfo.GetAsync(accessToken, boundKey, context.HttpContext.RequestAborted);
        switch (read.Status)
        {
            case UserInfoStatus.NotOffered:
                return null;
            case UserInfoStatus.Unavailable:
                return $"userinfo could not be read ({read.Problem})";
        }

        if (read.Subject is null || !string.Equals(read.Subject, identity.FindFirst("sub")?.Value, StringComparison.Ordinal))
        {
            return "userinfo names another subject than the ID token";
        }

        var options = (OpenIdConnectOptions)context.Options;
        var issuer = options.ClaimsIssuer ?? context.Scheme.Name;
        foreach (var action in options.ClaimActions)
        {
            action.Run(read.Json, identity, issuer);
        }

        return null;
    }
}
