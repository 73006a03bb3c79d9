using Bff.Configuration;
using Bff.Errors;
using Bff.Provider;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Admin;

/// <summary>Who called the admin API: the client id of a client-credentials token, or else the token's subject. Never the token.</summary>
internal sealed record AdminCaller(string Identity);

internal readonly record struct AdminAuthentication(AdminCaller? Caller, BffError? Error, string? Reason)
{
    public static AdminAuthentication Refused(BffError error, string reason) => new(null, error, reason);
}

/// <summary>
/// Checks the bearer token of an admin API call: a JWT signed by the provider's keys (from discovery, refetched once for
/// an unknown <c>kid</c>), an asymmetric algorithm, issued by the configured authority for <c>Bff:Admin:Audience</c>,
/// within its lifetime (<c>exp</c> required) on the gateway's clock, not an ID token, and carrying
/// <c>Bff:Admin:Role</c> or <c>Bff:Admin:Scope</c>.
/// </summary>
internal sealed class AdminTokenValidator(
    ProviderMetadata metadata,
    SigningKeyRefresh signingKeys,
    IOptions<BffOptions> options,
    TimeProvider timeProvider)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    public async Task<AdminAuthentication> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var authorization = request.Headers.Authorization;
        if (authorization.Count != 1 || authorization[0] is not { } header
            || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= "Bearer ".Length)
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "no bearer token");
        }

        var token = header["Bearer ".Length..].Trim();
        if (!Handler.CanReadToken(token))
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "not a JWT");
        }

        var provider = await metadata.GetAsync(cancellationToken);
        if (!provider.Succeeded)
        {
            return AdminAuthentication.Refused(provider.Error!, "the provider's metadata is unavailable");
        }

        var settings = options.Value;
        var authority = settings.Authority!.TrimEnd('/');
        await signingKeys.EnsureKeyKnownAsync(token, cancellationToken);
        // The lifetime is checked below, against the gateway's clock.
        var parameters = signingKeys.ProviderSignedJwt(provider.Configuration!, authority, settings.Admin.Audience!);

        var result = await Handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            // The exception type names the check that failed; its message may quote the token, so it is not logged.
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, result.Exception?.GetType().Name ?? "validation failed");
        }

        var now = timeProvider.GetUtcNow();
        if (!jwt.TryGetPayloadValue<long>("exp", out var expires) || DateTimeOffset.FromUnixTimeSeconds(expires) + ClockSkew <= now)
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "expired or no exp");
        }

        if (jwt.TryGetPayloadValue<long>("nbf", out var notBefore) && DateTimeOffset.FromUnixTimeSeconds(notBefore) - ClockSkew > now)
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "not valid yet");
        }

        if (jwt.TryGetPayloadValue<object>("nonce", out _))
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "an ID token (nonce claim)");
        }

        var identity = StringClaim(jwt, "client_id") ?? StringClaim(jwt, "sub") ?? StringClaim(jwt, "azp");
        if (identity is null)
        {
            return AdminAuthentication.Refused(BffError.AdminUnauthenticated, "neither sub nor client_id");
        }

        var admin = settings.Admin;
        var admitted = (admin.Role is { } role && (Values(jwt, "roles").Contains(role) || Values(jwt, "role").Contains(role)))
            || (admin.Scope is { } scope && (Values(jwt, "scope").Contains(scope) || Values(jwt, "scp").Contains(scope)));
        return admitted
            ? new AdminAuthentication(new AdminCaller(identity), null, null)
            : new AdminAuthentication(new AdminCaller(identity), BffError.AdminForbidden, "without the configured role or scope");
    }

    private static string? StringClaim(JsonWebToken token, string name) =>
        token.TryGetPayloadValue<string>(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    /// <summary>A claim's values: each element of an array, and the space-separated words of a string (as <c>scope</c> is written).</summary>
    private static HashSet<string> Values(JsonWebToken token, string name) =>
        token.Claims.Where(c => string.Equals(c.Type, name, StringComparison.Ordinal))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);
}
