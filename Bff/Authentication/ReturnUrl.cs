using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Bff.Authentication;

/// <summary>
/// The strict rule for post-login and post-logout targets: a path on this origin and nothing that a browser could
/// read as another origin. Stricter than <c>IsLocalUrl</c> on purpose: it starts with exactly one '/', and neither the
/// raw value nor any percent-decoding of it holds '//', a backslash, whitespace or a control character.
/// </summary>
internal static class ReturnUrl
{
    public const string Default = "/";

    private const int MaxLength = 2048;

    /// <summary>Decoding rounds: enough for double and triple encoding; anything still encoded after that is refused.</summary>
    private const int MaxDecodeRounds = 4;

    /// <summary>
    /// The form of a safe value that can be written into a <c>Location</c> header: characters outside ASCII become their
    /// UTF-8 percent-escapes, which is what a browser requests for <c>/café</c> anyway, so such links keep working.
    /// Written raw, they would make the server throw while it writes the header: after a sign-in has redeemed its code
    /// and created a session, that would be a 500. False when the value is not safe (or is an unpaired surrogate).
    /// </summary>
    public static bool TryNormalize(string? value, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (!IsSafe(value) || EscapeNonAscii(value!) is not { } escaped || !IsSafe(escaped))
        {
            return false;
        }

        normalized = escaped;
        return true;
    }

    public static bool IsSafe(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        var current = value;
        for (var round = 0; round <= MaxDecodeRounds; round++)
        {
            if (!IsSafeForm(current))
            {
                return false;
            }

            var decoded = Uri.UnescapeDataString(current);
            if (decoded == current)
            {
                return true;
            }

            current = decoded;
        }

        // Still changing after several rounds: nobody legitimate encodes a path that deep.
        return false;
    }

    private static bool IsSafeForm(string value)
    {
        if (value.Length == 0 || value[0] != '/')
        {
            return false;
        }

        if (value.Contains("//", StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsWhiteSpace(c) || char.IsControl(c) || IsInvisible(c))
            {
                return false;
            }

            // A '%' that does not start an escape is malformed; decoders disagree on it, so refuse it.
            if (c == '%' && (i + 2 >= value.Length || !char.IsAsciiHexDigit(value[i + 1]) || !char.IsAsciiHexDigit(value[i + 2])))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Format characters (zero-width, bidi overrides) and unpaired or private-use code points.</summary>
    private static bool IsInvisible(char c) => char.GetUnicodeCategory(c) is
        UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    private static string? EscapeNonAscii(string value)
    {
        if (Ascii.IsValid(value))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != OperationStatus.Done)
            {
                return null;
            }

            if (rune.IsAscii)
            {
                builder.Append((char)rune.Value);
            }
            else
            {
                var length = rune.EncodeToUtf8(utf8);
                foreach (var b in utf8[..length])
                {
                    builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
            }

            rest = rest[consumed..];
        }

        return builder.ToString();
    }
}
