// Why binary + Brotli rather than JSON, measured sizes and the versioning rules: README.md in this folder.
using System.Security.Cryptography;
using Bff.Sessions;
using Microsoft.AspNetCore.DataProtection;

namespace Bff.Redis;

/// <summary>
/// A session as it is written to Redis, encrypted and authenticated with Data Protection under its own purpose,
/// because it carries the user's tokens. The session's cookie value is not in it (Redis knows the session only by the
/// value's hash), and the payload names the id it was written under, so a payload copied to another session's key
/// does not decode.
/// <para>
/// Small, because every session costs Redis memory: a binary record (<see cref="SessionRecord"/>) in which JWTs keep
/// their segments as bytes rather than base64url text, compressed with Brotli (<see cref="CompressedSessionRecord"/>) before it is encrypted. Sessions take
/// 40-60 % fewer bytes than the same sessions as JSON (README.md). Compressing before encrypting lets the length
/// hint at the content (the CRIME/BREACH family of attacks), but only to someone who reads Redis, and a payload mixes
/// one user's tokens only with that same user's claims: nothing an attacker controls sits next to someone else's
/// secret.
/// </para>
/// </summary>
internal sealed class SessionPayloadProtector(IDataProtectionProvider dataProtection)
{
    /// <summary>Bump the version when the format changes: old payloads then fail to decode and read as "no session". The key name (<c>session:v2:</c>) changes with it; README.md has the rules.</summary>
    public const string Purpose = "Bff.Sessions.Redis.Payload.v2";

    /// <summary>The most a payload may claim to decompress to (<see cref="CompressedSessionRecord.MaxRecordBytes"/>).</summary>
    internal const int MaxRecordBytes = CompressedSessionRecord.MaxRecordBytes;

    // Created on first use: the key ring's options (which need Bff:Redis) must not be resolved while services are composed.
    private readonly Lazy<IDataProtector> _protector = new(() => dataProtection.CreateProtector(Purpose));

    private IDataProtector Protector => _protector.Value;

    public byte[] Protect(string sessionId, UserSession session) =>
        Protector.Protect(CompressedSessionRecord.Encode(sessionId, session, SessionRecord.Times.UnixMilliseconds));

    /// <summary>
    /// False when the payload does not decrypt (the key ring was lost or replaced, or the format version changed),
    /// does not decode, or does not belong to <paramref name="sessionId"/>: the caller treats the session as gone.
    /// </summary>
    public bool TryUnprotect(string key, string sessionId, ReadOnlySpan<byte> payload, out UserSession? session)
    {
        session = null;
        byte[] framed;
        try
        {
            framed = Protector.Unprotect(payload.ToArray());
        }
        catch (CryptographicException)
        {
            return false;
        }

        return CompressedSessionRecord.TryDecode(framed, key, sessionId, SessionRecord.Times.UnixMilliseconds, out session);
    }
}
