using Bff.Observability;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Provider;

/// <summary>
/// Picks up a provider's new signing key during the sign-in that first meets it. The handler's own refresh on an
/// unknown key is rate-limited and runs in the background, so the first login after a rotation would fail; here an ID
/// token whose <c>kid</c> is unknown makes us fetch the JWKS once (at most every <see cref="MinInterval"/>) before the
/// token is validated, and the key resolver offers those keys next to the cached ones.
/// </summary>
internal sealed class SigningKeyRefresh(
    IOptionsMonitor<OpenIdConnectOptions> oidcOptions,
    ProviderMetadata metadata,
    TimeProvider timeProvider,
    ILogger<SigningKeyRefresh> logger) : IDisposable
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile IReadOnlyList<SecurityKey> _fresh = [];
    private DateTimeOffset _lastFetch = DateTimeOffset.MinValue;

    /// <summary>Asymmetric algorithms only: the provider's published keys are public, so an HMAC "signed" with one proves nothing.</summary>
    private static readonly string[] AsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    /// <summary>
    /// How a JWT the provider signed for the gateway (a logout token, an admin's access token) is validated: one of
    /// the provider's keys (call <see cref="EnsureKeyKnownAsync"/> first, so a rotated key is found), an asymmetric
    /// algorithm, the provider as issuer (with or without a trailing slash), <paramref name="audience"/>. The lifetime
    /// is the caller's to check, against the gateway's clock.
    /// </summary>
    public TokenValidationParameters ProviderSignedJwt(OpenIdConnectConfiguration configuration, string authority, string audience) => new()
    {
        ValidIssuers = [authority, authority + "/"],
        ValidAudience = audience,
        IssuerSigningKeys = configuration.SigningKeys,
        IssuerSigningKeyResolver = (_, _, kid, validation) => Resolve(kid, validation),
        ValidAlgorithms = AsymmetricAlgorithms,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = false,
        TryAllIssuerSigningKeys = true,
        RequireExpirationTime = false,
        ValidateLifetime = false,
    };

    /// <summary>Called before the ID token is validated: fetches the key set if the token names a key we do not know.</summary>
    public async Task EnsureKeyKnownAsync(string? idToken, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return;
        }

        string? kid;
        try
        {
            kid = new JsonWebToken(idToken).Kid;
        }
        catch (ArgumentException)
        {
            return; // Not a JWT; validation will refuse it.
        }

        var provider = await metadata.GetAsync(cancellationToken);
        if (kid is null || provider.Configuration is not { } configuration
            || configuration.SigningKeys.Any(k => k.KeyId == kid) || _fresh.Any(k => k.KeyId == kid))
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetUtcNow();
            if (now - _lastFetch < MinInterval)
            {
                return;
            }

            _lastFetch = now;
            var options = oidcOptions.Get(OpenIdConnectDefaults.AuthenticationScheme);
            var json = await options.Backchannel.GetStringAsync(new Uri(configuration.JwksUri), cancellationToken);
            _fresh = [.. new JsonWebKeySet(json).GetSigningKeys()];
            options.ConfigurationManager?.RequestRefresh();
            BffLog.SigningKeysRefetched(logger, _fresh.Count);
        }
        catch (Exception ex) when (ex is HttpRequestException or ArgumentException or TaskCanceledException)
        {
            BffLog.SigningKeysRefetchFailed(logger, ex.GetType().Name);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>For <see cref="TokenValidationParameters.IssuerSigningKeyResolver"/>: the cached keys plus any fetched here.</summary>
    public IEnumerable<SecurityKey> Resolve(string? kid, TokenValidationParameters parameters)
    {
        var known = parameters.IssuerSigningKeys ?? [];
        var candidates = known.Concat(_fresh);
        return kid is null ? candidates : candidates.Where(k => k.KeyId == kid);
    }
}
