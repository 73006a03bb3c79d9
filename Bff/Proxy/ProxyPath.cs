using System.Buffers;
using System.Globalization;

namespace Bff.Proxy;

/// <summary>
/// Kestrel has already percent-decoded the path (except <c>%2F</c>) and removed its dot segments, and YARP re-encodes
/// it exactly, so an API that decodes once sees the same path the gateway routed. A path is refused when an API
/// that decodes twice, treats '\' as '/', or honours <c>..;</c> (Tomcat) could still read it as another path:
/// encoded separators, dots or percents that survived decoding, backslashes, and dot segments with parameters.
/// Kestrel leaves a percent sequence it cannot decode (<c>%zz</c>, IIS's <c>%u002e</c>, overlong UTF-8 such as
/// <c>%c0%ae</c>) in the path as it came, and YARP would forward it as <c>%25…</c> for a lenient decoder to read as a
/// dot or a slash: such request targets are refused too.
/// </summary>
internal static class ProxyPath
{
    private static readonly SearchValues<char> Suspicious = SearchValues.Create("%\\");

    public static bool IsAmbiguous(string? path)
    {
        var span = path.AsSpan();
        var suspicious = span.IndexOfAny(Suspicious);
        if (suspicious >= 0 && HasEncodedSeparatorOrBackslash(span[suspicious..]))
        {
            return true;
        }

        for (var dot = span.IndexOf("/.", StringComparison.Ordinal); dot >= 0; dot = Next(span, dot))
        {
            var segment = span[(dot + 1)..];
            var end = segment.IndexOf('/');
            segment = end >= 0 ? segment[..end] : segment;
            var parameters = segment.IndexOf(';');
            var name = parameters >= 0 ? segment[..parameters] : segment;
            if (name is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    private static int Next(ReadOnlySpan<char> path, int previous)
    {
        var next = path[(previous + 1)..].IndexOf("/.", StringComparison.Ordinal);
        return next < 0 ? -1 : previous + 1 + next;
    }

    private static bool HasEncodedSeparatorOrBackslash(ReadOnlySpan<char> path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '\\')
            {
                return true;
            }

            if (path[i] == '%' && i + 2 < path.Length
                && byte.TryParse(path.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var encoded)
                && ((char)encoded is '/' or '\\' or '.' or '%' || encoded >= 0x80))
            {
                return true;
            }

            if (path[i] == '%' && i + 1 < path.Length && path[i + 1] is 'u' or 'U')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when the path of a raw request target has a <c>%</c> not followed by two hex digits, or percent-encoded
    /// bytes that are not well-formed UTF-8 (overlong forms, surrogates, stray continuation bytes, truncated sequences).
    /// </summary>
    public static bool HasInvalidEscapes(string? rawTarget)
    {
        var target = rawTarget.AsSpan();
        var query = target.IndexOf('?');
        var path = query >= 0 ? target[..query] : target;
        var i = path.IndexOf('%');
        if (i < 0)
        {
            return false;
        }

        // UTF-8 state across consecutive escapes: continuation bytes still expected, and the allowed range of the next.
        var pending = 0;
        byte low = 0x80, high = 0xBF;
        for (; i < path.Length; i++)
        {
            if (path[i] != '%')
            {
                if (pending > 0)
                {
                    return true;
                }

                continue;
            }

            if (i + 2 >= path.Length || !char.IsAsciiHexDigit(path[i + 1]) || !char.IsAsciiHexDigit(path[i + 2]))
            {
                return true;
            }

            var b = (byte)((HexValue(path[i + 1]) << 4) | HexValue(path[i + 2]));
            i += 2;
            if (pending > 0)
            {
                if (b < low || b > high)
                {
                    return true;
                }

                pending--;
                (low, high) = (0x80, 0xBF);
                continue;
            }

            (pending, low, high) = b switch
            {
                < 0x80 => (0, (byte)0x80, (byte)0xBF),
                >= 0xC2 and <= 0xDF => (1, (byte)0x80, (byte)0xBF),
                0xE0 => (2, (byte)0xA0, (byte)0xBF),
                0xED => (2, (byte)0x80, (byte)0x9F),
                >= 0xE1 and <= 0xEF => (2, (byte)0x80, (byte)0xBF),
                0xF0 => (3, (byte)0x90, (byte)0xBF),
                >= 0xF1 and <= 0xF3 => (3, (byte)0x80, (byte)0xBF),
                0xF4 => (3, (byte)0x80, (byte)0x8F),
                _ => (-1, (byte)0, (byte)0),
            };
            if (pending < 0)
            {
                // A continuation byte without a lead, an overlong lead (C0, C1) or a byte no UTF-8 uses (F5-FF).
                return true;
            }
        }

        return pending > 0;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
