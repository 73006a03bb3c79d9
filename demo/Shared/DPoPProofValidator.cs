using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Demo;

/// <summary>The outcome of checking a DPoP proof: the key's thumbprint, or an RFC 9449 error code and a phrase (never the proof).</summary>
internal readonly record struct DPoPCheck(string? Thumbprint, string? Error, string? Description)
{
    public const string InvalidProof = "invalid_dpop_proof";
    public const string UseNonce = "use_dpop_nonce";

    public bool Succeeded => Error is null;

    public static DPoPCheck Valid(string thumbprint) => new(thumbprint, null, null);

    public static DPoPCheck Invalid(string description) => new(null, InvalidProof, description);
}

/// <summary>
/// Server-chosen DPoP nonces (RFC 9449 §8, §9): one random value at a time, replaced every <see cref="Lifetime"/>; the
/// previous one stays valid so a proof made just before the change is not refused.
/// </summary>
internal sealed class DPoPNonceSource(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private string _current = NewNonce();
    private string? _previous;
    private DateTimeOffset _changed = time.GetUtcNow();

    public string Current
    {
        get
        {
            lock (_gate)
            {
                if (time.GetUtcNow() - _changed >= Lifetime)
                {
                    (_previous, _current, _changed) = (_current, NewNonce(), time.GetUtcNow());
                }

                return _current;
            }
        }
    }

    public bool IsValid(string? nonce)
    {
        var current = Current;
        lock (_gate)
        {
            return nonce is not null && (string.Equals(nonce, current, StringComparison.Ordinal) || string.Equals(nonce, _previous, StringComparison.Ordinal));
        }
    }

    private static string NewNonce() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(24));
}

/// <summary>
/// Checks a DPoP proof as RFC 9449 §4.3 asks of an authorization server or a resource server: one well-formed
/// <c>dpop+jwt</c>, an asymmetric algorithm, a public <c>jwk</c> that verifies the signature, <c>htm</c> and <c>htu</c>
/// of this very request, a recent <c>iat</c>, the server's nonce when it wants one, <c>ath</c> of the access token
/// presented with it, and a <c>jti</c> never seen before. Shared by the demo provider and the demo API.
/// </summary>
internal sealed class DPoPProofValidator(TimeProvider time, DPoPNonceSource? nonces)
{
    public const string HeaderName = "DPoP";
    public const string NonceHeaderName = "DPoP-Nonce";

    /// <summary>What the demo accepts; <c>none</c> and symmetric algorithms never.</summary>
    public static readonly string[] Algorithms = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"];

    /// <summary>How old a proof may be; a used <c>jti</c> is remembered at least this long.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan FutureSkew = TimeSpan.FromSeconds(5);
    private static readonly string[] PrivateKeyMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>Whether this server asks for nonces; when it does, <see cref="DPoPNonceSource.Current"/> is the one to send.</summary>
    public DPoPNonceSource? Nonces => nonces;

    /// <summary>The request's target as RFC 9449 §4.3 compares it with <c>htu</c>: without query and fragment.</summary>
    public static Uri TargetOf(HttpRequest request) =>
        new($"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}");

    public async Task<DPoPCheck> ValidateAsync(HttpRequest request, string? accessToken)
    {
        var headers = request.Headers[HeaderName];
        if (headers.Count != 1 || string.IsNullOrEmpty(headers[0]))
        {
            return DPoPCheck.Invalid(headers.Count == 0 ? "No DPoP proof was sent." : "Exactly one DPoP proof must be sent.");
        }

        return await ValidateAsync(headers[0]!, request.Method, TargetOf(request), accessToken);
    }

