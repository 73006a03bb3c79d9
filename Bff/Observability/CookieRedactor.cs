using Bff.Configuration;
using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Bff.Observability;

/// <summary>
/// Blanks cookie data wherever a log line carries it, whichever category wrote it and at whatever level:
/// <list type="bullet">
/// <item>the value of every <c>Cookie:</c> and <c>Set-Cookie:</c> header written out as text, to the end of its line (the
/// OpenID Connect handler's Debug line after a challenge lists the Set-Cookie headers it wrote);</item>
/// <item>the value of the session cookie wherever <c>{name}=</c> appears, header or not (Kestrel's bad-request log
/// quotes the raw header line it could not parse, which need not look like a header at all);</item>
/// <item>the part of a sign-in cookie's name after its prefix, which carries the protected nonce or the correlation id,
/// and its value.</item>
/// </list>
/// The names come from configuration (the session cookie's name, the sign-in cookies' prefixes); matching ignores case,
/// since what a client sent need not be spelled as the gateway spells it, and blanking too much is harmless here.
/// </summary>
internal sealed partial class CookieRedactor
{
    public const string Placeholder = UrlQueryRedactor.Placeholder;

    private readonly string[] _names;
    private readonly string[] _prefixes;
    private readonly SearchValues<string> _markers;

    /// <param name="cookieNames">Cookies whose value is secret (the session cookie).</param>
    /// <param name="cookieNamePrefixes">Cookies whose name after the prefix, and whose value, are secret (correlation, nonce).</param>
    public CookieRedactor(IEnumerable<string> cookieNames, IEnumerable<string> cookieNamePrefixes)
    {
        _names = [.. cookieNames.Where(n => n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)];
        _prefixes = [.. cookieNamePrefixes.Where(p => p.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)];
        _markers = SearchValues.Create([.. _names, .. _prefixes, "cookie"], StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The session cookie's configured name, read from configuration itself: the options are validated at start-up, and
    /// resolving them here (the logger factory comes first) would report a refused setting before the others.
    /// The sign-in cookies' prefixes without their <c>__Secure-</c>/<c>__Host-</c> part, so either spelling is matched,
    /// and ASP.NET Core's own defaults.
    /// </summary>
    public static CookieRedactor FromConfiguration(IConfiguration? configuration)
    {
        var sessionCookie = configuration?[$"{Configuration.BffOptions.SectionName}:Cookie:Name"];
        return new CookieRedactor(
            [string.IsNullOrWhiteSpace(sessionCookie) ? Configuration.CookieSettings.DefaultName : sessionCookie, Configuration.CookieSettings.DefaultName],
            [
                WithoutCookiePrefix(Configuration.CookieNames.SignInCorrelationPrefix),
                WithoutCookiePrefix(Configuration.CookieNames.SignInNoncePrefix),
                ".AspNetCore.Correlation.",
                ".AspNetCore.OpenIdConnect.Nonce.",
            ]);
    }

    /// <summary>Returns <paramref name="text"/> itself when there is nothing to blank (no allocation).</summary>
    public string Redact(string text)
    {
        if (text.AsSpan().IndexOfAny(_markers) < 0)
        {
            return text;
        }

        var result = CookieHeader().Replace(text, static m => m.Groups["head"].Value + Placeholder);
        foreach (var name in _names)
        {
            result = BlankAfter(result, name, blankNameRest: false);
        }

        foreach (var prefix in _prefixes)
        {
            result = BlankAfter(result, prefix, blankNameRest: true);
        }

        return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
    }

    /// <summary>
    /// At each occurrence of <paramref name="marker"/>: blanks the rest of the name (for a prefix) and, when an
    /// <c>=</c> follows, the value.
    /// </summary>
    private static string BlankAfter(string text, string marker, bool blankNameRest)
    {
        var at = text.IndexOf(marker, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var copied = 0;
        while (at >= 0)
        {
            var i = at + marker.Length;
            result.Append(text, copied, i - copied);
            if (blankNameRest)
            {
                var end = EndOfToken(text, i, stopAtEquals: true);
                if (end > i)
                {
                    result.Append(Placeholder);
                }

                i = end;
            }

            var j = i;
            while (j < text.Length && text[j] is ' ' or '\t')
            {
                j++;
            }

            if (j < text.Length && text[j] == '=')
            {
                j++;
                while (j < text.Length && text[j] is ' ' or '\t')
                {
                    j++;
                }

                var end = EndOfToken(text, j, stopAtEquals: false);
                result.Append(text, i, j - i);
                if (end > j)
                {
                    result.Append(Placeholder);
                }

                i = end;
            }

            copied = i;
            at = i < text.Length ? text.IndexOf(marker, i, StringComparison.OrdinalIgnoreCase) : -1;
        }

        result.Append(text, copied, text.Length - copied);
        return result.ToString();
    }

    private static string WithoutCookiePrefix(string name) =>
        name.StartsWith("__Secure-", StringComparison.Ordinal) ? name["__Secure-".Length..]
        : name.StartsWith("__Host-", StringComparison.Ordinal) ? name["__Host-".Length..]
        : name;

    private static int EndOfToken(string text, int from, bool stopAtEquals)
    {
        var i = from;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ';' or ',' or '\'' or '"' or '\\' or '<' or '>' or '(' or ')' or '{' or '}' or '[' or ']'
                || (stopAtEquals && c == '='))
            {
                break;
            }

            i++;
        }

        return i;
    }

    /// <summary>A Cookie or Set-Cookie header written as text, up to its value (which runs to the end of the line).</summary>
    [GeneratedRegex(@"(?<head>(?<![A-Za-z0-9-])(?:set-)?cookie[ \t]*:[ \t]*)[^\r\n]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CookieHeader();
}
