using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bff.Configuration;

namespace Bff.DPoP;

/// <summary>
/// One DPoP key pair with what every proof made with it shares: the JWS header (<c>typ</c>, <c>alg</c> and the public
/// <c>jwk</c>), encoded once, and the key's RFC 7638 thumbprint, the <c>jkt</c> tokens are bound to. The private key
/// never leaves this object: no property exposes it, and <see cref="ToString"/> names the thumbprint only.
/// </summary>
internal sealed class DPoPKey : IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    public DPoPKey(AsymmetricAlgorithm key, DPoPAlgorithm algorithm, DateTimeOffset createdAt)
    {
        if ((algorithm == DPoPAlgorithm.ES256) != key is ECDsa)
        {
            throw new ArgumentException($"A {key.GetType().Name} cannot sign {algorithm}.", nameof(key));
        }

        _key = key;
        Algorithm = algorithm;
        CreatedAt = createdAt;
        PublicJwk = CanonicalJwk(key);
        Thumbprint = Base64Url.EncodeToString(SHA256.HashData(PublicJwk));
        EncodedHeader = Base64Url.EncodeToUtf8(Header(algorithm, PublicJwk));
    }

    public DPoPAlgorithm Algorithm { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The RFC 7638 JWK SHA-256 thumbprint, base64url: what a provider puts in <c>cnf.jkt</c>; safe to log.</summary>
    public string Thumbprint { get; }

    /// <summary>The public key's required members in lexicographic order, without whitespace (RFC 7638 §3).</summary>
    public byte[] PublicJwk { get; }

    /// <summary>The base64url JWS header, the same for every proof made with this key.</summary>
    public byte[] EncodedHeader { get; }

    /// <summary>The signature's length in bytes (64 for ES256, the modulus length for RSA).</summary>
    public int SignatureLength => _key is ECDsa ? 64 : _key.KeySize / 8;

    public static DPoPKey Generate(DPoPAlgorithm algorithm, DateTimeOffset createdAt) =>
        new(algorithm == DPoPAlgorithm.ES256 ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048), algorithm, createdAt);

    /// <summary>Reads a key written by <see cref="ExportPrivateKey"/>.</summary>
    public static DPoPKey Import(ReadOnlySpan<byte> pkcs8, DPoPAlgorithm algorithm, DateTimeOffset createdAt)
    {
        AsymmetricAlgorithm key = algorithm == DPoPAlgorithm.ES256 ? ECDsa.Create() : RSA.Create();
        try
        {
            if (key is ECDsa ec)
            {
                ec.ImportPkcs8PrivateKey(pkcs8, out _);
            }
            else
            {
                ((RSA)key).ImportPkcs8PrivateKey(pkcs8, out _);
            }

            return new DPoPKey(key, algorithm, createdAt);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>PKCS#8, for the key store, which keeps it only encrypted.</summary>
    public byte[] ExportPrivateKey() => _key.ExportPkcs8PrivateKey();

    /// <summary>Signs the JWS signing input; returns the number of bytes written.</summary>
    public int Sign(ReadOnlySpan<byte> signingInput, Span<byte> signature) => _key switch
    {
        ECDsa ec => ec.SignData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        RSA rsa => rsa.SignData(signingInput, signature, HashAlgorithmName.SHA256,
            Algorithm == DPoPAlgorithm.PS256 ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("Unsupported key type."),
    };

    /// <summary>Checks a signature made by this key (tests, and the demo API).</summary>
    public bool Verify(ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature) => _key switch
    {
        ECDsa ec => ec.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        RSA rsa => rsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256,
            Algorithm == DPoPAlgorithm.PS256 ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1),
        _ => false,
    };

    public override string ToString() => $"DPoP key {Algorithm} {Thumbprint}";

    public void Dispose() => _key.Dispose();

    /// <summary>RFC 7638: EC {crv, kty, x, y}, RSA {e, kty, n}, in that order, no whitespace.</summary>
    internal static byte[] CanonicalJwk(AsymmetricAlgorithm key)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (key is ECDsa ec)
            {
                var parameters = ec.ExportParameters(includePrivateParameters: false);
                json.WriteString("crv", "P-256");
                json.WriteString("kty", "EC");
                json.WriteString("x", Base64Url.EncodeToString(parameters.Q.X));
                json.WriteString("y", Base64Url.EncodeToString(parameters.Q.Y));
            }
            else
            {
                var parameters = ((RSA)key).ExportParameters(includePrivateParameters: false);
                json.WriteString("e", Base64Url.EncodeToString(parameters.Exponent));
                json.WriteString("kty", "RSA");
                json.WriteString("n", Base64Url.EncodeToString(parameters.Modulus));
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static byte[] Header(DPoPAlgorithm algorithm, byte[] jwk)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"typ\":\"dpop+jwt\",\"alg\":\"{algorithm}\",\"jwk\":");
        return [.. prefix, .. jwk, (byte)'}'];
    }
}