    public async Task<DPoPCheck> ValidateAsync(string proof, string method, Uri target, string? accessToken)
    {
        if (proof.Length > 8192 || proof.Split('.') is not { Length: 3 } parts)
        {
            return DPoPCheck.Invalid("The DPoP proof is not a compact JWS.");
        }

        JsonWebKey key;
        try
        {
            using var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0]));
            var root = header.RootElement;
            if (!root.TryGetProperty("typ", out var typ) || typ.ValueKind != JsonValueKind.String || typ.GetString() != "dpop+jwt")
            {
                return DPoPCheck.Invalid("The DPoP proof's typ is not dpop+jwt.");
            }

            if (!root.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || !Algorithms.Contains(alg.GetString()))
            {
                return DPoPCheck.Invalid("The DPoP proof's alg is not an accepted asymmetric algorithm.");
            }

            if (!root.TryGetProperty("jwk", out var jwk) || jwk.ValueKind != JsonValueKind.Object)
            {
                return DPoPCheck.Invalid("The DPoP proof carries no jwk.");
            }

            if (PrivateKeyMembers.Any(member => jwk.TryGetProperty(member, out _)))
            {
                return DPoPCheck.Invalid("The DPoP proof's jwk is not a public key.");
            }

            key = new JsonWebKey(jwk.GetRawText());
            if (key.Kty is not ("EC" or "RSA"))
            {
                return DPoPCheck.Invalid("The DPoP proof's jwk is neither an EC nor an RSA key.");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return DPoPCheck.Invalid("The DPoP proof's header is not readable.");
        }

        var result = await _handler.ValidateTokenAsync(proof, new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = Algorithms,
            ValidTypes = ["dpop+jwt"],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return DPoPCheck.Invalid("The DPoP proof's signature does not verify with its jwk.");
        }

        if (!jwt.TryGetPayloadValue<string>("htm", out var htm) || !string.Equals(htm, method, StringComparison.Ordinal))
        {
            return DPoPCheck.Invalid("The DPoP proof's htm is not this request's method.");
        }

        if (!jwt.TryGetPayloadValue<string>("htu", out var htu) || !SameTarget(htu, target))
        {
            return DPoPCheck.Invalid("The DPoP proof's htu is not this request's URI.");
        }

        var now = time.GetUtcNow();
        if (!jwt.TryGetPayloadValue<long>("iat", out var iat)
            || DateTimeOffset.FromUnixTimeSeconds(iat) is var issued && (issued < now - MaxAge || issued > now + FutureSkew))
        {
            return DPoPCheck.Invalid("The DPoP proof's iat is missing or not recent.");
        }

        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti) || jti.Length > 256)
        {
            return DPoPCheck.Invalid("The DPoP proof has no usable jti.");
        }

        if (nonces is not null)
        {
            jwt.TryGetPayloadValue<string>("nonce", out var nonce);
            if (!nonces.IsValid(nonce))
            {
                return new DPoPCheck(null, DPoPCheck.UseNonce, nonce is null ? "A DPoP nonce is required." : "The DPoP nonce is not current.");
            }
        }

        if (accessToken is not null
            && (!jwt.TryGetPayloadValue<string>("ath", out var ath) || !string.Equals(ath, AccessTokenHash(accessToken), StringComparison.Ordinal)))
        {
            return DPoPCheck.Invalid("The DPoP proof's ath is not the hash of the access token sent with it.");
        }

        if (!Remember(jti, now))
        {
            return DPoPCheck.Invalid("The DPoP proof was already used (jti seen before).");
        }

        return DPoPCheck.Valid(Base64UrlEncoder.Encode(key.ComputeJwkThumbprint()));
    }

    /// <summary>RFC 9449 §4.2: base64url of the SHA-256 of the token's ASCII.</summary>
    public static string AccessTokenHash(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>The <c>jkt</c> of a token's <c>cnf</c> claim (RFC 9449 §6.1), or null when the token is not bound.</summary>
    public static string? BoundThumbprint(string? cnf)
    {
        if (string.IsNullOrEmpty(cnf))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(cnf);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("jkt", out var jkt) && jkt.ValueKind == JsonValueKind.String
                ? jkt.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>RFC 9449 §4.3 step 9: scheme and host case-insensitively, default ports dropped, path exactly; query and fragment ignored.</summary>
    private static bool SameTarget(string htu, Uri target) =>
        Uri.TryCreate(htu, UriKind.Absolute, out var claimed)
        && string.Equals(claimed.Scheme, target.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(claimed.IdnHost, target.IdnHost, StringComparison.OrdinalIgnoreCase)
        && claimed.Port == target.Port
        && string.Equals(claimed.AbsolutePath, target.AbsolutePath, StringComparison.Ordinal);

    private bool Remember(string jti, DateTimeOffset now)
    {
        if (_seen.Count > 10_000)
        {
            foreach (var (seen, until) in _seen)
            {
                if (until < now)
                {
                    _seen.TryRemove(seen, out _);
                }
            }
        }

        return _seen.TryAdd(jti, now + MaxAge + MaxAge);
    }
}
