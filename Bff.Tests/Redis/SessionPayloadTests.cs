using Bff.Provider;
using Bff.Redis;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Bff.Sessions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Redis;

/// <summary>
/// How a session is written to Redis: every field comes back exactly as it went in, whatever shape the provider's tokens
/// have; JWTs take less room than their text; a payload that is not this session's, or is damaged, reads as no session.
/// </summary>
public sealed class SessionPayloadTests
{
    private static readonly string SessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly EphemeralDataProtectionProvider _dataProtection = new();
    private readonly SessionPayloadProtector _payloads;

    public SessionPayloadTests() => _payloads = new SessionPayloadProtector(_dataProtection);

    public static TheoryData<string> TokenShapes() => new()
    {
        Jwt(1, 40, 300, 256),                      // JWS
        Jwt(2, 120, 512, 16, 1600, 32),            // JWE with an RSA-OAEP key
        Jwt(3, 60, 0, 12, 800, 16),                // JWE with a direct key: an empty segment
        Convert.ToHexString(Bytes(32, 1)),            // opaque, hex
        Base64UrlEncoder.Encode(Bytes(32, 2)),        // opaque, base64url
        "q+/zH0sV1b2XW3e4YfH6mA==",                // standard base64: '+', '/' and padding
        "abd",                                     // base64url whose last character has bits that decoding drops
        "abcde",                                   // a length no base64url text has
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",                // an unsigned JWT: empty last segment
        ".",
        "..",
        "",
        "has spaces.and text",
        "Zm9v\nYmFy",                              // base64 with a line break, which decoding would skip
        "jeton-à-accent.€",
    };

    [Theory]
    [MemberData(nameof(TokenShapes))]
    public void Every_field_comes_back_as_it_was_written_whatever_the_tokens_look_like(string token)
    {
        var session = Session(token, token, token);

        var payload = _payloads.Protect(SessionId, session);

        Assert.True(_payloads.TryUnprotect(session.Key, SessionId, payload, out var read));
        AssertSame(session, read!);
    }

    [Fact]
    public void A_session_without_refresh_or_ID_token_and_with_unusual_claims_comes_back_as_it_was_written()
    {
        var session = Session(Jwt(4, 40, 300, 256), refreshToken: null, idToken: null) with
        {
            ProviderSessionId = null,
            Claims =
            [
                new SessionClaim("name", "Zoë Ångström 山田"), new SessionClaim("role", "a"), new SessionClaim("role", "b"),
                new SessionClaim("empty", string.Empty), new SessionClaim("emoji", "👩‍💻"),
            ],
            CreatedAt = DateTimeOffset.UnixEpoch.AddMilliseconds(-5),
            Tokens = Session(Jwt(5, 40, 300, 256), null, null).Tokens with { Version = 41 },
        };

        Assert.True(_payloads.TryUnprotect(session.Key, SessionId, _payloads.Protect(SessionId, session), out var read));
        AssertSame(session, read!);
    }

    [Fact]
    public void JWTs_are_kept_as_bytes_so_a_session_takes_less_room_than_its_tokens_as_text()
    {
        // Signatures, keys and ciphertext are random bytes: compression alone would not shrink their base64url text much.
        var session = Session();
        var tokensAsText = session.Tokens.AccessToken.Length + session.Tokens.RefreshToken!.Length + session.Tokens.IdToken!.Length;

        var payload = _payloads.Protect(SessionId, session);

        Assert.True(payload.Length < tokensAsText * 0.85, $"{payload.Length} bytes for {tokensAsText} characters of tokens");
    }

    [Fact]
    public void A_payload_does_not_decode_for_another_session()
    {
        var session = Session();
        var payload = _payloads.Protect(SessionId, session);

        var otherId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        Assert.False(_payloads.TryUnprotect(session.Key, otherId, payload, out var read));
        Assert.Null(read);
    }

