using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

/// <summary>Reads and writes the one session cookie. Its value is a <see cref="SessionKey"/>, nothing else.</summary>
internal sealed class SessionCookie(IOptions<BffOptions> options)
{
    private readonly CookieSettings _settings = options.Value.Cookie;

    public string Name => _settings.Name;

    /// <summary>
    /// The session key the request carries, or null when it carries none or a malformed one. Read straight from the
    /// <c>Cookie</c> header rather than through <c>Request.Cookies</c>, which parses every cookie of the origin into a
    /// dictionary on every proxied call; only a well-formed key (43 base64url characters) becomes a string.
    /// </summary>
    public string? Read(HttpRequest request)
    {
        var headers = request.Headers.Cookie;
        for (var i = 0; i < headers.Count; i++)
        {
            if (FindValue(headers[i], _settings.Name, out var start, out var length))
            {
                var value = headers[i].AsSpan(start, length);
                return SessionKey.IsWellFormed(value) ? value.ToString() : null;
            }
        }

        return null;
    }

    /// <summary>True when the request carried a session cookie at all, well-formed or not.</summary>
    public bool IsPresent(HttpRequest request)
    {
        var headers = request.Headers.Cookie;
        for (var i = 0; i < headers.Count; i++)
        {
            if (FindValue(headers[i], _settings.Name, out _, out _))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Finds <c>name=value</c> among the <c>;</c>-separated pairs of one <c>Cookie</c> header (RFC 6265 §5.4: names are
    /// case-sensitive; white space around pairs and values is not part of them; one pair of double quotes around a
    /// value is not part of it). The first pair of that name wins.
    /// </summary>
    internal static bool FindValue(string? header, string name, out int start, out int length)
    {
        start = length = 0;
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }

        var position = 0;
        while (position < header.Length)
        {
            var end = header.IndexOf(';', position);
            if (end < 0)
            {
                end = header.Length;
            }

            var segment = header.AsSpan(position, end - position);
            var pairStart = position + Leading(segment);
            var pair = segment.Trim(Whitespace);
            if (pair.Length > name.Length && pair[name.Length] == '=' && pair.StartsWith(name, StringComparison.Ordinal))
            {
                var rawValue = pair[(name.Length + 1)..];
                var value = rawValue.Trim(Whitespace);
                var valueStart = pairStart + name.Length + 1 + Leading(rawValue);
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                    valueStart++;
                }

                start = valueStart;
                length = value.Length;
                return true;
            }

            position = end + 1;
        }

        return false;
    }

    public void Append(HttpResponse response, UserSession session) =>
        response.Cookies.Append(_settings.Name, session.Key, Build(session.AbsoluteExpiresAt));

    public void Delete(HttpResponse response) =>
        response.Cookies.Delete(_settings.Name, Build(expires: null));

    private const string Whitespace = " \t";

    private static int Leading(ReadOnlySpan<char> text) => text.Length - text.TrimStart(Whitespace).Length;

    private CookieOptions Build(DateTimeOffset? expires) => new()
    {
        // __Host- rules: Secure, Path=/, no Domain. Browsers treat http://localhost as secure, so this works in development too.
        HttpOnly = true,
        Secure = true,
        Path = "/",
        Domain = null,
        SameSite = _settings.SameSite,
        IsEssential = true,
        Expires = expires,
    };
}
