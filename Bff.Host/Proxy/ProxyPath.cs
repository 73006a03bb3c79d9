using System.Buffers;
using System.Globalization;

namespace Bff.Proxy;

/// <summary>
/// Kestrel has already percent-decoded the path (except <c>%2F</c>) and removed its dot segments, and YARP re-encodes
/// it exactly, so an API that decodes once sees the same path the gateway routed. A path is refused when an API
/// that decodes twice, treats '\' as '/', or honours <c>..;</c> (Tomcat) could still read it as another path:
/// encoded separators, dots or percents that survived decoding, backslashes, and dot segments with parameters.
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
                && (char)encoded is '/' or '\\' or '.' or '%')
            {
                return true;
            }
        }

        return false;
    }
}
