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

    public bool AllowsRedirectUri(string? uri) => uri is not null && Client.RedirectUris.Contains(uri, StringComparer.Ordinal);

    public bool AllowsPostLogoutRedirectUri(string? uri) =>
        uri is not null && Client.PostLogoutRedirectUris.Contains(uri, StringComparer.Ordinal);
}
