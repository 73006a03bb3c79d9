using System.Security.Cryptography;

namespace Bff.Configuration;

/// <summary>The signature algorithms a DPoP key may use (<c>Bff:DPoP:Algorithm</c>).</summary>
public enum DPoPAlgorithm
{
    /// <summary>ECDSA with the P-256 curve and SHA-256: the smallest proofs and the cheapest signatures.</summary>
    ES256,

    /// <summary>RSASSA-PKCS1-v1_5 with SHA-256, for providers or APIs that accept only RSA.</summary>
    RS256,

    /// <summary>RSASSA-PSS with SHA-256.</summary>
    PS256,
}

/// <summary>
/// DPoP (RFC 9449): access tokens bound to a key the gateway holds, so that a token leaked from an API's logs cannot be
/// replayed by anyone else (<c>Bff:DPoP</c>). Off by default.
/// </summary>
public sealed class DPoPSettings
{
    /// <summary>The default of <see cref="KeyLifetime"/>.</summary>
    public static readonly TimeSpan DefaultKeyLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Whether token requests carry DPoP proofs and DPoP-bound tokens are sent upstream with a proof for each call.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>The key's algorithm: <c>ES256</c> (default), <c>RS256</c> or <c>PS256</c>.</summary>
    public DPoPAlgorithm Algorithm { get; set; } = DPoPAlgorithm.ES256;

    /// <summary>
    /// A PEM file (PKCS#8 or SEC1/PKCS#1) holding the private key, mounted from a secret and the same on every replica.
    /// Without it the gateway generates a key and keeps it, encrypted by Data Protection, in the session store (Redis
    /// when sessions are there), so every replica uses the same one.
    /// </summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// Earlier key files still honoured for sessions whose tokens are bound to them, until those tokens are renewed
    /// (with the <see cref="KeyFile"/> key). Rotation: move the old path here and point <see cref="KeyFile"/> at the new key.
    /// </summary>
    public IList<string> PreviousKeyFiles { get; set; } = [];

    /// <summary>
    /// How long a generated key is used for new tokens before a new one is generated (the old one stays usable for tokens
    /// already bound to it). Not used with <see cref="KeyFile"/>.
    /// </summary>
    public TimeSpan KeyLifetime { get; set; } = DefaultKeyLifetime;

    /// <summary>
    /// Reads a private key from a PEM file for <paramref name="algorithm"/>: a P-256 key for ES256, an RSA key of at
    /// least 2048 bits otherwise. The caller disposes the key.
    /// </summary>
    internal static AsymmetricAlgorithm? TryLoadKey(string path, DPoPAlgorithm algorithm, out string? problem)
    {
        problem = null;
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            problem = $"cannot be read ({ex.GetType().Name})";
            return null;
        }

        try
        {
            if (algorithm == DPoPAlgorithm.ES256)
            {
                var ec = ECDsa.Create();
                ec.ImportFromPem(pem);
                var parameters = ec.ExportParameters(includePrivateParameters: true);
                if (parameters.Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value || parameters.D is null)
                {
                    ec.Dispose();
                    problem = "does not hold a P-256 (prime256v1) private key, which ES256 needs";
                    return null;
                }

                return ec;
            }

            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048)
            {
                rsa.Dispose();
                problem = $"holds an RSA key of {rsa.KeySize} bits; {algorithm} needs at least 2048";
                return null;
            }

            _ = rsa.ExportParameters(includePrivateParameters: true);
            return rsa;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            problem = algorithm == DPoPAlgorithm.ES256
                ? "does not hold an unencrypted EC private key in PEM form"
                : "does not hold an unencrypted RSA private key in PEM form";
            return null;
        }
    }
}
