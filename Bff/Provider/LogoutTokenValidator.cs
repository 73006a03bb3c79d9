using System.Text.Json;
using Bff.Configuration;
using Bff.Errors;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Provider;

/// <summary>What a valid logout token asks for: end the sessions of a provider session and/or subject.</summary>
internal sealed record LogoutRequest(string? Subject, string? ProviderSessionId, string TokenId, TimeSpan RememberFor);

/// <summary>A logout token's verdict: the request, or why it is refused (<see cref="Reason"/> is safe to log).</summary>
internal readonly record struct LogoutTokenValidation(LogoutRequest? Request, BffError? Error, string? Reason)
{
    public static LogoutTokenValidation Invalid(string reason) => new(null, BffError.InvalidLogoutToken, reason);
}

/// <summary>
/// Validates a logout token as OpenID Connect Back-Channel Logout 1.0 (section 2.6) requires: signed by the provider
/// with one of its published keys (never <c>alg: none</c>), issued by the configured authority for this client,
/// issued recently, carrying the back-channel logout event, a <c>sid</c> or a <c>sub</c>, a <c>jti</c>, and no
/// <c>nonce</c> (which keeps an ID token from passing as a logout token), with no <c>typ</c> header or one of
/// <c>JWT</c> / <c>logout+jwt</c>. Replay of the <c>jti</c> is the caller's
/// check, because it needs the session store.
/// </summary>
internal sealed class LogoutTokenValidator(
    ProviderMetadata metadata,
    SigningKeyRefresh signingKeys,
    IOptions<BffOptions> options,
    TimeProvider timeProvider)
{
    public const string BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    /// <summary>Providers send logout tokens the moment the user logs out; an older one is a replay or a stuck queue.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    private readonly string _authority = options.Value.Authority!.TrimEnd('/');
    private readonly string _clientId = options.Value.ClientId!;

    public async Task<LogoutTokenValidation> ValidateAsync(string logoutToken, CancellationToken cancellationToken)
    {
        if (!Handler.CanReadToken(logoutToken))
        {
            return LogoutTokenValidation.Invalid("not a JWT");
        }

        var provider = await metadata.GetAsync(cancellationToken);
        if (!provider.Succeeded)
        {
            return new LogoutTokenValidation(null, provider.Error, "the provider's metadata is unavailable");
        }

        // A provider that rotated its key signs logout tokens with the new one before our cached key set knows it.
        await signingKeys.EnsureKeyKnownAsync(logoutToken, cancellationToken);
        // exp is optional in a logout token; it is checked below, against the gateway's clock.
        var parameters = signingKeys.ProviderSignedJwt(provider.Configuration!, _authority, _clientId);

        var result = await Handler.ValidateTokenAsync(logoutToken, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            // The exception type names the check that failed; its message may quote the token, so it is not logged.
            return LogoutTokenValidation.Invalid(result.Exception?.GetType().Name ?? "validation failed");
        }

        return Check(token);
    }

    private LogoutTokenValidation Check(JsonWebToken token)
    {
        if (!IsLogoutTokenType(token.Typ))
        {
            return LogoutTokenValidation.Invalid("typ header names another kind of JWT");
        }

        if (!token.TryGetPayloadValue<long>("iat", out var issuedAtSeconds))
        {
            return LogoutTokenValidation.Invalid("no iat claim");
        }

        var now = timeProvider.GetUtcNow();
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(issuedAtSeconds);
        if (issuedAt > now + ClockSkew)
        {
            return LogoutTokenValidation.Invalid("iat is in the future");
        }

        if (issuedAt < now - MaxAge - ClockSkew)
        {
            return LogoutTokenValidation.Invalid("iat is too old");
        }

        if (token.TryGetPayloadValue<long>("exp", out var expiresAtSeconds)
            && DateTimeOffset.FromUnixTimeSeconds(expiresAtSeconds) + ClockSkew <= now)
        {
            return LogoutTokenValidation.Invalid("the token has expired");
        }

        if (!HasLogoutEvent(token))
        {
            return LogoutTokenValidation.Invalid("events claim without the back-channel logout event");
        }

        if (token.TryGetPayloadValue<object>("nonce", out _))
        {
            return LogoutTokenValidation.Invalid("a nonce claim is present");
        }

        var subject = StringClaim(token, "sub");
        var providerSessionId = StringClaim(token, "sid");
        if (subject is null && providerSessionId is null)
        {
            return LogoutTokenValidation.Invalid("neither sub nor sid");
        }

        var tokenId = StringClaim(token, "jti");
        if (tokenId is null)
        {
            return LogoutTokenValidation.Invalid("no jti claim");
        }

        // Remember the jti for as long as this token could still be accepted.
        var acceptableUntil = issuedAt + MaxAge + ClockSkew + ClockSkew;
        var rememberFor = acceptableUntil - now;
        return new LogoutTokenValidation(
            new LogoutRequest(subject, providerSessionId, token.Issuer + "|" + tokenId, rememberFor > TimeSpan.FromSeconds(1) ? rememberFor : TimeSpan.FromSeconds(1)),
            null,
            null);
    }

    /// <summary>
    /// Back-Channel Logout 1.0 only recommends <c>typ: logout+jwt</c> and its validation steps do not check <c>typ</c>;
    /// Keycloak and others send <c>JWT</c> or nothing. An explicit type of another kind (<c>at+jwt</c>,
    /// <c>id_token+jwt</c>, …) is what explicit typing exists to catch, so that is refused (RFC 8725 section 3.11).
    /// </summary>
    private static bool IsLogoutTokenType(string? typ)
    {
        if (string.IsNullOrEmpty(typ))
        {
            return true;
        }

        var mediaType = typ.StartsWith("application/", StringComparison.OrdinalIgnoreCase) ? typ["application/".Length..] : typ;
        return string.Equals(mediaType, "JWT", StringComparison.OrdinalIgnoreCase)
            || string.Equals(mediaType, "logout+jwt", StringComparison.OrdinalIgnoreCase);
    }

    private static bool HasLogoutEvent(JsonWebToken token) =>
        token.TryGetPayloadValue<JsonElement>("events", out var events)
        && events.ValueKind == JsonValueKind.Object
        && events.TryGetProperty(BackchannelLogoutEvent, out var logoutEvent)
        && logoutEvent.ValueKind == JsonValueKind.Object;

    private static string? StringClaim(JsonWebToken token, string name) =>
        token.TryGetPayloadValue<string>(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;
}
