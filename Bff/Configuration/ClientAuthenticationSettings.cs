namespace Bff.Configuration;

/// <summary>How the gateway proves its identity to the provider on every back-channel call (<c>Bff:ClientAuthentication:Method</c>).</summary>
public enum ClientAuthenticationMethod
{
    /// <summary><c>client_secret_basic</c>: <c>Bff:ClientSecret</c> in an HTTP Basic <c>Authorization</c> header.</summary>
    ClientSecretBasic,

    /// <summary><c>client_secret_post</c>: <c>Bff:ClientSecret</c> as <c>client_secret</c> in the request body.</summary>
    ClientSecretPost,

    /// <summary><c>private_key_jwt</c> (RFC 7523): a short-lived JWT signed with the first of <c>Bff:ClientAuthentication:Keys</c>.</summary>
    PrivateKeyJwt,

    /// <summary><c>tls_client_auth</c> (RFC 8705): the <c>Bff:ClientAuthentication:Certificate</c>, issued by a CA the provider trusts, on the TLS connection.</summary>
    TlsClientAuth,

    /// <summary><c>self_signed_tls_client_auth</c> (RFC 8705): a self-signed <c>Bff:ClientAuthentication:Certificate</c> registered with the provider.</summary>
    SelfSignedTlsClientAuth,
}

/// <summary>What a client assertion's <c>aud</c> names (<c>Bff:ClientAuthentication:Audience</c>).</summary>
public enum ClientAssertionAudience
{
    /// <summary>
    /// The provider's <c>token_endpoint</c> URL, as OpenID Connect Core section 9 asks; what Entra ID and Okta require,
    /// and Keycloak accepts.
    /// </summary>
    TokenEndpoint,

    /// <summary>The provider's <c>issuer</c>, exactly as its discovery document writes it; what Auth0 and OpenIddict 7 require.</summary>
    Issuer,
}

/// <summary>The <c>typ</c> header of a client assertion (<c>Bff:ClientAuthentication:AssertionHeaderType</c>).</summary>
public enum ClientAssertionHeaderType
{
    /// <summary><c>JWT</c>: what most client libraries write and Entra ID documents.</summary>
    Jwt,

    /// <summary><c>client-authentication+jwt</c>, as the update of RFC 7523 recommends; required by OpenIddict 7.</summary>
    ClientAuthenticationJwt,
}

/// <summary>How the gateway authenticates itself to the provider (<c>Bff:ClientAuthentication</c>).</summary>
public sealed class ClientAuthenticationSettings
{
    /// <summary>The method used on every call to the provider: code exchange, PAR, refresh, client credentials, revocation.</summary>
    public ClientAuthenticationMethod Method { get; set; } = ClientAuthenticationMethod.ClientSecretBasic;

    /// <summary>
    /// Signing keys for <see cref="ClientAuthenticationMethod.PrivateKeyJwt"/>: the first signs, the others are only
    /// published (<see cref="PublishJwks"/>), so a provider can learn a new key before the gateway signs with it.
    /// </summary>
    public IList<ClientKeySettings> Keys { get; set; } = [];

    /// <summary>What a client assertion's <c>aud</c> names.</summary>
    public ClientAssertionAudience Audience { get; set; } = ClientAssertionAudience.TokenEndpoint;

    /// <summary>The <c>typ</c> header of client assertions.</summary>
    public ClientAssertionHeaderType AssertionHeaderType { get; set; } = ClientAssertionHeaderType.Jwt;

    /// <summary>The TLS client certificate for <see cref="ClientAuthenticationMethod.TlsClientAuth"/> and <see cref="ClientAuthenticationMethod.SelfSignedTlsClientAuth"/>.</summary>
    public ClientCertificateSettings Certificate { get; set; } = new();

    /// <summary>Whether <c>/bff/jwks</c> publishes the public parts of <see cref="Keys"/>, for providers that fetch client keys by URL.</summary>
    public bool PublishJwks { get; set; }

    /// <summary>Whether <see cref="Method"/> authenticates with <c>Bff:ClientSecret</c>.</summary>
    internal bool UsesSecret => Method is ClientAuthenticationMethod.ClientSecretBasic or ClientAuthenticationMethod.ClientSecretPost;

    /// <summary>Whether <see cref="Method"/> presents <see cref="Certificate"/> on the TLS connection.</summary>
    internal bool UsesCertificate => Method is ClientAuthenticationMethod.TlsClientAuth or ClientAuthenticationMethod.SelfSignedTlsClientAuth;
}

/// <summary>One signing key (<c>Bff:ClientAuthentication:Keys:N</c>): a file, or PEM text, and an optional key id.</summary>
public sealed class ClientKeySettings
{
    /// <summary>
    /// A file holding the private key: PEM (a PKCS#8, RSA or EC private key, optionally with its certificate) or
    /// PKCS#12 (<c>.pfx</c>/<c>.p12</c>), as a Kubernetes Secret mounts it.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>The private key as PEM text, instead of <see cref="Path"/> (from a secret store or an environment variable).</summary>
    public string? Pem { get; set; }

    /// <summary>The password of an encrypted PEM key or of a PKCS#12 file.</summary>
    public string? Password { get; set; }

    /// <summary>The <c>kid</c> the provider knows the key by; by default its RFC 7638 JWK thumbprint.</summary>
    public string? KeyId { get; set; }
}

/// <summary>The TLS client certificate (<c>Bff:ClientAuthentication:Certificate</c>).</summary>
public sealed class ClientCertificateSettings
{
    /// <summary>A PKCS#12 file with the certificate and its key, or a PEM certificate (<c>tls.crt</c>).</summary>
    public string? Path { get; set; }

    /// <summary>The PEM private key (<c>tls.key</c>) when <see cref="Path"/> is a PEM certificate without it.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }
}
