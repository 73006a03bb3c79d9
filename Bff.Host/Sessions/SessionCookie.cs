using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

/// <summary>Reads and writes the one session cookie. Its value is a <see cref="SessionKey"/>, nothing else.</summary>
internal sealed class SessionCookie(IOptions<BffOptions> options)
{
    private readonly CookieSettings _settings = options.Value.Cookie;

    public string Name => _settings.Name;

    public string? Read(HttpRequest request)
    {
        var value = request.Cookies[_settings.Name];
        return SessionKey.IsWellFormed(value) ? value : null;
    }

    /// <summary>True when the request carried a session cookie at all, well-formed or not.</summary>
    public bool IsPresent(HttpRequest request) => request.Cookies.ContainsKey(_settings.Name);

    public void Append(HttpResponse response, UserSession session) =>
        response.Cookies.Append(_settings.Name, session.Key, Build(session.AbsoluteExpiresAt));

    public void Delete(HttpResponse response) =>
        response.Cookies.Delete(_settings.Name, Build(expires: null));

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
