using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Bff.DPoP;

/// <summary>
/// Builds DPoP proofs (RFC 9449 §4.2): the key's cached header, a payload written per call (<c>jti</c>, <c>htm</c>,
/// <c>htu</c>, <c>iat</c>, and <c>ath</c> and <c>nonce</c> when there are any) and one signature. A proof is a
/// credential for one request: never logged, never reused.
/// </summary>
internal static class DPoPProof
{
    /// <summary>The request header that carries the proof, and the response header that carries a server's nonce.</summary>
    public const string HeaderName = "DPoP";

    public const string NonceHeaderName = "DPoP-Nonce";

    /// <summary>The OAuth error a server answers when the proof lacks the nonce it wants (RFC 9449 §8, §9).</summary>
    public const string UseNonceError = "use_dpop_nonce";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_payload;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    /// <summary>A proof for one request to <paramref name="target"/> (its query and fragment are left out of <c>htu</c>).</summary>
    public static string Create(DPoPKey key, string method, Uri target, DateTimeOffset issuedAt, string? accessToken = null, string? nonce = null) =>
        Create(key, method, TargetUri(target), issuedAt, accessToken, nonce);

    public static string Create(DPoPKey key, string method, string htu, DateTimeOffset issuedAt, string? accessToken = null, string? nonce = null)
    {
        Span<byte> jti = stackalloc byte[16];
        RandomNumberGenerator.Fill(jti);
        Span<byte> ath = stackalloc byte[32];
        if (accessToken is not null)
        {
            AccessTokenHash(accessToken, ath);
        }

        var payload = t_payload ??= new ArrayBufferWriter<byte>(512);
        payload.ResetWrittenCount();
        var json = t_json;
        if (json is null)
        {
            json = t_json = new Utf8JsonWriter(payload);
        }
        else
        {
            json.Reset(payload);
        }

        Span<char> jtiText = stackalloc char[22];
        Base64Url.EncodeToChars(jti, jtiText);
        json.WriteStartObject();
        json.WriteString("jti"u8, jtiText);
        json.WriteString("htm"u8, method);
        json.WriteString("htu"u8, htu);
        json.WriteNumber("iat"u8, issuedAt.ToUnixTimeSeconds());
        if (accessToken is not null)
        {
            Span<char> athText = stackalloc char[43];
            Base64Url.EncodeToChars(ath, athText);
            json.WriteString("ath"u8, athText);
        }

        if (nonce is not null)
        {
            json.WriteString("nonce"u8, nonce);
        }

        json.WriteEndObject();
        json.Flush();
        return Sign(key, payload.WrittenSpan);
    }

    /// <summary><c>ath</c>: the SHA-256 of the access token's ASCII text (RFC 9449 §4.2), 32 bytes.</summary>
    public static void AccessTokenHash(string accessToken, Span<byte> hash)
    {
        var length = Encoding.ASCII.GetByteCount(accessToken);
        var rented = length <= 4096 ? null : ArrayPool<byte>.Shared.Rent(length);
        Span<byte> bytes = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        Encoding.ASCII.GetBytes(accessToken, bytes);
        SHA256.HashData(bytes, hash);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary><c>ath</c> as text.</summary>
    public static string AccessTokenHash(string accessToken)
    {
        Span<byte> hash = stackalloc byte[32];
        AccessTokenHash(accessToken, hash);
        return Base64Url.EncodeToString(hash);
    }

    /// <summary>RFC 9449 §9: a <c>401</c>'s <c>DPoP</c> challenge whose <c>error</c> is <c>use_dpop_nonce</c>.</summary>
    public static bool IsNonceChallenge(HttpResponseMessage response)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, HeaderName, StringComparison.OrdinalIgnoreCase)
                && challenge.Parameter?.Contains(UseNonceError, StringComparison.Ordinal) == true)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Puts a fresh proof of <paramref name="request"/> (to <paramref name="target"/>, with <paramref name="accessToken"/>) on it, replacing an earlier one.</summary>
    public static void Attach(HttpRequestMessage request, DPoPKey key, Uri target, DateTimeOffset issuedAt, string accessToken, string? nonce)
    {
        request.Headers.Remove(HeaderName);
        request.Headers.TryAddWithoutValidation(HeaderName, Create(key, request.Method.Method, target, issuedAt, accessToken, nonce));
    }

    /// <summary><c>htu</c>: scheme, host, port (unless the default) and path, without query and fragment (RFC 9449 §4.2).</summary>
    public static string TargetUri(Uri target) =>
        target.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    private static string Sign(DPoPKey key, ReadOnlySpan<byte> payload)
    {
        var header = key.EncodedHeader;
        var payloadLength = Base64Url.GetEncodedLength(payload.Length);
        var signatureLength = Base64Url.GetEncodedLength(key.SignatureLength);
        var inputLength = header.Length + 1 + payloadLength;
        var buffer = ArrayPool<byte>.Shared.Rent(inputLength + 1 + signatureLength + key.SignatureLength);
        try
        {
            header.CopyTo(buffer, 0);
            buffer[header.Length] = (byte)'.';
            Base64Url.EncodeToUtf8(payload, buffer.AsSpan(header.Length + 1, payloadLength));
            var signature = buffer.AsSpan(inputLength + 1 + signatureLength, key.SignatureLength);
            var signed = key.Sign(buffer.AsSpan(0, inputLength), signature);
            buffer[inputLength] = (byte)'.';
            var written = Base64Url.EncodeToUtf8(signature[..signed], buffer.AsSpan(inputLength + 1, signatureLength));
            return Encoding.ASCII.GetString(buffer, 0, inputLength + 1 + written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
