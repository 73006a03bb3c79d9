using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bff.Provider;

/// <summary>
/// Why a refreshed ID token was refused. <see cref="Reason"/> is safe to log (a claim name or the name of the check
/// that failed, never a value). <see cref="Mismatch"/>: the token is valid but names another user or another sign-in
/// than the session's; otherwise it did not validate at all.
/// </summary>
internal sealed record IdTokenRefusal(string Reason, bool Mismatch);

/// <summary>
/// Checks an ID token that came back from a refresh with the sign-in's own rules: the OpenID Connect handler's token
/// handler and <c>OidcOptionsSetup</c>'s validation parameters (signature with one of the provider's keys and
/// an accepted asymmetric algorithm, <c>iss</c>, <c>aud</c>, <c>exp</c> within the clock skew, on the system clock as
/// at sign-in), the provider's keys from the handler's configuration manager, and an unknown <c>kid</c> fetching the
/// key set once (<see cref="SigningKeyRefresh"/>), as at sign-in. Then OpenID Connect Core 1.0 section 12.2: <c>iat</c> present,
/// <c>sub</c> the session's, <c>iss</c> and (when both carry one) <c>auth_time</c> those of the session's ID token
/// (the sign-in's, or a refreshed one held to it). A <c>nonce</c> is not checked: none was sent with the refresh.
/// </summary>
internal sealed class RefreshedIdTokenValidator(
    IOptionsMonitor<OpenIdConnectOptions> oidcOptions,
    ProviderMetadata metadata,
    SigningKeyRefresh signingKeys)
{
    /// <returns>Null when the token may replace the session's ID token.</returns>
    public async Task<IdTokenRefusal?> ValidateAsync(string idToken, string subject, string? sessionIdToken, CancellationToken cancellationToken)
    {
        var provider = await metadata.GetAsync(cancellationToken);
        if (!provider.Succeeded)
        {
            return new IdTokenRefusal("the provider's keys are unavailable", Mismatch: false);
        }

        await signingKeys.EnsureKeyKnownAsync(idToken, cancellationToken);
        var options = oidcOptions.Get(OpenIdConnectDefaults.AuthenticationScheme);
        var parameters = options.TokenValidationParameters.Clone();
        parameters.IssuerSigningKeys = provider.Configuration!.SigningKeys;

        // The handler relaxes RequireSignedTokens only for ID tokens it redeems a code for; these parameters keep it.
        var result = await options.TokenHandler.ValidateTokenAsync(idToken, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            // The exception type names the check that failed; its message may quote the token, so it is not used.
            return new IdTokenRefusal(result.Exception?.GetType().Name ?? "validation failed", Mismatch: false);
        }

        if (!token.TryGetClaim("iat", out _))
        {
            return new IdTokenRefusal("no iat claim", Mismatch: false);
        }

        if (!string.Equals(token.Subject, subject, StringComparison.Ordinal))
        {
            return new IdTokenRefusal("sub differs", Mismatch: true);
        }

        if (ReadSessionToken(sessionIdToken) is not { } previous)
        {
            return null;
        }

        if (!string.Equals(token.Issuer, previous.Issuer, StringComparison.Ordinal))
        {
            return new IdTokenRefusal("iss differs", Mismatch: true);
        }

        if (token.TryGetPayloadValue<long>("auth_time", out var authTime)
            && previous.TryGetPayloadValue<long>("auth_time", out var previousAuthTime)
            && authTime != previousAuthTime)
        {
            return new IdTokenRefusal("auth_time differs", Mismatch: true);
        }

        return null;
    }

    /// <summary>The session's ID token (from sign-in or a refresh, validated when it was stored); null if it has none.</summary>
    private static JsonWebToken? ReadSessionToken(string? idToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return null;
        }

        try
        {
            return new JsonWebToken(idToken);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
