using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bff.Tokens;
using Microsoft.AspNetCore.DataProtection;

namespace Bff.Sessions.Redis;

/// <summary>
/// A session as it is written to Redis: compact JSON (short names, Unix-millisecond times), encrypted and
/// authenticated with Data Protection under its own purpose, because it carries the user's tokens. The session's
/// cookie value is not in it (Redis knows the session only by the value's hash), and the payload names the id it was
/// written under, so a payload copied to another session's key does not decode.
/// </summary>
internal sealed class SessionPayloadProtector(IDataProtectionProvider dataProtection)
{
    /// <summary>Bump the version when the format changes: old payloads then fail to decode and read as "no session".</summary>
    public const string Purpose = "Bff.Sessions.Redis.Payload.v1";

    // Created on first use: the key ring's options (which need Bff:Redis) must not be resolved while services are composed.
    private readonly Lazy<IDataProtector> _protector = new(() => dataProtection.CreateProtector(Purpose));

    private IDataProtector Protector => _protector.Value;

    public byte[] Protect(string sessionId, UserSession session)
    {
        var tokens = session.Tokens;
        var stored = new StoredSession
        {
            Id = sessionId,
            PublicId = session.PublicId,
            Subject = session.Subject,
            ProviderSessionId = session.ProviderSessionId,
            Claims = [.. session.Claims.Select(c => new[] { c.Type, c.Value })],
            CreatedAt = session.CreatedAt.ToUnixTimeMilliseconds(),
            AbsoluteExpiresAt = session.AbsoluteExpiresAt.ToUnixTimeMilliseconds(),
            IdleExpiresAt = session.IdleExpiresAt.ToUnixTimeMilliseconds(),
            AccessToken = tokens.AccessToken,
            AccessTokenExpiresAt = tokens.AccessTokenExpiresAt.ToUnixTimeMilliseconds(),
            RefreshToken = tokens.RefreshToken,
            IdToken = tokens.IdToken,
            TokenVersion = tokens.Version,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(stored, StoredSessionJsonContext.Default.StoredSession);
        return Protector.Protect(json);
    }

    /// <summary>
    /// False when the payload does not decrypt (the key ring was lost or replaced, or the format version changed) or
    /// does not belong to <paramref name="sessionId"/>: the caller treats the session as gone.
    /// </summary>
    public bool TryUnprotect(string key, string sessionId, byte[] payload, out UserSession? session)
    {
        session = null;
        StoredSession? stored;
        try
        {
            var json = Protector.Unprotect(payload);
            stored = JsonSerializer.Deserialize(json, StoredSessionJsonContext.Default.StoredSession);
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (JsonException)
        {
            return false;
        }

        if (stored is null || !string.Equals(stored.Id, sessionId, StringComparison.Ordinal))
        {
            return false;
        }

        session = new UserSession
        {
            Key = key,
            PublicId = stored.PublicId,
            Subject = stored.Subject,
            ProviderSessionId = stored.ProviderSessionId,
            Claims = [.. stored.Claims.Select(c => new SessionClaim(c[0], c[1]))],
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(stored.CreatedAt),
            AbsoluteExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(stored.AbsoluteExpiresAt),
            IdleExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(stored.IdleExpiresAt),
            Tokens = new TokenSet
            {
                AccessToken = stored.AccessToken,
                AccessTokenExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(stored.AccessTokenExpiresAt),
                RefreshToken = stored.RefreshToken,
                IdToken = stored.IdToken,
                Version = stored.TokenVersion,
            },
        };
        return true;
    }
}

internal sealed class StoredSession
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("pid")]
    public required string PublicId { get; init; }

    [JsonPropertyName("sub")]
    public required string Subject { get; init; }

    [JsonPropertyName("sid")]
    public string? ProviderSessionId { get; init; }

    [JsonPropertyName("c")]
    public required string[][] Claims { get; init; }

    [JsonPropertyName("ca")]
    public long CreatedAt { get; init; }

    [JsonPropertyName("ae")]
    public long AbsoluteExpiresAt { get; init; }

    [JsonPropertyName("ie")]
    public long IdleExpiresAt { get; init; }

    [JsonPropertyName("at")]
    public required string AccessToken { get; init; }

    [JsonPropertyName("ate")]
    public long AccessTokenExpiresAt { get; init; }

    [JsonPropertyName("rt")]
    public string? RefreshToken { get; init; }

    [JsonPropertyName("it")]
    public string? IdToken { get; init; }

    [JsonPropertyName("tv")]
    public long TokenVersion { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredSession))]
internal sealed partial class StoredSessionJsonContext : JsonSerializerContext;
