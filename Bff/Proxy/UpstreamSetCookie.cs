using System.Buffers;

namespace Bff.Proxy;

/// <summary>What a route lets through of its API's <c>Set-Cookie</c> headers (route metadata <c>Bff.SetCookie</c>).</summary>
internal enum UpstreamCookies
{
    /// <summary>None: the API shares the gateway's origin, and every cookie on it rides on every call to the gateway. The default.</summary>
    Drop,

    /// <summary>The API's own cookies, within bounds; never one a browser would read as one of the gateway's.</summary>
    Allow,
}

/// <summary>
/// Reads an upstream <c>Set-Cookie</c> the way a browser does (RFC 6265bis §5.6: the name is what precedes the first
/// <c>=</c> of the first <c>;</c>-separated pair, with spaces and tabs around it removed; a pair without <c>=</c> is a
/// nameless cookie; a control character other than a tab makes the browser ignore or truncate the header) and decides
/// on the whole header. The gateway owns the <c>__Host-</c> and <c>__Secure-</c> prefixes, which browsers match without
/// regard to case: its session cookie and its sign-in cookies live there.
/// </summary>
internal static class UpstreamSetCookie
{
    /// <summary>Longest <c>Set-Cookie</c> header an <c>Allow</c> route passes on (name, value and attributes).</summary>
    public const int MaxLength = 1024;

    /// <summary>Most cookies one response of an <c>Allow</c> route may set; the rest are dropped.</summary>
    public const int MaxPerResponse = 4;

    public enum Verdict
    {
        Allowed,

        /// <summary>A browser would read its name as one of the gateway's cookies or prefixes.</summary>
        GatewayCookie,

        /// <summary>Nameless, empty, or with control characters a browser would act on unpredictably.</summary>
        Malformed,

        TooLarge,
    }

    public static Verdict Judge(string? header, string sessionCookieName)
    {
        if (string.IsNullOrEmpty(header))
        {
            return Verdict.Malformed;
        }

        var text = header.AsSpan();
        if (text.ContainsAny(ControlCharacters))
        {
            return Verdict.Malformed;
        }

        var pairEnd = text.IndexOf(';');
        var pair = pairEnd >= 0 ? text[..pairEnd] : text;
        var equals = pair.IndexOf('=');
        if (equals < 0)
        {
            // A nameless cookie: browsers send its value alone, which a server may read as "name=value".
            return Verdict.Malformed;
        }

        var name = pair[..equals].Trim(Whitespace.AsSpan());
        if (name.IsEmpty)
        {
            return Verdict.Malformed;
        }

        if (IsGatewayName(name, sessionCookieName))
        {
            return Verdict.GatewayCookie;
        }

        return header.Length > MaxLength ? Verdict.TooLarge : Verdict.Allowed;
    }

    /// <summary>The session cookie's name or a name in the prefixes the gateway owns, in any case.</summary>
    public static bool IsGatewayName(ReadOnlySpan<char> name, string sessionCookieName) =>
        name.StartsWith(HostPrefix, StringComparison.OrdinalIgnoreCase)
        || name.StartsWith(SecurePrefix, StringComparison.OrdinalIgnoreCase)
        || name.Equals(sessionCookieName, StringComparison.OrdinalIgnoreCase);

    private const string HostPrefix = "__Host-";
    private const string SecurePrefix = "__Secure-";
    private const string Whitespace = " \t";

    /// <summary>Control characters other than a tab (RFC 6265bis §5.6 step 1).</summary>
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\n\u000b\u000c\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");
}
