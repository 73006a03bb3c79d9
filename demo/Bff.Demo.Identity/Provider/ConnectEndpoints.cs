using System.Collections.Immutable;
using System.Security.Claims;
using Bff.Demo;
using Bff.Demo.Identity.Account;
using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Grants;
using Bff.Demo.Identity.Logout;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Bff.Demo.Identity.Provider;

/// <summary>
/// The endpoints OpenIddict passes through to the host: it has already parsed and validated the protocol
/// request (client, redirect URI, PKCE, codes, refresh tokens); these decide who the user is and what they allow.
/// </summary>
internal static partial class ConnectEndpoints
{
    public const string AuthorizePath = "/connect/authorize";
    public const string TokenPath = "/connect/token";
    public const string EndSessionPath = "/connect/endsession";
    public const string RevocationPath = "/connect/revocation";
    public const string UserInfoPath = "/connect/userinfo";
    public const string ApiResource = "demo-api";
    public const string ApiScope = "demo_api";

    /// <summary>The one authentication context the demo offers: a password typed into its login page.</summary>
    public const string PasswordAcr = "pwd";

    private const string OpenIddictScheme = OpenIddictServerAspNetCoreDefaults.AuthenticationScheme;
    private static readonly ImmutableArray<string> SupportedScopes =
        [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess, ApiScope];

    public static IEndpointRouteBuilder MapDemoConnect(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(AuthorizePath, [HttpMethods.Get, HttpMethods.Post], Authorize).DisableAntiforgery();
        endpoints.MapPost(TokenPath, Token).DisableAntiforgery();
        endpoints.MapMethods(EndSessionPath, [HttpMethods.Get, HttpMethods.Post], EndSession).DisableAntiforgery();
        endpoints.MapMethods(UserInfoPath, [HttpMethods.Get, HttpMethods.Post], UserInfo).DisableAntiforgery();
        return endpoints;
    }

    private static async Task<IResult> Authorize(
        HttpContext http,
        IAntiforgery antiforgery,
        RegisteredClient client,
        DemoUsers users,
        ConsentStore consents,
        GrantLedger grants,
        LoginSessions sessions)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");

