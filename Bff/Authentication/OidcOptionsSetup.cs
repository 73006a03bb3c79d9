using Bff.Configuration;
using Bff.Provider;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// Derives the OpenID Connect handler's options from the gateway's settings: confidential client, code flow with
/// PKCE, PAR when offered, tokens handed to the server-side session and never to a cookie.
/// </summary>
internal sealed class OidcOptionsSetup(
    IOptions<BffOptions> bffOptions,
    IHostEnvironment environment,
    TimeProvider timeProvider,
    IServiceProvider services)
    : IConfigureNamedOptions<OpenIdConnectOptions>
{
    /// <summary>
    /// Correlation and nonce cookies: __Host-, so that neither an API behind the gateway nor a sibling subdomain can
    /// plant them (a planted pair would sign a victim in as the attacker). __Host- means Path=/ and no Domain: they
    /// ride on every request to the gateway until the callback removes them (never to an API: the proxy strips the
    /// Cookie header), and <see cref="OidcEvents"/> keeps abandoned attempts from piling up.
    /// </summary>
    public const string CorrelationCookiePrefix = CookieNames.SignInCorrelationPrefix;
    public const string NonceCookiePrefix = CookieNames.SignInNoncePrefix;

    /// <summary>Asymmetric JWS algorithms accepted on ID tokens; never <c>none</c>, never HMAC with the client secret.</summary>
    public static readonly IReadOnlySet<string> SigningAlgorithms = new HashSet<string>(StringComparer.Ordinal)
    {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
    };

    public void Configure(OpenIdConnectOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, OpenIdConnectOptions options)
    {
        if (name != OpenIdConnectDefaults.AuthenticationScheme)
        {
            return;
        }

        var bff = bffOptions.Value;
        options.Authority = bff.Authority;
        options.ClientId = bff.ClientId;
        // No secret here: the back-channel's client authentication (Bff:ClientAuthentication) adds the credentials to the
        // code exchange and the pushed authorization request, as to every other call to the provider.
        options.ClientSecret = null;
        options.RequireHttpsMetadata = bff.RequireHttpsMetadata ?? !environment.IsDevelopment();
        options.CallbackPath = bff.CallbackPath;
        options.SignedOutCallbackPath = bff.SignedOutCallbackPath;
        options.SignedOutRedirectUri = "/";
        options.TimeProvider = timeProvider;

        options.ResponseType = OpenIdConnectResponseType.Code;
        // A query response lets the correlation cookies be SameSite=Lax instead of None.
        options.ResponseMode = OpenIdConnectResponseMode.Query;
        options.UsePkce = true;
        options.PushedAuthorizationBehavior = PushedAuthorizationBehavior.UseIfAvailable;
        options.Scope.Clear();
        foreach (var scope in bff.ScopeList)
        {
            options.Scope.Add(scope);
        }

        // The tokens reach the TicketReceived event, which moves them into the server-side session.
        options.SaveTokens = true;
        options.MapInboundClaims = false;
        // Bff:Claims:FromUserInfo: the gateway, never the handler, reads userinfo (SignInUserInfo, once the callback and its
        // tokens are validated): the handler takes a signed answer without checking its signature, reads any size, and
        // would present a DPoP-bound token as a bearer token. Its claims go through these claim actions, as the handler's did.
        options.GetClaimsFromUserInfoEndpoint = false;
        if (bff.Claims.FromUserInfo)
        {
            Microsoft.AspNetCore.Authentication.ClaimActionCollectionMapExtensions.MapAll(options.ClaimActions);
        }
        options.SignInScheme = SessionAuthenticationHandler.SchemeName;
        options.SignOutScheme = SessionAuthenticationHandler.SchemeName;
        // Discovery and signing keys are retried on a transient failure; the code redemption is never (ProviderHttp).
        options.Backchannel = services.GetRequiredService<IHttpClientFactory>().CreateClient(ProviderHttp.BackchannelName);
        options.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);
        options.EventsType = typeof(OidcEvents);

        var validation = options.TokenValidationParameters;
        validation.NameClaimType = "name";
        validation.RoleClaimType = "role";
        validation.ValidateIssuer = true;
        validation.ValidIssuers = [bff.Authority!.TrimEnd('/'), bff.Authority.TrimEnd('/') + "/"];
        validation.ValidateAudience = true;
        validation.ValidAudience = bff.ClientId;
        validation.RequireSignedTokens = true;
        validation.ValidAlgorithms = SigningAlgorithms;
        // Resolved lazily: SigningKeyRefresh itself depends on these options.
        validation.IssuerSigningKeyResolver = (_, _, kid, parameters) =>
            services.GetRequiredService<SigningKeyRefresh>().Resolve(kid, parameters);
        validation.RequireExpirationTime = true;
        validation.ValidateLifetime = true;
        validation.ClockSkew = TimeSpan.FromMinutes(5);

        options.CorrelationCookie.Name = CorrelationCookiePrefix;
        options.CorrelationCookie.Path = "/";
        options.CorrelationCookie.Domain = null;
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.Always;
        options.CorrelationCookie.HttpOnly = true;
        options.NonceCookie.Name = NonceCookiePrefix;
        options.NonceCookie.Path = "/";
        options.NonceCookie.Domain = null;
        options.NonceCookie.SameSite = SameSiteMode.Lax;
        options.NonceCookie.SecurePolicy = CookieSecurePolicy.Always;
        options.NonceCookie.HttpOnly = true;
    }
}
