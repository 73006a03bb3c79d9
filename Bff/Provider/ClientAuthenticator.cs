using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bff.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Provider;

/// <summary>The algorithm client assertions are signed with, or why the provider and the key have none in common.</summary>
internal readonly record struct AssertionAlgorithm(string? Algorithm, string? Problem);

/// <summary>
/// How the gateway authenticates itself to the provider: the one place that puts credentials on a request, for every
/// method of <c>Bff:ClientAuthentication:Method</c>. <see cref="ClientAuthenticationHandler"/> calls it for every form
/// POST on the provider's HTTP clients, so the code exchange and PAR (sent by the OpenID Connect handler), refresh,
/// client credentials and revocation are all authenticated alike, and each attempt of a retried request carries a
/// new client assertion.
/// </summary>
internal sealed class ClientAuthenticator(IOptions<BffOptions> options, ClientCredentials credentials, TimeProvider timeProvider)
{
    /// <summary>How long a client assertion is valid: long enough for one request, short enough to be worthless later.</summary>
    public static readonly TimeSpan AssertionLifetime = TimeSpan.FromSeconds(60);

    /// <summary>RFC 7523 section 2.2.</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private static readonly JsonWebTokenHandler Tokens = new() { SetDefaultTimesOnTokenCreation = false };

    private static readonly HashSet<string> CredentialParameters = new(StringComparer.Ordinal)
    {
        OpenIdConnectParameterNames.ClientId, OpenIdConnectParameterNames.ClientSecret, "client_assertion", "client_assertion_type",
    };

    private ClientAuthenticationSettings Settings => options.Value.ClientAuthentication;

    /// <summary>The key that signs client assertions now, if one does.</summary>
    public ClientSigningKey? SigningKey => credentials.SigningKey;

    /// <summary>
    /// The algorithm for client assertions: the first the signing key can use (PS256, then RS256 for RSA; ES256 for
    /// P-256) among the provider's <c>token_endpoint_auth_signing_alg_values_supported</c>; the key's default when the
    /// provider lists none. Null algorithm, no problem: the method signs nothing.
    /// </summary>
    public AssertionAlgorithm ChooseAlgorithm(OpenIdConnectConfiguration configuration) => ChooseAlgorithm(credentials.SigningKey, configuration);

    /// <summary>As <see cref="ChooseAlgorithm(OpenIdConnectConfiguration)"/>, for one key read once (the files may change in between).</summary>
    public AssertionAlgorithm ChooseAlgorithm(ClientSigningKey? key, OpenIdConnectConfiguration configuration)
    {
        if (Settings.Method != ClientAuthenticationMethod.PrivateKeyJwt || key is null)
        {
            return default;
        }

        return AlgorithmFor(key, configuration) is { } algorithm
            ? new AssertionAlgorithm(algorithm, null)
            : new AssertionAlgorithm(null,
                $"the provider accepts client assertions signed with {string.Join(", ", configuration.TokenEndpointAuthSigningAlgValuesSupported)} only, and the signing key ({key.KeyId}, {key.Kind}) can sign {string.Join(" or ", key.Algorithms)}; configure a key of another type first in Bff:ClientAuthentication:Keys");
    }

    /// <summary>
    /// The algorithm <paramref name="key"/> signs with for this provider (null: none it accepts). <c>/bff/jwks</c>
    /// publishes the same, so a provider that holds a key to its <c>alg</c> sees the one it is used with.
    /// </summary>
    public static string? AlgorithmFor(ClientSigningKey key, OpenIdConnectConfiguration? configuration)
    {
        var supported = configuration?.TokenEndpointAuthSigningAlgValuesSupported;
        return supported is null || supported.Count == 0
            ? key.DefaultAlgorithm
            : key.Algorithms.FirstOrDefault(a => supported.Contains(a));
    }

    /// <summary>
    /// Puts the configured credentials on a form POST to the provider, replacing whatever credentials it carried:
    /// the client id always, and the secret (Basic header or body), a fresh client assertion, or nothing more (mutual
    /// TLS: the certificate is on the connection, and the request goes to the provider's <c>mtls_endpoint_aliases</c>).
    /// </summary>
    public async Task ApplyAsync(HttpRequestMessage request, OpenIdConnectConfiguration configuration, CancellationToken cancellationToken)
    {
        var settings = Settings;
        var clientId = options.Value.ClientId!;
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        var form = ParseForm(body).Where(p => !CredentialParameters.Contains(p.Key)).ToList();
        request.Headers.Authorization = null;

        switch (settings.Method)
        {
            case ClientAuthenticationMethod.ClientSecretBasic:
                // RFC 6749 section 2.3.1: both halves form-encoded before they are joined and base64-encoded.
                var pair = FormEncode(clientId) + ":" + FormEncode(options.Value.ClientSecret ?? string.Empty);
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
                break;
            case ClientAuthenticationMethod.ClientSecretPost:
                form.Add(new(OpenIdConnectParameterNames.ClientId, clientId));
                form.Add(new(OpenIdConnectParameterNames.ClientSecret, options.Value.ClientSecret ?? string.Empty));
                break;
            case ClientAuthenticationMethod.PrivateKeyJwt:
                // One read of the keys for both the algorithm and the signature: a rotated file may swap them at any time.
                var key = credentials.SigningKey;
                var algorithm = ChooseAlgorithm(key, configuration).Algorithm
                    ?? throw new HttpRequestException("No client assertion can be signed for this provider (see log event 2101).");
                form.Add(new(OpenIdConnectParameterNames.ClientId, clientId));
                form.Add(new("client_assertion_type", AssertionType));
                form.Add(new("client_assertion", CreateAssertion(key!, Audience(configuration), algorithm)));
                break;
            default:
                form.Add(new(OpenIdConnectParameterNames.ClientId, clientId));
                if (request.RequestUri is { } uri && MutualTlsAlias(configuration, uri) is { } alias)
                {
                    request.RequestUri = alias;
                }

                break;
        }

        request.Content = new FormUrlEncodedContent(form);
    }

