using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Bff.Sessions;

/// <summary>
/// The opaque value the session cookie carries: 256 random bits, base64url, then a dot and the subject's
/// <see cref="SlotTag"/> (4 hex digits). It is the only thing the browser holds; everything else lives in the session
/// store, looked up by its <see cref="Id"/>.
/// <para>
/// The tag exists for Redis Cluster: a session's keys (the session, its refresh lock) and its subject's indexes must
/// share one hash slot, so that the scripts that touch them together can run, and a lookup only has the cookie.
/// A key written before the tag existed (43 characters, no dot) is still read: its <see cref="Id"/> is the bare hash,
/// as it was.
/// </para>
/// </summary>
internal static class SessionKey
{
    private const int KeyBytes = 32;

    /// <summary>Length of the random part in base64url characters (no padding).</summary>
    public const int RandomLength = 43;

    /// <summary>Length of a <see cref="SlotTag"/> in hex digits.</summary>
    public const int SlotTagLength = 4;

    /// <summary>Length of a key: the random part, a dot, the slot tag.</summary>
    public const int Length = RandomLength + 1 + SlotTagLength;

    /// <summary>A new key for a session of <paramref name="subject"/>.</summary>
    public static string Create(string subject) =>
        Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(KeyBytes)) + "." + SlotTag(subject);

    /// <summary>A short random id that may be shown to page script (the logout URL carries it); it is not a credential.</summary>
    public static string CreatePublicId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The subject's slot tag: the first 4 hex digits of the SHA-256 of the subject. Every session of a subject, and
    /// the subject's indexes, carry it. It says nothing about the subject a guess would not (16 bits of a hash).
    /// </summary>
    public static string SlotTag(string subject) => Hash(subject)[..SlotTagLength];

    /// <summary>
    /// The store's one-way id of the session a key names: <see cref="Hash"/> of the whole key, followed by
    /// <c>{tag}</c> when the key carries a slot tag (the braces are Redis Cluster's hash-tag syntax: every key named
    /// after the id lands in the tag's slot). The first 16 characters are always the session's <see cref="LogId"/>.
    /// </summary>
    public static string Id(string key)
    {
        var hash = Hash(key);
        return key.Length == Length ? hash + "{" + key[(RandomLength + 1)..] + "}" : hash;
    }

    /// <summary>
    /// Cheap shape check so that a tampered, truncated or foreign cookie never reaches the store: a current key, or
    /// one written before keys carried a slot tag.
    /// </summary>
    public static bool IsWellFormed(string? value) => value is not null && IsWellFormed(value.AsSpan());

    /// <inheritdoc cref="IsWellFormed(string?)"/>
    public static bool IsWellFormed(ReadOnlySpan<char> value)
    {
        if (value.Length == Length)
        {
            if (value[RandomLength] != '.')
            {
                return false;
            }

            foreach (var c in value[(RandomLength + 1)..])
            {
                if (!char.IsAsciiHexDigitLower(c))
                {
                    return false;
                }
            }

            value = value[..RandomLength];
        }

        if (value.Length != RandomLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A one-way id for logs, metrics and store indexes: the key itself never leaves memory and the cookie.
    /// UTF-8, not ASCII: a subject is any string, and ASCII would map every non-ASCII character to <c>?</c>, giving
    /// two users one index (for ASCII text, which every cookie value is, both encodings are the same bytes).
    /// </summary>
    public static string Hash(string value)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>A short hash for log lines.</summary>
    public static string LogId(string value) => Hash(value)[..16];
}
