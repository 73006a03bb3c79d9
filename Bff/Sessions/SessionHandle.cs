using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Bff.Sessions;

/// <summary>
/// The name a list of sessions gives each session, and by which a user or an administrator ends one. Derived one-way
/// from the store id (itself a hash of the cookie value), under its own label: it is neither the cookie value nor the
/// store id, and knowing it gives no way to either. Not a credential: ending a session by its handle also takes the
/// right of its user (their own session) or an administrator's token.
/// </summary>
internal static class SessionHandle
{
    private const string Label = "bff.session-handle.v1:";

    /// <summary>128 bits, base64url: 22 characters.</summary>
    public const int Length = 22;

    public static string For(string sessionId)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.ASCII.GetBytes(Label + sessionId), digest);
        return Base64Url.EncodeToString(digest[..16]);
    }

    /// <summary>Shape check before anything is looked up.</summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: Length } && !value.AsSpan().ContainsAnyExcept(Base64UrlCharacters);

    private static readonly SearchValues<char> Base64UrlCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}
