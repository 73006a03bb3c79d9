using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Bff.Tests.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.LocalApis;

/// <summary>
/// An endpoint of the host's own behind <c>RequireBffSession</c>, checked the way the proxy's routes are: the same
/// refusals, the same session (slid, its claims as the user) and the same single-flight token refresh.
/// </summary>
public sealed class LocalApiTests : IAsyncLifetime
{
    private LocalApiTestHost _host = null!;
    private ObservedSessionStore _store = null!;

    public async Task InitializeAsync()
    {
        _host = await LocalApiTestHost.StartAsync(services =>
            services.AddSingleton<ISessionStore>(sp => _store = new ObservedSessionStore(sp.GetRequiredService<InMemorySessionStore>())));
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(5);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_call_without_a_session_is_401_unauthenticated_and_the_handler_does_not_run()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetWithCsrfAsync("/local/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task A_stale_cookie_is_401_unauthenticated()
    {
        using var browser = _host.CreateBrowser();
        browser.PutCookie(ProxyTestHost.CookieName, SessionKey.Create("alice"));

        var response = await browser.GetWithCsrfAsync("/local/me");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [InlineData("GET", "/local/orders")]
    [InlineData("POST", "/local/orders")]
    public async Task A_call_without_the_csrf_header_is_401_and_the_handler_does_not_run(string method, string path)
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.Empty(_host.Api.Received);
        Assert.Contains(_host.Logs.Lines, l => l.EventId.Id == 4001 && l.Message.Contains("/local/orders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_csrf_header_value_is_refused()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetAsync("/local/me", new Dictionary<string, string> { ["X-CSRF"] = "0" });

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
    }

    [Fact]
    public async Task The_sessions_claims_are_the_handlers_user()
    {
        var (browser, _) = await _host.SignedInBrowserAsync("carol");

        var response = await browser.GetWithCsrfAsync("/local/me");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("authenticated").GetBoolean());
        Assert.Equal("carol", json.RootElement.GetProperty("sub").GetString());
    }

    [Fact]
    public async Task A_call_slides_the_session_like_a_proxied_call()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();
        _host.Time.Advance(TimeSpan.FromMinutes(10));

        var response = await browser.GetWithCsrfAsync("/local/me");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_host.Time.GetUtcNow() + TimeSpan.FromMinutes(30), _host.StoredSession(session.Key)!.IdleExpiresAt);
    }

    [Fact]
    public async Task The_handler_calls_its_api_with_the_users_access_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var echo = await LocalApiTestHost.EchoAsync(await browser.GetWithCsrfAsync("/local/orders"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task Fifty_concurrent_calls_on_an_expiring_token_cause_exactly_one_refresh()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        using var client = _host.CreateApiClient(session.Key);
        // The refresh is held until all fifty requests have looked up their session: they all overlap it.
        _store.SignalAfterFinds(_store.Finds + 51);
        _host.Idp.RefreshBehavior = _ =>
        {
            _store.FindsReached.Task.Wait(TimeSpan.FromSeconds(30));
            return null;
        };

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetAsync("/local/orders")));

        Assert.True(_store.FindsReached.Task.IsCompleted, "the requests did not overlap the refresh");
        Assert.Equal(1, _host.Idp.RefreshRequests);
        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal(1, stored.Tokens.Version);
        Assert.NotEqual(session.Tokens.AccessToken, stored.Tokens.AccessToken);
        foreach (var response in responses)
        {
            var echo = await LocalApiTestHost.EchoAsync(response);
            Assert.Equal("Bearer " + stored.Tokens.AccessToken, echo.Header("Authorization"));
        }
    }

    [Fact]
    public async Task A_rejected_refresh_token_ends_the_session_with_401_session_expired()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });

        var response = await browser.GetWithCsrfAsync("/local/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Contains(SetCookie.From(response), c => c.Name == ProxyTestHost.CookieName && c.IsDeletion);
        Assert.Null(_host.StoredSession(session.Key));
        Assert.Empty(_host.Api.Received);
        Assert.Equal(1, _host.Idp.RefreshRequests);

        // The same (stale) cookie again: refused before the handler, and the provider is not asked again.
        browser.PutCookie(ProxyTestHost.CookieName, session.Key);
        var again = await browser.GetWithCsrfAsync("/local/orders");
        await ForwardingTests.AssertProblemAsync(again, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_provider_outage_during_refresh_is_503_with_retry_after()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(31));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" });

        var response = await browser.GetWithCsrfAsync("/local/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is missing");
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task The_client_token_is_requested_once_and_shared_with_the_proxy()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var local = await LocalApiTestHost.EchoAsync(await browser.GetWithCsrfAsync("/local/reports"));
        var proxied = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/reports-api/summary"));

        Assert.StartsWith("Bearer cc.", local.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal(local.Header("Authorization"), proxied.Header("Authorization"));
        Assert.Single(_host.Idp.RequestsTo("/token").Select(TestIdentityProvider.Form), f => f.GetValueOrDefault("grant_type") == "client_credentials");
    }

    [Fact]
    public async Task A_controller_is_guarded_the_same_way()
    {
        using var anonymous = _host.CreateBrowser();
        var refused = await anonymous.GetWithCsrfAsync("/local/controller/me");
        await ForwardingTests.AssertProblemAsync(refused, HttpStatusCode.Unauthorized, "unauthenticated");

        var (browser, _) = await _host.SignedInBrowserAsync("dave");
        var forged = await browser.GetAsync("/local/controller/me");
        await ForwardingTests.AssertProblemAsync(forged, HttpStatusCode.Unauthorized, "csrf_header_missing");

        var response = await browser.GetWithCsrfAsync("/local/controller/me");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("dave", json.RootElement.GetProperty("sub").GetString());
    }
}
