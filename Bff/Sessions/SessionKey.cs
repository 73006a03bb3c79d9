using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Bff.Sessions;

/// <summary>
/// The opaque value the session cookie carries: 256 random bits, base64url. It is the only thing the browser holds;
/// everything else lives in the session store, looked up by this key.
/// </summary>
internal static class SessionKey
{
    private const int KeyBytes = 32;

    /// <summary>Length of a key in base64url characters (no padding).</summary>
    public const int Length = 43;

    public static string Create() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>A short random id that may be shown to page script (the logout URL carries it); it is not a credential.</summary>
    public static string CreatePublicId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// Cheap shape check so that a tampered, truncated or foreign cookie never reaches the store.
    /// </summary>
    public static bool IsWellFormed(string? value) => value is not null && IsWellFormed(value.AsSpan());

    /// <inheritdoc cref="IsWellFormed(string?)"/>
    public static bool IsWellFormed(ReadOnlySpan<char> value)
    {
        if (value.Length != Length)
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
