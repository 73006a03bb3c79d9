using System.Net;

namespace Bff.Bench;

/// <summary>
/// A browser's sign-in against <see cref="StubProvider"/>, which signs every visitor in at once: the app's login
/// endpoint, the provider's authorization endpoint, the app's callback. Works for the gateway and for the baseline app
/// alike: the session is whichever cookie the callback sets that the login did not.
/// </summary>
internal static class StubSignIn
{
    public static HttpClient Client(int connectionsPerServer) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        MaxConnectionsPerServer = connectionsPerServer,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    })
    { Timeout = TimeSpan.FromSeconds(100) };

    /// <summary>Returns the session's <c>Cookie</c> header and the subject the provider signed in.</summary>
    public static async Task<(string Cookie, string Subject)> SignInAsync(HttpClient http, Uri app, string loginPath)
    {
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        using var login = await http.GetAsync(new Uri(app, loginPath));
        Collect(login, cookies);
        var authorize = Redirect(login, app);
        var before = new HashSet<string>(cookies.Keys, StringComparer.Ordinal);

        using var authorizeResponse = await http.GetAsync(authorize);
        var subject = authorizeResponse.Headers.TryGetValues("X-Bench-Subject", out var values) ? values.First() : "?";
        var callback = Redirect(authorizeResponse, authorize);

        // The app's redirect URI names its public origin; the callback goes to the instance that started the sign-in.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app, callback.PathAndQuery));
        request.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        using var callbackResponse = await http.SendAsync(request);
        var session = new Dictionary<string, string>(StringComparer.Ordinal);
        Collect(callbackResponse, session);
        var created = session.Where(c => !before.Contains(c.Key) && c.Value.Length > 0).ToList();
        if ((int)callbackResponse.StatusCode is < 300 or >= 400 || created.Count == 0)
        {
            throw new InvalidOperationException($"The callback answered {(int)callbackResponse.StatusCode} without a session cookie (see the app's log).");
        }

        return (string.Join("; ", created.Select(c => $"{c.Key}={c.Value}")), subject);
    }

    private static Uri Redirect(HttpResponseMessage response, Uri from) =>
        response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect
            && response.Headers.Location is { } location
            ? new Uri(from, location)
            : throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path)} where a redirect was expected.");

    private static void Collect(HttpResponseMessage response, Dictionary<string, string> cookies)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            return;
        }

        foreach (var setCookie in setCookies)
        {
            var pair = setCookie.Split(';', 2)[0];
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = pair[..equals].Trim();
            var value = pair[(equals + 1)..].Trim();
            if (value.Length == 0 || setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
            {
                cookies.Remove(name);
            }
            else
            {
                cookies[name] = value;
            }
        }
    }
}
