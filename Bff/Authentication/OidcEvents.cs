using Bff.Configuration;
using Bff.DPoP;
using Bff.Errors;
using Bff.Observability;
using Bff.Provider;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Authentication;

/// <summary>
/// The gateway's side of the OpenID Connect handler: the session is created here (never a token-carrying cookie),
/// and every way a callback can go wrong ends in a Problem Details response or a clean restart, never a 500.
/// </summary>
internal sealed class OidcEvents(
    SessionIssuer issuer,
    SessionResolver resolver,
    SigningKeyRefresh signingKeys,
    SignInAttempts attempts,
    ISignInResources signInResources,
    IOptions<BffOptions> bffOptions,
    BffMetrics metrics,
    ILogger<OidcEvents> logger,
    ProviderMetadata metadata,
    TokenRevoker revoker,
    TimeProvider timeProvider,
    DPoPKeys dpopKeys,
    SignInUserInfo signInUserInfo) : OpenIdConnectEvents
{
    /// <summary>Set in <see cref="AuthenticationProperties.Items"/> when a sign-in is a restart, so a restart happens once.</summary>
    public const string RestartedItem = "bff.restarted";

    /// <summary>The id token the logout endpoint hands to the end-session redirect (request-scoped, never in the state).</summary>
    public const string IdTokenHintItem = "bff.id_token_hint";

    private readonly string _authority = bffOptions.Value.Authority ?? string.Empty;

    private readonly BffOptions _bff = bffOptions.Value;

    private int _unboundReported;

    public override async Task RedirectToIdentityProvider(RedirectContext context)
    {
        // RFC 9449 §10: the code is bound to the key whose proof will redeem it (pushed with the request under PAR).
        if (dpopKeys.Enabled)
        {
            try
            {
                context.ProtocolMessage.SetParameter("dpop_jkt", (await dpopKeys.GetCurrentAsync(context.HttpContext.RequestAborted)).Thumbprint);
            }
            catch (DPoPKeyUnavailableException)
            {
                // Logged by the key ring; the code redemption needs the key too and will fail as a sign-in failure.
            }
        }

        // The handler protects the properties into the state after this event, so the stamp travels inside it.
        attempts.Stamp(context.Properties, context.Options.RemoteAuthenticationTimeout);
        SignInParameters.Apply(context.Properties, context.ProtocolMessage);

        // Read now, not at start-up: routes reload, and a sign-in names the resources of the routes it will be used on.
        var resources = RequestedResources();
        if (resources.Count > 0)
        {
            context.ProtocolMessage = new ResourceIndicatorMessage(context.ProtocolMessage, resources);
        }
    }

    /// <summary>The handler pushes one value per parameter name; a request naming resources is pushed here instead.</summary>
    public override Task PushAuthorization(PushedAuthorizationContext context) =>
        context.ProtocolMessage is ResourceIndicatorMessage { Resources.Count: > 0 } message
            ? PushedResourceRequest.PushAsync(context, message, logger)
            : Task.CompletedTask;

    /// <summary>
    /// RFC 9207: the first thing done with a callback, success or error, before its state is read or its code redeemed.
    /// A provider that advertises <c>authorization_response_iss_parameter_supported</c> must name itself; one that
    /// sends <c>iss</c> anyway must name itself too. Another name means the response came from (or was meant for)
    /// another provider: a mix-up attack would otherwise have the gateway redeem that code here.
    /// </summary>
    public override async Task MessageReceived(MessageReceivedContext context)
    {
        var provider = await metadata.GetAsync(context.HttpContext.RequestAborted);
        if (!provider.Succeeded)
        {
            context.Fail("The provider's metadata is unavailable; the callback's issuer cannot be checked.");
            return;
        }

        var configuration = provider.Configuration!;
        var advertised = configuration.AuthorizationResponseIssParameterSupported;
        var iss = context.ProtocolMessage?.Iss;
        if (iss is null && !advertised)
        {
            return;
        }

        // Simple string comparison, as RFC 9207 section 2.4 requires: no trailing-slash leniency here.
        if (!string.Equals(iss, configuration.Issuer, StringComparison.Ordinal))
        {
            BffLog.AuthorizationResponseIssuerRejected(logger, iss is null ? "is missing" : "names another issuer", advertised);
            context.Fail("The authorization response's issuer is not the provider's.");
        }
    }

    /// <summary>
    /// Runs after the state's correlation cookie matched and before the code is redeemed: a state is redeemed once,
    /// whatever the token endpoint then answers, so a replay never reaches the provider.
    /// </summary>
    public override async Task AuthorizationCodeReceived(AuthorizationCodeReceivedContext context)
    {
        var http = context.HttpContext;
        var properties = context.Properties ?? new AuthenticationProperties();
        var check = await attempts.ConsumeAsync(
            properties, context.ProtocolMessage?.State, context.Options.RemoteAuthenticationTimeout, http.RequestAborted);
        if (check == SignInAttemptCheck.FirstUse)
        {
            return;
        }

        context.HandleResponse();
        DeleteSignInCookies(http, context.Options);
        switch (check)
        {
            case SignInAttemptCheck.Replayed:
                BffLog.SignInStateReplayed(logger);
                await HandleStaleCallbackAsync(http, properties, mayRestart: false);
                break;
            case SignInAttemptCheck.Expired:
                BffLog.SignInAttemptExpired(logger);
                await HandleStaleCallbackAsync(http, properties, mayRestart: true);
                break;
            default:
                BffLog.LoginStoreUnavailable(logger);
                await FailAsync(http, BffError.SessionStoreUnavailable);
                break;
        }
    }

    public override Task TokenResponseReceived(TokenResponseReceivedContext context)
    {
        // Kept with the session: policies with RequireScopes check what was granted, not what was asked for.
        if (!string.IsNullOrWhiteSpace(context.TokenEndpointResponse.Scope) && context.Properties is { } properties)
        {
            properties.Items[SessionIssuer.GrantedScopeItem] = context.TokenEndpointResponse.Scope;
        }

        // The code exchange proved possession of the current key (DPoPTokenRequestHandler); a DPoP token is bound to it.
        if (dpopKeys.Enabled && context.Properties is { } bound)
        {
            var tokenType = context.TokenEndpointResponse.TokenType;
            if (string.Equals(tokenType, "DPoP", StringComparison.OrdinalIgnoreCase) && dpopKeys.CurrentOrNull is { } key)
            {
                bound.Items[SessionIssuer.DPoPKeyItem] = key.Thumbprint;
            }
            else if (Interlocked.Exchange(ref _unboundReported, 1) == 0)
            {
                DPoPLog.TokenNotBound(logger, string.IsNullOrEmpty(tokenType) || tokenType.Length > 16 ? "(unknown)" : tokenType);
            }
        }

        return signingKeys.EnsureKeyKnownAsync(context.TokenEndpointResponse.IdToken, context.HttpContext.RequestAborted);
    }

    public override Task TokenValidated(TokenValidatedContext context)
    {
        // The handler also trusts the issuer named in discovery; the configured authority is the only one we accept.
        var issuer = context.SecurityToken?.Issuer;
        if (!ProviderMetadata.IssuerMatches(issuer, _authority))
        {
            BffLog.IdTokenIssuerRejected(logger, issuer ?? "(none)");
            context.Fail("The ID token was not issued by the configured authority.");
            return Task.CompletedTask;
        }

        // For an ID token that arrives from the token endpoint the handler skips the signature requirement (OIDC Core
        // allows trusting TLS there). We do not: an unsigned or symmetric-signed ID token ends the sign-in.
        var algorithm = context.SecurityToken?.Header.Alg;
        if (algorithm is null || !OidcOptionsSetup.SigningAlgorithms.Contains(algorithm))
        {
            BffLog.IdTokenAlgorithmRejected(logger, algorithm ?? "(none)");
            context.Fail("The ID token is not signed with an accepted algorithm.");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The provider's return after sign-out lands on the target the logout endpoint put in the protected state; checked
    /// again here, as every redirect target is, so that no state can make the handler write an unusable Location.
    /// </summary>
    public override Task SignedOutCallbackRedirect(RemoteSignOutContext context)
    {
        if (context.Properties is { } properties)
        {
            properties.RedirectUri = ReturnUrl.TryNormalize(properties.RedirectUri, out var target) ? target : ReturnUrl.Default;
        }

        return Task.CompletedTask;
    }

    public override async Task TicketReceived(TicketReceivedContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        DeleteSignInCookies(http, (OpenIdConnectOptions)context.Options);

        // Bff:Claims:FromUserInfo: the gateway reads userinfo here, after every check of the callback and its tokens; a
        // failure ends the sign-in as the handler's own would.
        if (_bff.Claims.FromUserInfo && await signInUserInfo.AddClaimsAsync(context) is { } userInfoProblem)
        {
            BffLog.LoginFailed(logger, userInfoProblem);
            await FailAsync(http, BffError.LoginFailed);
            return;
        }

        if (await RefuseInsufficientStrengthAsync(http, context.Properties!))
        {
            return;
        }

        var (outcome, session) = await issuer.IssueAsync(http, context.Principal!, context.Properties!);
        switch (outcome)
        {
            case SessionIssueOutcome.Created:
                http.SetBffSession(session!.LogId);
                http.SetBffOutcome(TelemetryNames.Outcomes.Success);
                // The handler moves the RedirectUri from the protected state into ReturnUri. Normalised again: the code
                // is spent and the session exists, so writing Location must not be able to throw.
                http.Response.Redirect(ReturnUrl.TryNormalize(context.ReturnUri, out var target) ? target : ReturnUrl.Default);
                break;
            case SessionIssueOutcome.StoreUnavailable:
                BffLog.LoginStoreUnavailable(logger);
                await FailAsync(http, BffError.SessionStoreUnavailable);
                break;
            case SessionIssueOutcome.StoreFull:
                // Logged and counted by the issuer, at most one line a minute.
                await FailAsync(http, BffError.SessionCapacityReached);
                break;
            default:
                BffLog.LoginFailed(logger, "token response without an access token or subject");
                await FailAsync(http, BffError.LoginFailed);
                break;
        }
    }

    /// <summary>
    /// A sign-in that asked for <c>acr_values</c> or <c>max_age</c> (a step-up, or an SPA's own choice) must get it: an
    /// ID token whose <c>acr</c> is not one asked for, or whose <c>auth_time</c> is too old (or missing), creates no
    /// session. The browser's current session, if any, stays as it was; the new grant's refresh token is revoked (best
    /// effort); the callback answers 403 <c>step_up_failed</c> rather than send the SPA back to a call that would ask
    /// for the same step-up again.
    /// </summary>
    private async Task<bool> RefuseInsufficientStrengthAsync(HttpContext http, AuthenticationProperties properties)
    {
        if (SignInParameters.RequestedStrength(properties) is not { } requested)
        {
            return false;
        }

        var strength = SignInStrength.FromIdToken(properties.GetTokenValue(OpenIdConnectParameterNames.IdToken));
        var now = timeProvider.GetUtcNow();
        if (requested.IsSatisfiedBy(strength.Acr, strength.AuthenticatedAt, now))
        {
            return false;
        }

        var obtained = strength.AuthenticatedAt is { } at
            ? $"acr {(strength.Acr is null ? "(none)" : "'" + strength.Acr + "'")}, signed in {(long)(now - at).TotalSeconds} s ago"
            : $"acr {(strength.Acr is null ? "(none)" : "'" + strength.Acr + "'")}, no auth_time";
        BffLog.StepUpSignInInsufficient(logger, requested.Describe(), obtained);
        if (properties.GetTokenValue(OpenIdConnectParameterNames.AccessToken) is { Length: > 0 } accessToken)
        {
            await revoker.RevokeAsync(
                new TokenSet
                {
                    AccessToken = accessToken,
                    AccessTokenExpiresAt = now,
                    RefreshToken = properties.GetTokenValue(OpenIdConnectParameterNames.RefreshToken),
                },
                "-",
                http.RequestAborted);
        }

        await FailAsync(http, BffError.StepUpFailed, "The provider's sign-in does not meet the requested authentication level or age; the previous session, if any, is unchanged.");
        return true;
    }

    public override async Task RemoteFailure(RemoteFailureContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        DeleteSignInCookies(http, (OpenIdConnectOptions)context.Options);

        var providerError = context.Failure?.Data["error"] as string;
        if (providerError is not null)
        {
            BffLog.LoginRejectedByProvider(logger, providerError);
            if (providerError == "invalid_target" && RequestedResources() is { Count: > 0 } resources)
            {
                BffLog.SignInResourcesRefused(logger, string.Join(' ', resources));
            }

            if (SignInParameters.IsSilentSignIn(context.Properties) && SignInParameters.IsNoProviderSession(providerError))
            {
                // A silent sign-in that found no usable provider session is an answer, not a failure: the SPA reads it
                // from its own URL and offers an interactive sign-in.
                http.SetBffOutcome(TelemetryNames.Outcomes.NoProviderSession);
                http.Response.Redirect(SignInParameters.SilentResultUrl(context.Properties!.RedirectUri));
                return;
            }

            var error = providerError is "access_denied" or "login_required" or "consent_required" or "interaction_required"
                ? BffError.LoginDenied
                : BffError.LoginFailed;
            await FailAsync(http, error, $"The provider answered '{providerError}'.");
            return;
        }

        var message = context.Failure?.Message ?? string.Empty;
        if (IsCorrelationFailure(message))
        {
            await HandleStaleCallbackAsync(http, context.Properties, mayRestart: true);
            return;
        }

        // Bad state, bad ID token, failed code redemption: the exception message names the cause, never a token value.
        BffLog.LoginFailed(logger, message);
        await FailAsync(http, BffError.LoginFailed);
    }

    public override Task RedirectToIdentityProviderForSignOut(RedirectContext context)
    {
        EndSessionHints.Apply(context, _bff.Logout.EndSessionHint, _bff.ClientId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The callback came without its correlation cookie: it expired, it was already used (reload, Back), or another
    /// tab's sign-in replaced it; or its attempt expired or was already redeemed. A signed-in user goes on to where
    /// they were going; otherwise sign-in starts again, once, so a browser that drops cookies cannot loop. A replayed
    /// state (<paramref name="mayRestart"/> false) does not restart: whoever replays it is not the user signing in.
    /// </summary>
    private async Task HandleStaleCallbackAsync(HttpContext http, AuthenticationProperties? properties, bool mayRestart)
    {
        var returnUrl = ReturnUrl.TryNormalize(properties?.RedirectUri, out var target) ? target : ReturnUrl.Default;

        var lookup = await resolver.ResolveAsync(http);
        if (lookup.Status == SessionLookupStatus.Found)
        {
            BffLog.StaleCallbackSignedIn(logger);
            http.SetBffOutcome(TelemetryNames.Outcomes.AlreadySignedIn);
            http.Response.Redirect(returnUrl);
            return;
        }

        var alreadyRestarted = properties?.Items.ContainsKey(RestartedItem) == true;
        if (properties is null || alreadyRestarted || !mayRestart)
        {
            BffLog.LoginFailed(logger, mayRestart ? "callback without correlation data" : "sign-in state already used");
            await FailAsync(http, BffError.LoginExpired);
            return;
        }

        BffLog.StaleCallbackRestarted(logger);
        http.SetBffOutcome(TelemetryNames.Outcomes.Restarted);
        http.Response.Redirect(SignInPaths.Restart(returnUrl) + SignInParameters.RestartOptions(properties));
    }

    private IReadOnlyList<string> RequestedResources() =>
        _bff.Tokens.RequestResourcesAtSignIn ? signInResources.Current() : [];

    /// <summary>Answers a sign-in that did not create a session, and counts it.</summary>
    private Task FailAsync(HttpContext http, BffError error, string? detail = null, TimeSpan? retryAfter = null)
    {
        http.SetBffFailure(error);
        metrics.SignInFailed(error.Code);
        return BffProblem.WriteAsync(http, error, detail, retryAfter);
    }

    private static bool IsCorrelationFailure(string message) =>
        message.Contains("Correlation failed", StringComparison.Ordinal);

    /// <summary>
    /// Removes every correlation and nonce cookie the browser sent, not just this attempt's, so abandoned sign-ins in
    /// other tabs do not pile up until the request headers grow too large.
    /// </summary>
    internal static void DeleteSignInCookies(HttpContext http, OpenIdConnectOptions options)
    {
        foreach (var name in http.Request.Cookies.Keys)
        {
            if (name.StartsWith(OidcOptionsSetup.CorrelationCookiePrefix, StringComparison.Ordinal))
            {
                http.Response.Cookies.Delete(name, options.CorrelationCookie.Build(http));
            }
            else if (name.StartsWith(OidcOptionsSetup.NonceCookiePrefix, StringComparison.Ordinal))
            {
                http.Response.Cookies.Delete(name, options.NonceCookie.Build(http));
            }
        }
    }
}