        var login = await http.AuthenticateAsync(AccountEndpoints.LoginScheme);
        var user = users.FindBySubject(login.Principal?.FindFirstValue("sub"));
        var sessionId = login.Principal?.FindFirstValue(AccountEndpoints.SessionIdClaim);
        if (user is null || sessionId is null)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.LoginRequired, "The user is not signed in.");
            }

            return Results.Challenge(
                new AuthenticationProperties { RedirectUri = AuthorizeUrl(http, request) },
                [AccountEndpoints.LoginScheme]);
        }

        // OpenID Connect Core 3.1.2.1: prompt=login and a max_age older than the user's last password entry make the
        // user authenticate again (OpenIddict leaves both to the host); max_age=0 is prompt=login. The login page returns
        // here without "login" in prompt nor a max_age of 0, so the second pass does not ask again; any other max_age is
        // then met by the fresh auth_time.
        var authTime = long.TryParse(login.Principal?.FindFirstValue(AccountEndpoints.AuthTimeClaim), out var seconds) ? seconds : (long?)null;
        var tooOld = request.MaxAge is { } maxAge && (maxAge == 0 || authTime is null || DateTimeOffset.UtcNow.ToUnixTimeSeconds() - authTime > maxAge);
        if (request.HasPromptValue(PromptValues.Login) || tooOld)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.LoginRequired, "The user must authenticate again.");
            }

            return Results.Challenge(
                new AuthenticationProperties { RedirectUri = AuthorizeUrl(http, request, withoutPromptLogin: true) },
                [AccountEndpoints.LoginScheme]);
        }

        var scopes = request.GetScopes().Intersect(SupportedScopes, StringComparer.Ordinal).ToImmutableArray();
        var clientId = request.ClientId!;

        var decision = HttpMethods.IsPost(http.Request.Method) ? (string?)request["consent"] : null;
        if (decision is not null)
        {
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return Pages.Error("The consent form expired. Go back to the application and sign in again.", StatusCodes.Status400BadRequest);
            }

            if (decision != "accept")
            {
                return Forbid(Errors.AccessDenied, "The user denied the application access.");
            }

            consents.Grant(user.Subject, clientId, scopes);
        }
        else if (!consents.Covers(user.Subject, clientId, scopes))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.ConsentRequired, "The user has not consented yet.");
            }

            return Pages.Consent(antiforgery.GetAndStoreTokens(http), client.DisplayName, user.Name, scopes, RequestParameters(request));
        }

        var identity = new ClaimsIdentity(OpenIddictScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Subject)
            .SetClaim(Claims.Name, user.Name)
            .SetClaim(Claims.PreferredUsername, user.UserName)
            .SetClaim(Claims.Email, user.Email)
            .SetClaim("sid", sessionId)
            .SetClaim(Claims.AuthenticationTime, authTime)
            .SetClaim(Claims.AuthenticationContextReference, PasswordAcr)
            .SetClaim(GrantLedger.GrantIdClaim, grants.Open(user.Subject, sessionId, clientId));
        identity.SetScopes(scopes);
        if ((string?)request[DPoPBinding.RequestedKeyClaim] is { } requestedKey)
        {
            if (!DPoPBinding.IsThumbprint(requestedKey))
            {
                return Forbid(Errors.InvalidRequest, "The dpop_jkt parameter is not a JWK SHA-256 thumbprint.");
            }

            // RFC 9449 §10: the code will only be redeemed with a proof of this key (ValidateTokenRequestProof).
            identity.SetClaim(DPoPBinding.RequestedKeyClaim, requestedKey);
        }

        if (scopes.Contains(ApiScope))
        {
            identity.SetResources(ApiResource);
        }

        identity.SetDestinations(Destinations);
        sessions.RecordClient(sessionId, user.Subject, clientId);
        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictScheme);
    }

    private static async Task<IResult> Token(HttpContext http, DemoUsers users, GrantLedger grants, DemoStats stats, ILoggerFactory loggers)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return Forbid(Errors.UnsupportedGrantType, "Only authorization_code and refresh_token are supported.");
        }

        // OpenIddict has validated the code (PKCE, redirect URI, client) or the refresh token (signature, expiry, client).
        var principal = (await http.AuthenticateAsync(OpenIddictScheme)).Principal!;
        var grantId = principal.GetClaim(GrantLedger.GrantIdClaim);
        var logger = loggers.CreateLogger(typeof(ConnectEndpoints));

        if (request.IsRefreshTokenGrantType())
        {
            var outcome = grants.RedeemRefreshToken(grantId, request.RefreshToken!);
            if (outcome != RedeemOutcome.Redeemed)
            {
                stats.RefreshTokenRejected();
                LogRefreshRejected(logger, outcome);
                return Forbid(Errors.InvalidGrant, outcome == RedeemOutcome.ReuseDetected
                    ? "The refresh token was already used; the grant has been revoked."
                    : "The refresh token is no longer valid.");
            }

            stats.RefreshTokenGrant();
        }
        else
        {
            if (!grants.IsActive(grantId))
            {
                return Forbid(Errors.InvalidGrant, "The authorization grant has been revoked.");
            }

            stats.AuthorizationCodeGrant();
        }

        if (users.FindBySubject(principal.GetClaim(Claims.Subject)) is null)
        {
            return Forbid(Errors.InvalidGrant, "The user no longer exists.");
        }

        var identity = new ClaimsIdentity(principal.Claims, OpenIddictScheme, Claims.Name, Claims.Role);

        // The code's dpop_jkt has been checked (ValidateTokenRequestProof) and is not carried on; the access token is
        // bound to the key of this request's proof, if any, by BindAccessToken.
        identity.RemoveClaims(DPoPBinding.ConfirmationClaim).RemoveClaims(DPoPBinding.RequestedKeyClaim);
        identity.SetDestinations(Destinations);
        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictScheme);
    }

    /// <summary>RP-initiated logout: ends the provider session, tells the clients over the back channel, then redirects back.</summary>
    private static async Task<IResult> EndSession(HttpContext http, BackchannelLogout backchannel, IssuerResolver issuer, DemoStats stats)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        stats.EndSession();

        // OpenIddict has validated id_token_hint, when present; the provider's own cookie may be gone already.
        var hint = (await http.AuthenticateAsync(OpenIddictScheme)).Principal;
        var login = await http.AuthenticateAsync(AccountEndpoints.LoginScheme);
        await http.SignOutAsync(AccountEndpoints.LoginScheme);

        var sessionId = login.Principal?.FindFirstValue(AccountEndpoints.SessionIdClaim) ?? hint?.GetClaim("sid");
        var subject = login.Principal?.FindFirstValue("sub") ?? hint?.GetClaim(Claims.Subject);
        if (sessionId is not null && subject is not null)
        {
            await backchannel.EndSessionAsync(issuer.Resolve(http), sessionId, subject, http.RequestAborted);
        }

        return request.PostLogoutRedirectUri is null
            ? Pages.SignedOut()
            : Results.SignOut(properties: null, [OpenIddictScheme]); // OpenIddict redirects to the validated URI with state.
    }

    private static async Task<IResult> UserInfo(HttpContext http, DemoUsers users, DPoPProofValidator dpop, DemoStats stats)
    {
        var principal = (await http.AuthenticateAsync(OpenIddictScheme)).Principal;
        var user = users.FindBySubject(principal?.GetClaim(Claims.Subject));
        if (principal is null || user is null)
        {
            return Results.Challenge(properties: null, [OpenIddictScheme]);
        }

        // RFC 9449 §7: a DPoP-bound token comes as "Authorization: DPoP" with a proof of its key; a bearer token as Bearer.
        var bound = DPoPProofValidator.BoundThumbprint(principal.GetClaim(DPoPBinding.ConfirmationClaim));
        var scheme = http.Request.Headers.Authorization.ToString().Split(' ', 2)[0];
        if (bound is not null || scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase))
        {
            var token = http.Request.Headers.Authorization.ToString().Split(' ', 2) is [_, var value] ? value.Trim() : string.Empty;
            var check = bound is null || !scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase)
                ? new DPoPCheck(null, "invalid_token", bound is null ? "The access token is not DPoP-bound." : "A DPoP-bound access token must be sent with the DPoP scheme.")
                : await dpop.ValidateAsync(http.Request, token);
            if (check.Succeeded && !string.Equals(check.Thumbprint, bound, StringComparison.Ordinal))
            {
                check = DPoPCheck.Invalid("The DPoP proof is signed by another key than the token is bound to.");
            }

            if (!check.Succeeded)
            {
                if (check.Error != DPoPCheck.UseNonce)
                {
                    stats.DPoPProofRefused();
                }

                return DPoPChallenge(http, dpop, check);
            }

            stats.DPoPUserInfoRead();
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = user.Subject };
        if (principal.HasScope(Scopes.Profile))
        {
            claims[Claims.Name] = user.Name;
            claims[Claims.PreferredUsername] = user.UserName;
        }

        if (principal.HasScope(Scopes.Email))
        {
            claims[Claims.Email] = user.Email;
        }

        return Results.Ok(claims);
    }

    /// <summary>A 401 as RFC 9449 §7.1 words it, with the nonce to use when that is what was missing.</summary>
    private static IResult DPoPChallenge(HttpContext http, DPoPProofValidator dpop, DPoPCheck check)
    {
        if (check.Error == DPoPCheck.UseNonce && dpop.Nonces is { } nonces)
        {
            http.Response.Headers[DPoPProofValidator.NonceHeaderName] = nonces.Current;
        }

        http.Response.Headers.WWWAuthenticate =
            $"DPoP error=\"{check.Error}\", error_description=\"{check.Description}\", algs=\"{string.Join(' ', DPoPProofValidator.Algorithms)}\"";
        return Results.Json(new Dictionary<string, string?> { ["error"] = check.Error, ["error_description"] = check.Description }, statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>Which claims go into which token. Claims without destination stay private to codes and refresh tokens.</summary>
    private static IEnumerable<string> Destinations(Claim claim)
    {
        var principal = claim.Subject;
        switch (claim.Type)
        {
            case Claims.Name or Claims.PreferredUsername:
                if (principal?.HasScope(Scopes.Profile) == true)
                {
                    yield return OpenIddictConstants.Destinations.AccessToken;
                    yield return OpenIddictConstants.Destinations.IdentityToken;
                }

                break;
            case Claims.Email:
                if (principal?.HasScope(Scopes.Email) == true)
                {
                    yield return OpenIddictConstants.Destinations.AccessToken;
                    yield return OpenIddictConstants.Destinations.IdentityToken;
                }

                break;
            case Claims.AuthenticationTime or Claims.AuthenticationContextReference:
                // How and when the user authenticated: the gateway's step-up checks read them from the ID token, and an
                // API can check them in the access token (RFC 9470).
                yield return OpenIddictConstants.Destinations.AccessToken;
                yield return OpenIddictConstants.Destinations.IdentityToken;
                break;
            case "sid": // lets the gateway match back-channel logout tokens to its sessions
                yield return OpenIddictConstants.Destinations.IdentityToken;
                break;
            case GrantLedger.GrantIdClaim or DPoPBinding.RequestedKeyClaim:
                break;
            default:
                yield return OpenIddictConstants.Destinations.AccessToken;
                break;
        }
    }

    private static IResult Forbid(string error, string description) =>
        Results.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictScheme]);

    private static string AuthorizeUrl(HttpContext http, OpenIddictRequest request, bool withoutPromptLogin = false)
    {
        var parameters = RequestParameters(request);
        if (withoutPromptLogin)
        {
            var prompts = request.GetPromptValues().Where(p => p != PromptValues.Login).ToList();
            parameters.RemoveAll(p => p.Key == Parameters.Prompt || (p.Key == Parameters.MaxAge && p.Value == "0"));
            if (prompts.Count > 0)
            {
                parameters.Add(new(Parameters.Prompt, string.Join(' ', prompts)));
            }
        }

        return http.Request.PathBase + AuthorizePath + QueryString.Create(parameters);
    }

    /// <summary>The protocol parameters of the request, without the consent form's own fields.</summary>
    private static List<KeyValuePair<string, string?>> RequestParameters(OpenIddictRequest request) =>
        request.GetParameters()
            .Where(p => p.Key != "consent" && !p.Key.StartsWith("__", StringComparison.Ordinal))
            .Select(p => new KeyValuePair<string, string?>(p.Key, (string?)p.Value))
            .ToList();

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Refresh token rejected: {Outcome}.")]
    private static partial void LogRefreshRejected(ILogger logger, RedeemOutcome outcome);
}
