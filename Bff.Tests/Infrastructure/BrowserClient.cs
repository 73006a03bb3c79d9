using System.Net;
using System.Web;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Talks to the gateway the way a browser does: keeps cookies (by name and path, honouring deletions), does not follow
/// redirects, and remembers every response so tests can check that no token ever reached the browser.
/// </summary>
public sealed class BrowserClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly List<StoredCookie> _cookies = [];
    private readonly List<ResponseRecord> _responses = [];

    public BrowserClient(HttpMessageHandler handler, Uri baseAddress)
    {
        _http = new HttpClient(handler) { BaseAddress = baseAddress };
    }

    public IReadOnlyList<ResponseRecord> Responses => _responses;

    /// <summary>The <c>User-Agent</c> this browser sends with every request (none when null).</summary>
    public string? UserAgent { get; set; }

    public IReadOnlyList<StoredCookie> Cookies => _cookies;

    public string? CookieValue(string name) => _cookies.FirstOrDefault(c => c.Name == name)?.Value;

    public void PutCookie(string name, string value, string path = "/")
    {
        _cookies.RemoveAll(c => c.Name == name && c.Path == path);
        _cookies.Add(new StoredCookie(name, value, path));
    }

    public void RemoveCookies(Func<StoredCookie, bool> predicate) => _cookies.RemoveAll(c => predicate(c));

    public Task<HttpResponseMessage> GetAsync(string url, IDictionary<string, string>? headers = null) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, url), headers);

    /// <summary>The claims <c>/bff/user</c> shows page script, in order (asserts it answers 200).</summary>
    public async Task<List<(string Type, string Value)>> UserClaimsAsync()
    {
        var response = await GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. json.RootElement.GetProperty("claims").EnumerateArray()
            .Select(c => (c.GetProperty("type").GetString()!, c.GetProperty("value").GetString()!))];
    }

    public Task<HttpResponseMessage> GetWithCsrfAsync(string url) =>
        GetAsync(url, new Dictionary<string, string> { ["X-CSRF"] = "1" });

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IDictionary<string, string>? headers = null)
    {
        var path = request.RequestUri!.IsAbsoluteUri ? request.RequestUri.AbsolutePath : request.RequestUri.OriginalString.Split('?')[0];
        var cookieHeader = string.Join("; ", _cookies.Where(c => path.StartsWith(c.Path, StringComparison.Ordinal)).Select(c => $"{c.Name}={c.Value}"));
        if (cookieHeader.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookieHeader);
        }

        if (UserAgent is not null)
        {
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await _http.SendAsync(request);
        var bytes = response.Content is null ? [] : await response.Content.ReadAsByteArrayAsync();
        var body = System.Text.Encoding.UTF8.GetString(bytes);
        _responses.Add(new ResponseRecord(request.RequestUri.ToString(), response.StatusCode, response.Headers.ToString() + response.Content?.Headers, body));
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var header in setCookies)
            {
                Apply(Infrastructure.SetCookie.Parse(header));
            }
        }

        // Buffer again so callers can read the body, keeping the content headers.
        var buffered = new ByteArrayContent(bytes);
        if (response.Content is not null)
        {
            foreach (var header in response.Content.Headers)
            {
                buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content = buffered;
        return response;
    }

    /// <summary>Runs the whole sign-in: /bff/login, the provider (stubbed), the callback. Returns the callback's response.</summary>
    public async Task<HttpResponseMessage> SignInAsync(TestIdentityProvider idp, string returnUrl = "/", string subject = "alice", Action<IdTokenShape>? shape = null)
    {
        var authorize = await StartSignInAsync(idp, returnUrl);
        var code = idp.IssueCode(authorize.Nonce, subject, shape: shape);
        return await GetAsync(CallbackUrl(code, authorize.State));
    }

    /// <summary>Calls /bff/login and returns what the provider would receive: the authorize parameters.</summary>
    public async Task<AuthorizeRequest> StartSignInAsync(TestIdentityProvider idp, string returnUrl = "/")
    {
        var login = await GetAsync("/bff/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        if (login.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"/bff/login answered {(int)login.StatusCode}: {await login.Content.ReadAsStringAsync()}");
        }

        var location = login.Headers.Location!;
        var received = idp.ReceiveAuthorization(location);
        var resources = received.Where(p => p.Key == "resource").Select(p => p.Value).ToList();
        var query = HttpUtility.ParseQueryString(location.Query);
        if (query["request_uri"] is not null)
        {
            // PAR: the parameters went to the provider in the pushed request's body.
            var pushed = TestIdentityProvider.Form(idp.RequestsTo("/par").Last());
            return new AuthorizeRequest(location, pushed["state"], pushed["nonce"], pushed, resources);
        }

        var parameters = query.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => query[k]!);
        return new AuthorizeRequest(location, parameters["state"], parameters["nonce"], parameters, resources);
    }

    public static string CallbackUrl(string code, string state) =>
        $"/signin-oidc?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(state)}";

    public void Dispose() => _http.Dispose();

    private void Apply(Infrastructure.SetCookie cookie)
    {
        _cookies.RemoveAll(c => c.Name == cookie.Name && c.Path == cookie.Path);
        if (!cookie.IsDeletion)
        {
            _cookies.Add(new StoredCookie(cookie.Name, cookie.Value, cookie.Path));
        }
    }

    public sealed record StoredCookie(string Name, string Value, string Path);

    public sealed record ResponseRecord(string Url, HttpStatusCode Status, string Headers, string Body);

    /// <param name="Resources">Every <c>resource</c> parameter of the authorization request (query or pushed), in order, repeats included.</param>
    public sealed record AuthorizeRequest(Uri Location, string State, string Nonce, IReadOnlyDictionary<string, string> Parameters, IReadOnlyList<string> Resources);
}

/// <summary>One parsed Set-Cookie header with the attributes the tests check.</summary>
public sealed record SetCookie(string Name, string Value, string Path, string? Domain, bool Secure, bool HttpOnly, string? SameSite, DateTimeOffset? Expires, string Raw)
{
    public bool IsDeletion => Expires is { } expires && expires < DateTimeOffset.UtcNow;

    public static SetCookie Parse(string header)
    {
        var parts = header.Split(';', StringSplitOptions.TrimEntries);
        var nameValue = parts[0].Split('=', 2);
        string path = "/";
        string? domain = null, sameSite = null;
        bool secure = false, httpOnly = false;
        DateTimeOffset? expires = null;
        foreach (var attribute in parts.Skip(1))
        {
            var kv = attribute.Split('=', 2);
            switch (kv[0].ToLowerInvariant())
            {
                case "path": path = kv[1]; break;
                case "domain": domain = kv[1]; break;
                case "secure": secure = true; break;
                case "httponly": httpOnly = true; break;
                case "samesite": sameSite = kv[1]; break;
                case "expires": expires = DateTimeOffset.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "max-age": if (int.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture) <= 0) { expires = DateTimeOffset.UnixEpoch; } break;
            }
        }

        return new SetCookie(nameValue[0], nameValue.Length > 1 ? nameValue[1] : string.Empty, path, domain, secure, httpOnly, sameSite, expires, header);
    }

    public static IReadOnlyList<SetCookie> From(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.Select(Parse).ToList() : [];
}
