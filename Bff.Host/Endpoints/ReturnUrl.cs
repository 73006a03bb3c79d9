using System.Globalization;

namespace Bff.Endpoints;

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
}
