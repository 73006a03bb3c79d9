using System.Net;
using System.Text;
using System.Text.Json;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Proxy;

public sealed class ForwardingTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Api_call_after_sign_in_carries_the_users_access_token()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, subject: "alice");

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders?page=2"));

        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.StartsWith("Bearer at.alice.", echo.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal("/api/orders", echo.Path);
        Assert.Equal("?page=2", echo.Query);
    }

    [Fact]
    public async Task The_browsers_cookies_never_reach_the_api()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        browser.PutCookie("theme", "dark");
        browser.PutCookie("__Host-bff.correlation.abc", "x");

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Null(echo.Header("Cookie"));
        Assert.NotNull(echo.Header("Authorization"));
    }

    [Fact]
    public async Task Cookie_is_stripped_even_when_a_route_transform_copies_it_back()
    {
        await using var host = await ProxyTestHost.StartAsync(routes: r =>
        {
            r["ReverseProxy:Routes:user:Transforms:0:RequestHeader"] = "Cookie";
            r["ReverseProxy:Routes:user:Transforms:0:Set"] = "injected=1";
        });
        var (browser, _) = await host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Null(echo.Header("Cookie"));
    }

    [Fact]
    public async Task A_client_supplied_authorization_header_is_replaced_by_the_users_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["Authorization"] = "Bearer forged-by-the-page",
        }));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
    }

    [Fact]
    public async Task A_route_without_token_removes_the_client_supplied_authorization_header()
    {
        using var browser = _host.CreateBrowser();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/public-api/status", new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer forged-by-the-page",
        }));

        Assert.Null(echo.Header("Authorization"));
    }

    [Fact]
    public async Task Hop_by_hop_tricks_do_not_drop_the_gateways_authorization_header()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["Connection"] = "keep-alive, Authorization",
        }));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
    }

    [Fact]
    public async Task Forwarded_headers_are_set_by_the_gateway_not_taken_from_the_client()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/api/orders", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Forwarded-For"] = "6.6.6.6",
            ["X-Forwarded-Host"] = "evil.example",
            ["X-Forwarded-Proto"] = "gopher",
            ["X-Forwarded-Prefix"] = "/evil",
            ["Forwarded"] = "for=6.6.6.6;host=evil.example;proto=http",
        }));

        Assert.DoesNotContain("6.6.6.6", echo.Header("X-Forwarded-For") ?? string.Empty, StringComparison.Ordinal);
        Assert.Equal("localhost", echo.Header("X-Forwarded-Host"));
        Assert.Equal("https", echo.Header("X-Forwarded-Proto"));
        Assert.Null(echo.Header("X-Forwarded-Prefix"));
        Assert.Null(echo.Header("Forwarded"));
    }

    [Fact]
    public async Task An_anonymous_call_on_a_user_route_is_401_and_not_forwarded()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Empty(_host.Api.Received);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("DELETE")]
    public async Task A_call_without_the_csrf_header_is_401_and_not_forwarded(string method)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/api/orders"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        if (method != "HEAD")
        {
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        }

        Assert.Empty(_host.Api.Received);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_cross_site_form_post_is_401_and_not_forwarded(string contentType)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/orders")
        {
            Content = new StringContent("amount=1000", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);

        var response = await browser.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.Empty(_host.Api.Received);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("true")]
    public async Task A_csrf_header_with_another_value_is_refused(string value)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetAsync("/api/orders", new Dictionary<string, string> { ["X-CSRF"] = value });

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task A_route_with_csrf_off_forwards_without_the_header()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetAsync("/public-api/status");

        await ProxyTestHost.EchoAsync(response);
    }

    [Fact]
    public async Task A_tokenless_route_still_requires_the_csrf_header_by_default()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetAsync("/anonymous-api/status");

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
    }

    [Fact]
    public async Task Api_answers_gain_hsts_but_not_the_gateways_own_response_headers()
    {
        // HSTS is never sent for localhost: this gateway answers for a public name.
        await using var host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Bff:PublicOrigin"] = "https://bff.example.com" });
        using var browser = host.Gateway.CreateBrowser(new Uri("https://bff.example.com"));

        var api = await browser.GetAsync("/public-api/status");
        var own = await browser.GetAsync("/bff/user");

        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal("max-age=31536000", Assert.Single(api.Headers.GetValues("Strict-Transport-Security")));
        Assert.False(api.Headers.Contains("X-Content-Type-Options"));
        Assert.Null(api.Headers.CacheControl);
        Assert.False(api.Headers.Contains("Pragma"));
        Assert.Equal("max-age=31536000", Assert.Single(own.Headers.GetValues("Strict-Transport-Security")));
        Assert.Equal("nosniff", Assert.Single(own.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-store", own.Headers.CacheControl?.ToString());
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(500)]
    public async Task Upstream_error_responses_pass_through_unchanged(int status)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync($"/api/status/{status}");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("upstream says " + status, await response.Content.ReadAsStringAsync());
        var record = browser.Responses[^1];
        Assert.Contains("text/plain", record.Headers, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("problem+json", record.Headers, StringComparison.OrdinalIgnoreCase);
        if (status == 401)
        {
            Assert.Contains("invalid_token", record.Headers, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(401)]
    [InlineData(404)]
    [InlineData(500)]
    public async Task Empty_upstream_error_responses_stay_empty(int status)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync($"/api/status/{status}?empty=1");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(string.Empty, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_api_cannot_set_the_gateways_session_cookie_nor_by_default_any_other()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/api/set-cookie");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(SetCookie.From(response));
        Assert.Equal(session.Key, browser.CookieValue(ProxyTestHost.CookieName));
        Assert.Null(browser.CookieValue("theme"));
    }

    [Fact]
    public async Task A_route_that_allows_cookies_passes_the_apis_own_but_never_the_gateways()
    {
        await using var host = await ProxyTestHost.StartAsync(routes: ProxyTestHost.AddCookieRoute);
        var (browser, session) = await host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync(SetCookiesUrl("/cookie-api",
            "theme=dark; Path=/",
            "__Host-bff =planted; Path=/; Secure",
            "__HOST-bff=planted; Path=/; Secure",
            "__Host-bff.nonce.x=N; Path=/; Secure",
            "__secure-bff.correlation.x=N; Path=/signin-oidc; Secure",
            "__Host-bff",
            "=__Host-bff=planted",
            "lang=en; Path=/"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["theme", "lang"], SetCookie.From(response).Select(c => c.Name));
        Assert.Equal(session.Key, browser.CookieValue(ProxyTestHost.CookieName));
        Assert.Contains(host.Gateway.Logs.Lines, l => l.EventId.Id == 4005 && l.Message.Contains("route cookies", StringComparison.Ordinal));
        Assert.DoesNotContain("planted", host.Gateway.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_route_that_allows_cookies_passes_a_bounded_number_of_small_ones()
    {
        await using var host = await ProxyTestHost.StartAsync(routes: ProxyTestHost.AddCookieRoute);
        var (browser, _) = await host.SignedInBrowserAsync();
        var flood = Enumerable.Range(0, 12).Select(i => $"flood{i}={new string('x', 3900)}; Path=/").ToArray();
        var many = Enumerable.Range(0, 6).Select(i => $"c{i}=v; Path=/").ToArray();

        var large = await browser.GetWithCsrfAsync(SetCookiesUrl("/cookie-api", flood));
        var small = await browser.GetWithCsrfAsync(SetCookiesUrl("/cookie-api", many));

        Assert.Empty(SetCookie.From(large));
        Assert.Equal(["c0", "c1", "c2", "c3"], SetCookie.From(small).Select(c => c.Name));
        Assert.Contains(host.Gateway.Logs.Lines, l => l.EventId.Id == 4008);
    }

    internal static string SetCookiesUrl(string prefix, params string[] cookies) =>
        prefix + "/set-cookies?" + string.Join("&", cookies.Select(c => "c=" + Uri.EscapeDataString(c)));

    [Fact]
    public async Task An_unexpected_exception_on_an_api_call_is_a_generic_problem_and_nothing_is_forwarded()
    {
        await using var host = await ProxyTestHost.StartAsync(services: services =>
            services.AddSingleton<ISessionStore>(sp => new FindThrows(sp.GetRequiredService<InMemorySessionStore>())));
        var (browser, _) = await host.SignedInBrowserAsync();

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await AssertProblemAsync(response, HttpStatusCode.InternalServerError, "internal_error");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(FindThrows.Detail, body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.Empty(host.Api.Received);
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
        Assert.Equal((int)status, json.RootElement.GetProperty("status").GetInt32());
    }

    /// <summary>A session store whose lookups fail with an exception, as a bug would.</summary>
    private sealed class FindThrows(InMemorySessionStore inner) : ISessionStore
    {
        public const string Detail = "lookup exploded: secret detail";

        public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Detail);

        public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken) =>
            inner.CreateAsync(session, cancellationToken);

        public ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken) =>
            inner.ReplaceAsync(session, cancellationToken);

        public ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken) =>
            inner.RemoveAsync(key, cancellationToken);

        public ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken) =>
            inner.RemoveByProviderSessionAsync(subject, providerSessionId, cancellationToken);

        public ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken) =>
            inner.EndOldestOfSubjectAsync(newest, keep, cancellationToken);

        public ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken) =>
            inner.ListOfSubjectAsync(subject, cancellationToken);

        public ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken) =>
            inner.EndOfSubjectAsync(subject, onlyId, exceptId, cancellationToken);

        public ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken) => inner.EndAllAsync(cancellationToken);
    }
}