    [Fact]
    public void A_payload_changed_in_any_place_or_cut_short_reads_as_no_session()
    {
        var session = Session();
        var payload = _payloads.Protect(SessionId, session);

        foreach (var position in new[] { 0, 10, payload.Length / 2, payload.Length - 1 })
        {
            var changed = payload.ToArray();
            changed[position] ^= 0x01;
            Assert.False(_payloads.TryUnprotect(session.Key, SessionId, changed, out _));
        }

        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, payload.AsSpan(0, payload.Length - 1), out _));
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, [], out _));
    }

    [Fact]
    public void A_payload_from_another_format_version_reads_as_no_session()
    {
        var session = Session();
        var older = _dataProtection.CreateProtector("Bff.Sessions.Redis.Payload.v1").Protect(Encoding.UTF8.GetBytes("{\"id\":\"" + SessionId + "\"}"));

        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, older, out _));
    }

    [Fact]
    public void A_payload_that_decrypts_but_does_not_decode_reads_as_no_session_and_is_never_inflated_past_the_limit()
    {
        var session = Session();
        var protector = _dataProtection.CreateProtector(SessionPayloadProtector.Purpose);
        var record = new System.Buffers.ArrayBufferWriter<byte>();
        SessionRecord.Write(record, SessionId, session);
        var whole = record.WrittenSpan.ToArray();

        // The record decompresses to more than it says.
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(whole.Length - 1, Brotli(whole))), out _));
        // It says more than the limit (a bomb: a megabyte of zeros compresses to a few bytes).
        var bomb = new byte[SessionPayloadProtector.MaxRecordBytes + 1];
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(bomb.Length, Brotli(bomb))), out _));
        // Not Brotli at all.
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(whole.Length, whole)), out _));
        // Brotli, but the record stops half-way, or runs on.
        var half = whole[..(whole.Length / 2)];
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(half.Length, Brotli(half))), out _));
        byte[] longer = [.. whole, 0];
        Assert.False(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(longer.Length, Brotli(longer))), out _));
        // The record as written decodes (the cases above fail for the reason they name).
        Assert.True(_payloads.TryUnprotect(session.Key, SessionId, protector.Protect(Framed(whole.Length, Brotli(whole))), out _));
    }

    private static byte[] Framed(int length, byte[] compressed)
    {
        var header = new byte[VarInt.MaxLength];
        var written = VarInt.Write(header, (ulong)length);
        return [.. header[..written], .. compressed];
    }

    private static byte[] Brotli(byte[] plain)
    {
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
        Assert.True(BrotliEncoder.TryCompress(plain, buffer, out var written));
        return buffer[..written];
    }

    /// <summary>A token of dot-separated base64url segments of random bytes, of the given byte lengths.</summary>
    private static string Jwt(int seed, params int[] lengths) =>
        string.Join('.', lengths.Select((n, i) => Base64UrlEncoder.Encode(Bytes(n, (seed * 100) + i))));

    /// <summary>Random-looking bytes, the same on every run (theory data is named by its values).</summary>
    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>As the demo provider (OpenIddict) leaves it: RS256 access and ID tokens, an RSA-OAEP encrypted refresh token.</summary>
    private static UserSession Session() => Session(Jwt(6, 40, 300, 256), Jwt(7, 120, 512, 16, 1600, 32), Jwt(8, 40, 250, 256));

    private static UserSession Session(string accessToken, string? refreshToken, string? idToken)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_796_415_093_123);
        return new UserSession
        {
            Key = SessionKey.Create("d7a3c1e0-alice"),
            PublicId = SessionKey.CreatePublicId(),
            Subject = "d7a3c1e0-alice",
            ProviderSessionId = "739ADF896C3A73A2B5FAA30902178075",
            Claims = [new SessionClaim("sub", "d7a3c1e0-alice"), new SessionClaim("name", "Alice Smith"), new SessionClaim("preferred_username", "alice")],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = accessToken,
                AccessTokenExpiresAt = now.AddMinutes(5),
                RefreshToken = refreshToken,
                IdToken = idToken,
                Version = 3,
            },
        };
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_granted_scope_comes_back_with_or_without_a_known_lifetime(bool lifetimeKnown)
    {
        var session = Session(Jwt(6, 40, 300, 256), null, null);
        session = session with { Tokens = session.Tokens with { Scope = "openid orders:write", AccessTokenLifetime = lifetimeKnown ? TimeSpan.FromMinutes(5) : null } };

        Assert.True(_payloads.TryUnprotect(session.Key, SessionId, _payloads.Protect(SessionId, session), out var read));

        Assert.Equal("openid orders:write", read!.Tokens.Scope);
        Assert.Equal(session.Tokens.AccessTokenLifetime, read.Tokens.AccessTokenLifetime);
    }

    [Theory]
    [InlineData(true, "openid orders:write")]
    [InlineData(false, "openid")]
    [InlineData(false, null)]
    [InlineData(true, null)]
    public void A_DPoP_bound_session_comes_back_bound_to_its_key_whatever_precedes_it(bool lifetimeKnown, string? scope)
    {
        var session = Session(Jwt(6, 40, 300, 256), null, null);
        session = session with
        {
            Tokens = session.Tokens with
            {
                Scope = scope,
                AccessTokenLifetime = lifetimeKnown ? TimeSpan.FromMinutes(5) : null,
                DPoPKeyThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
            },
        };

        Assert.True(_payloads.TryUnprotect(session.Key, SessionId, _payloads.Protect(SessionId, session), out var read));

        AssertSame(session, read!);
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", read!.Tokens.DPoPKeyThumbprint);
        Assert.StartsWith("DPoP ", read.Tokens.AuthorizationHeader, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bearer_session_is_written_byte_for_byte_as_before_DPoP_so_older_replicas_still_read_it()
    {
        var session = Session() with { Tokens = Session().Tokens with { Scope = "openid", AccessTokenLifetime = TimeSpan.FromMinutes(5) } };
        var bound = session with { Tokens = session.Tokens with { DPoPKeyThumbprint = "jkt" } };

        var bearer = new System.Buffers.ArrayBufferWriter<byte>();
        SessionRecord.Write(bearer, SessionId, session);
        var withKey = new System.Buffers.ArrayBufferWriter<byte>();
        SessionRecord.Write(withKey, SessionId, bound);

        // The thumbprint is one field appended at the end; without it the record ends where it always did.
        Assert.True(withKey.WrittenSpan.StartsWith(bearer.WrittenSpan));
        Assert.Equal([(byte)4, .. "jkt"u8], withKey.WrittenSpan[bearer.WrittenCount..].ToArray());
        Assert.Equal("Bearer " + session.Tokens.AccessToken, session.Tokens.AuthorizationHeader);
    }

    private static void AssertSame(UserSession expected, UserSession actual)
    {
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.PublicId, actual.PublicId);
        Assert.Equal(expected.Subject, actual.Subject);
        Assert.Equal(expected.ProviderSessionId, actual.ProviderSessionId);
        Assert.Equal(expected.Claims, actual.Claims);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.AbsoluteExpiresAt, actual.AbsoluteExpiresAt);
        Assert.Equal(expected.IdleExpiresAt, actual.IdleExpiresAt);
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Tokens.AccessTokenExpiresAt, actual.Tokens.AccessTokenExpiresAt);
    }
}
