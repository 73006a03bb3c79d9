using System.Security.Cryptography;
using System.Text;
using Bff.Demo.Identity.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Demo.Identity.Provider;

/// <summary>The checks OpenIddict's degraded mode leaves to the host, against the single registered client.</summary>
internal sealed class RegisteredClient(IOptions<DemoIdentityOptions> options)
{
    private DemoClientOptions Client => options.Value.Client;

    public string ClientId => Client.ClientId;

    public string DisplayName => Client.DisplayName;

    public bool IsKnown(string? clientId) => string.Equals(clientId, Client.ClientId, StringComparison.Ordinal);

    public bool HasSecret(string? clientSecret) =>
        clientSecret is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(clientSecret), Encoding.UTF8.GetBytes(Client.ClientSecret ?? string.Empty));

    /// <summary>The keys a client assertion may be signed with (none: the client authenticates with its secret only).</summary>
    public IList<Microsoft.IdentityModel.Tokens.SecurityKey> AssertionKeys =>
        Client.Jwks is { Length: > 0 } jwks ? new Microsoft.IdentityModel.Tokens.JsonWebKeySet(jwks).GetSigningKeys() : [];

    /// <summary>
    /// Whether the request authenticates with a client assertion this client may use. OpenIddict itself validates the
    /// assertion (signature with <see cref="AssertionKeys"/>, iss = sub = client_id, aud, exp) before the request is handled.
    /// </summary>
    public bool MayUseAssertion(string? assertionType, string? assertion) =>
        Client.Jwks is { Length: > 0 }
        && assertionType == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        && !string.IsNullOrEmpty(assertion);

    public bool AllowsRedirectUri(string? uri) => uri is not null && Client.RedirectUris.Contains(uri, StringComparer.Ordinal);

    public bool AllowsPostLogoutRedirectUri(string? uri) =>
        uri is not null && Client.PostLogoutRedirectUris.Contains(uri, StringComparer.Ordinal);
}
