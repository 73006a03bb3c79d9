using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Demo.Identity.Provider;

/// <summary>
/// The RSA key generated at start-up. OpenIddict signs identity and access tokens with it and publishes it in the
/// JWKS; the back-channel logout tokens are signed with the same key so clients validate them the same way.
/// Lost on restart, which is fine for a demo: sessions at the gateway simply need a new sign-in.
/// </summary>
internal sealed class SigningKey : IDisposable
{
    private readonly RSA rsa = RSA.Create(2048);

    public SigningKey()
    {
        Key = new RsaSecurityKey(rsa) { KeyId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(12)) };
        Credentials = new SigningCredentials(Key, SecurityAlgorithms.RsaSha256);
    }

    public RsaSecurityKey Key { get; }

    public SigningCredentials Credentials { get; }

    public void Dispose() => rsa.Dispose();
}
