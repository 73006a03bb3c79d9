using Microsoft.Extensions.Options;

namespace Bff.Demo.Identity.Configuration;

/// <summary>Section <c>Demo</c>: the one client this provider knows and how long its tokens live.</summary>
internal sealed class DemoIdentityOptions
{
    public const string SectionName = "Demo";

    /// <summary>Optional fixed issuer; by default the provider's own origin as the request reached it.</summary>
    public Uri? Issuer { get; set; }

    /// <summary>Short on purpose, so a refresh is visible within a minute.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromSeconds(45);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromHours(8);

    public DemoClientOptions Client { get; set; } = new();

    public DemoDPoPOptions DPoP { get; set; } = new();
}

/// <summary>
/// Section <c>Demo:DPoP</c>. A token request with a DPoP proof always gets a DPoP-bound access token (RFC 9449);
/// these settings only make the provider stricter.
/// </summary>
internal sealed class DemoDPoPOptions
{
    /// <summary>Whether proofs must carry this provider's current nonce (RFC 9449 §8): the first request gets <c>use_dpop_nonce</c>.</summary>
    public bool RequireNonce { get; set; }
}

/// <summary>Section <c>Demo:Client</c>: the gateway, registered as a confidential client.</summary>
internal sealed class DemoClientOptions
{
    public string ClientId { get; set; } = "bff";

    public string? ClientSecret { get; set; }

    /// <summary>
    /// The client's public keys as a JWKS (JSON text), for private_key_jwt: a token or revocation request may then
    /// authenticate with a client assertion signed by one of them instead of the secret.
    /// </summary>
    public string? Jwks { get; set; }

    /// <summary>
    /// Where the client publishes its public keys (its <c>jwks_uri</c>), e.g. the gateway's
    /// <c>http://localhost:5080/bff/jwks</c>: with it the client may authenticate with assertions and needs no secret.
    /// </summary>
    public Uri? JwksUri { get; set; }

    public string DisplayName { get; set; } = "BFF sample SPA";

    /// <summary>Exact redirect URIs, e.g. <c>http://localhost:5080/signin-oidc</c>.</summary>
    public List<string> RedirectUris { get; set; } = [];

    public List<string> PostLogoutRedirectUris { get; set; } = [];

    /// <summary>Where OIDC back-channel logout tokens are posted, e.g. <c>http://localhost:5080/bff/backchannel</c>.</summary>
    public string? BackchannelLogoutUri { get; set; }
}

internal sealed class DemoIdentityOptionsValidator : IValidateOptions<DemoIdentityOptions>
{
    public ValidateOptionsResult Validate(string? name, DemoIdentityOptions options)
    {
        var failures = new List<string>();
        var client = options.Client;

        if (string.IsNullOrWhiteSpace(client.ClientId))
        {
            failures.Add("Demo:Client:ClientId must not be empty.");
        }

        var hasKeys = client.Jwks is { Length: > 0 } || client.JwksUri is not null;
        if (client.ClientSecret is not null ? client.ClientSecret.Length < 16 : !hasKeys)
        {
            failures.Add("Demo:Client:ClientSecret must be a random value of at least 16 characters, or left out when Demo:Client:Jwks or Demo:Client:JwksUri gives the client's keys.");
        }

        if (client.JwksUri is { } jwksUri && !(jwksUri.IsAbsoluteUri && jwksUri.IsLoopback))
        {
            failures.Add("Demo:Client:JwksUri must be an absolute loopback URL, e.g. http://localhost:5080/bff/jwks.");
        }

        if (client.Jwks is { Length: > 0 } jwks)
        {
            try
            {
                if (new Microsoft.IdentityModel.Tokens.JsonWebKeySet(jwks).GetSigningKeys().Count == 0)
                {
                    failures.Add("Demo:Client:Jwks holds no usable signing key.");
                }
            }
            catch (ArgumentException)
            {
                failures.Add("Demo:Client:Jwks is not a JSON Web Key Set.");
            }
        }

        if (client.RedirectUris.Count == 0)
        {
            failures.Add("Demo:Client:RedirectUris must list the gateway's callback URI, e.g. http://localhost:5080/signin-oidc.");
        }

        foreach (var uri in client.RedirectUris.Concat(client.PostLogoutRedirectUris))
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !string.IsNullOrEmpty(parsed.Fragment))
            {
                failures.Add($"Demo:Client redirect URI '{uri}' must be an absolute URI without a fragment.");
            }
        }

        if (client.BackchannelLogoutUri is { } backchannel && !Uri.TryCreate(backchannel, UriKind.Absolute, out _))
        {
            failures.Add("Demo:Client:BackchannelLogoutUri must be an absolute URI.");
        }

        if (options.AccessTokenLifetime < TimeSpan.FromSeconds(2) || options.AccessTokenLifetime > TimeSpan.FromHours(1))
        {
            failures.Add("Demo:AccessTokenLifetime must be between 00:00:02 and 01:00:00.");
        }

        if (options.RefreshTokenLifetime <= options.AccessTokenLifetime)
        {
            failures.Add("Demo:RefreshTokenLifetime must be longer than Demo:AccessTokenLifetime.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