    /// <summary>A signed RFC 7523 client assertion: iss = sub = client id, the configured audience, a fresh jti, 60 seconds.</summary>
    internal string CreateAssertion(ClientSigningKey key, string audience, string algorithm)
    {
        var clientId = options.Value.ClientId!;
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + AssertionLifetime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            },
            SigningCredentials = new SigningCredentials(key.Key, algorithm),
            TokenType = Settings.AssertionHeaderType == ClientAssertionHeaderType.ClientAuthenticationJwt ? "client-authentication+jwt" : "JWT",
        };
        if (key.Certificate is { } certificate)
        {
            // Entra ID finds a certificate credential by its thumbprint rather than by kid.
            descriptor.AdditionalHeaderClaims = new Dictionary<string, object>
            {
                ["x5t"] = Base64UrlEncoder.Encode(certificate.GetCertHash()),
                ["x5t#S256"] = Base64UrlEncoder.Encode(certificate.GetCertHash(HashAlgorithmName.SHA256)),
            };
        }

        return Tokens.CreateToken(descriptor);
    }

    /// <summary>What the assertion's aud names: the token endpoint URL (OpenID Connect Core section 9) or the issuer.</summary>
    internal string Audience(OpenIdConnectConfiguration configuration) =>
        Settings.Audience == ClientAssertionAudience.Issuer ? configuration.Issuer : configuration.TokenEndpoint;

    /// <summary>
    /// The endpoint a mutual-TLS client must use instead of <paramref name="uri"/>, when the provider advertises one in
    /// <c>mtls_endpoint_aliases</c> (RFC 8705 section 5) for the token, PAR or revocation endpoint.
    /// </summary>
    internal static Uri? MutualTlsAlias(OpenIdConnectConfiguration configuration, Uri uri)
    {
        if (!configuration.AdditionalData.TryGetValue("mtls_endpoint_aliases", out var value) || Aliases(value) is not { } aliases)
        {
            return null;
        }

        foreach (var (name, endpoint) in new[]
        {
            ("token_endpoint", configuration.TokenEndpoint),
            ("pushed_authorization_request_endpoint", configuration.PushedAuthorizationRequestEndpoint),
            ("revocation_endpoint", configuration.RevocationEndpoint),
        })
        {
            if (!string.IsNullOrEmpty(endpoint) && Uri.TryCreate(endpoint, UriKind.Absolute, out var regular)
                && Uri.Compare(regular, uri, UriComponents.HttpRequestUrl, UriFormat.UriEscaped, StringComparison.Ordinal) == 0
                && aliases.TryGetValue(name, out var alias) && Uri.TryCreate(alias, UriKind.Absolute, out var aliasUri)
                && aliasUri.Scheme == Uri.UriSchemeHttps)
            {
                return aliasUri;
            }
        }

        return null;
    }

    private static Dictionary<string, string>? Aliases(object? value)
    {
        try
        {
            var element = value switch
            {
                JsonElement e => e,
                string s => JsonDocument.Parse(s).RootElement,
                null => default,
                _ => JsonSerializer.SerializeToElement(value),
            };
            if (element.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return element.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static List<KeyValuePair<string, string>> ParseForm(string body)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            result.Add(new(FormDecode(parts[0]), parts.Length > 1 ? FormDecode(parts[1]) : string.Empty));
        }

        return result;
    }

    private static string FormDecode(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));

    private static string FormEncode(string value) => Uri.EscapeDataString(value).Replace("%20", "+", StringComparison.Ordinal);
}

/// <summary>
/// Authenticates every form POST on the provider's HTTP clients through <see cref="ClientAuthenticator"/>. It sits
/// inside the resilience pipeline, so a retried attempt is authenticated afresh (a new client assertion, a new jti).
/// GETs (discovery, signing keys, userinfo) pass untouched.
/// </summary>
internal sealed class ClientAuthenticationHandler(IServiceProvider services) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Post
            && string.Equals(request.Content?.Headers.ContentType?.MediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            // Resolved per request: the metadata reads the OpenID Connect options, whose back-channel is this client.
            var provider = await services.GetRequiredService<ProviderMetadata>().GetAsync(cancellationToken);
            if (!provider.Succeeded)
            {
                // Nothing is sent without the client's credentials; the callers report the provider as unavailable.
                throw new HttpRequestException("The provider's metadata is unusable, so the request cannot be authenticated.");
            }

            await services.GetRequiredService<ClientAuthenticator>().ApplyAsync(request, provider.Configuration!, cancellationToken);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
