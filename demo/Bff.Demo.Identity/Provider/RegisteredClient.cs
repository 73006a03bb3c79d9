using System.Security.Cryptography;
using System.Text;
using Bff.Demo.Identity.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Demo.Identity.Provider;

/// <summary>The checks OpenIddict's degraded mode leaves to the host, against the single registered client.</summary>
internal sealed class RegisteredClient(IOptions<DemoIdentityOptions> options, ClientKeySet clientKeys)
{
    private DemoClientOptions Client => options.Value.Client;

    public string ClientId => Client.ClientId;

    public string DisplayName => Client.DisplayName;

    public bool IsKnown(string? clientId) => string.Equals(clientId, Client.ClientId, StringComparison.Ordinal);

    /// <summary>Whether this is the client's secret; never true when the client has none (it authenticates with keys).</summary>
    public bool HasSecret(string? clientSecret) =>
        clientSecret is not null && Client.ClientSecret is { Length: > 0 } registered &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(clientSecret), Encoding.UTF8.GetBytes(registered));

    /// <summary>
    /// The keys a client assertion may be signed with: <c>Demo:Client:Jwks</c> and what the client publishes at
    /// <c>Demo:Client:JwksUri</c> (none: the client authenticates with its secret only).
    /// </summary>
    public async ValueTask<IList<SecurityKey>> GetAssertionKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new List<SecurityKey>();
        if (Client.Jwks is { Length: > 0 } jwks)
        {
            keys.AddRange(new JsonWebKeySet(jwks).GetSigningKeys());
        }

        if (Client.JwksUri is { } jwksUri)
        {
            keys.AddRange(await clientKeys.GetAsync(jwksUri, cancellationToken));
        }

        return keys;
    }

    /// <summary>
    /// Whether the request authenticates with a client assertion this client may use. OpenIddict itself validates the
    /// assertion (signature with <see cref="GetAssertionKeysAsync"/>, iss = sub = client_id, aud, exp) before the request is handled.
    /// </summary>
    public bool MayUseAssertion(string? assertionType, string? assertion) =>
        (Client.Jwks is { Length: > 0 } || Client.JwksUri is not null)
        && assertionType == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        && !string.IsNullOrEmpty(assertion);

    public bool AllowsRedirectUri(string? uri) => uri is not null && Client.RedirectUris.Contains(uri, StringComparer.Ordinal);

    public bool AllowsPostLogoutRedirectUri(string? uri) =>
        uri is not null && Client.PostLogoutRedirectUris.Contains(uri, StringComparer.Ordinal);
}

/// <summary>
/// The client's published keys (its <c>jwks_uri</c>, RFC 7591 §2), read when first needed and again after a minute,
/// so the gateway may start after the provider and rotate its keys. A failed read keeps what was read before.
/// </summary>
internal sealed partial class ClientKeySet(IHttpClientFactory httpClientFactory, TimeProvider time, ILogger<ClientKeySet> logger) : IDisposable
{
    public const string HttpClientName = "client-jwks";
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IList<SecurityKey> _keys = [];
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    public async ValueTask<IList<SecurityKey>> GetAsync(Uri jwksUri, CancellationToken cancellationToken)
    {
        if (time.GetUtcNow() - _readAt < MaxAge)
        {
            return _keys;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (time.GetUtcNow() - _readAt >= MaxAge)
            {
                try
                {
                    var json = await httpClientFactory.CreateClient(HttpClientName).GetStringAsync(jwksUri, cancellationToken);
                    _keys = new JsonWebKeySet(json).GetSigningKeys();
                    _readAt = time.GetUtcNow();
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ArgumentException or System.Text.Json.JsonException)
                {
                    LogReadFailed(logger, jwksUri, e.GetType().Name);
                }
            }

            return _keys;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "The client's keys could not be read from {JwksUri} ({Failure}); its client assertions are refused until they can.")]
    private static partial void LogReadFailed(ILogger logger, Uri jwksUri, string failure);
}
