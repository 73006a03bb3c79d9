using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Bff.Tests.Infrastructure;

/// <summary>A DPoP proof as a server reads it (RFC 9449 §4.3), checked by hand: what the stub provider and API rely on.</summary>
public sealed record DPoPProofClaims(string Typ, string Alg, string Thumbprint, string Jti, string Htm, string Htu, long Iat, string? Ath, string? Nonce, string JwkJson);

public static class DPoPProofReader
{
    /// <summary>The proof's claims when it is a well-formed dpop+jwt whose signature verifies with its own jwk; else null.</summary>
    public static DPoPProofClaims? Read(string? proof)
    {
        var parts = proof?.Split('.');
        if (parts is not { Length: 3 })
        {
            return null;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var h = header.RootElement;
            var p = payload.RootElement;
            var jwk = h.GetProperty("jwk");
            var alg = h.GetProperty("alg").GetString()!;
            if (jwk.TryGetProperty("d", out _) || jwk.TryGetProperty("p", out _))
            {
                return null; // a private key in a header is a fatal mistake, never "valid"
            }

            var input = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
            var signature = Base64Url.DecodeFromChars(parts[2]);
            string canonical;
            bool valid;
            if (jwk.GetProperty("kty").GetString() == "EC")
            {
                using var ec = ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = Base64Url.DecodeFromChars(jwk.GetProperty("x").GetString()), Y = Base64Url.DecodeFromChars(jwk.GetProperty("y").GetString()) },
                });
                valid = alg == "ES256" && ec.VerifyData(input, signature, HashAlgorithmName.SHA256);
                canonical = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{jwk.GetProperty("x").GetString()}\",\"y\":\"{jwk.GetProperty("y").GetString()}\"}}";
            }
            else
            {
                using var rsa = RSA.Create(new RSAParameters
                {
                    Modulus = Base64Url.DecodeFromChars(jwk.GetProperty("n").GetString()),
                    Exponent = Base64Url.DecodeFromChars(jwk.GetProperty("e").GetString()),
                });
                var padding = alg == "PS256" ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
                valid = alg is "RS256" or "PS256" && rsa.VerifyData(input, signature, HashAlgorithmName.SHA256, padding);
                canonical = $"{{\"e\":\"{jwk.GetProperty("e").GetString()}\",\"kty\":\"RSA\",\"n\":\"{jwk.GetProperty("n").GetString()}\"}}";
            }

            if (!valid)
            {
                return null;
            }

            return new DPoPProofClaims(
                h.GetProperty("typ").GetString()!,
                alg,
                Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))),
                p.GetProperty("jti").GetString()!,
                p.GetProperty("htm").GetString()!,
                p.GetProperty("htu").GetString()!,
                p.GetProperty("iat").GetInt64(),
                p.TryGetProperty("ath", out var ath) ? ath.GetString() : null,
                p.TryGetProperty("nonce", out var nonce) ? nonce.GetString() : null,
                jwk.GetRawText());
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or CryptographicException)
        {
            return null;
        }
    }

    /// <summary>RFC 9449 §4.2 <c>ath</c>.</summary>
    public static string AccessTokenHash(string accessToken) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
}
