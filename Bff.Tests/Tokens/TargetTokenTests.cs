using System.Net;
using System.Text.Json.Nodes;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Tokens;

/// <summary>Client-credentials tokens and per-route audiences (Bff.Scope, Bff.Resource).</summary>
public sealed class TargetTokenTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync();
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(5);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_client_route_carries_the_gateways_own_token_cached_across_calls()
    {
        using var browser = _host.CreateBrowser();

        var first = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/catalog"));
        var second = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/catalog"));

        Assert.StartsWith("Bearer cc.", first.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal(first.Header("Authorization"), second.Header("Authorization"));
        var request = Assert.Single(_host.TokenRequests("client_credentials"));
        Assert.False(request.ContainsKey("resource"));
    }

    [Fact]
    public async Task Concurrent_calls_share_one_client_credentials_request()
    {
        using var client = _host.CreateApiClient(sessionKey: null);
        var responses = Enumerable.Range(0, 20).Select(_ => client.GetAsync("/client-api/catalog")).ToArray();

        var echoes = await Task.WhenAll(responses.Select(async r => await ProxyTestHost.EchoAsync(await r)));

        Assert.Single(_host.TokenRequests("client_credentials"));
        Assert.Single(echoes.Select(e => e.Header("Authorization")).Distinct());
    }

    [Fact]
    public async Task A_client_token_is_renewed_when_it_enters_the_refresh_window()
    {
        using var browser = _host.CreateBrowser();
        var first = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/catalog"));

        _host.Time.Advance(TimeSpan.FromMinutes(4.5));
        var second = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/catalog"));

        Assert.Equal(2, _host.TokenRequests("client_credentials").Count);
        Assert.NotEqual(first.Header("Authorization"), second.Header("Authorization"));
    }

    [Fact]
    public async Task A_client_route_with_a_resource_gets_its_own_token_for_that_resource()
    {
        using var browser = _host.CreateBrowser();

        var plain = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/catalog"));
        var reports = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/reports-api/monthly"));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/reports-api/weekly"));

        var requests = _host.TokenRequests("client_credentials");
        Assert.Equal(2, requests.Count);
        Assert.Equal("https://reports.example.com", requests[1]["resource"]);
        Assert.NotEqual(plain.Header("Authorization"), reports.Header("Authorization"));
    }

    [Fact]
    public async Task A_client_token_the_provider_cannot_issue_answers_503()
    {
        using var browser = _host.CreateBrowser();
        _host.Idp.ClientCredentialsBehavior = _ => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" });

        // A client-credentials call is retried after short delays before the gateway gives up.
        var response = await _host.Time.RunThroughShortTimersAsync(() => browser.GetWithCsrfAsync("/client-api/catalog"));

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task A_user_route_with_a_resource_gets_a_resource_specific_token_from_the_refresh_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var orders = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/orders-api/open"));
        var ordersAgain = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/orders-api/closed"));
        var plain = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/profile"));

        var refresh = Assert.Single(_host.TokenRequests("refresh_token"));
        Assert.Equal("https://orders.example.com", refresh["resource"]);
        Assert.Equal("orders.read", refresh["scope"]);
        Assert.Equal(session.Tokens.RefreshToken, refresh["refresh_token"]);
        Assert.StartsWith("Bearer at.alice.", orders.Header("Authorization"), StringComparison.Ordinal);
        Assert.NotEqual("Bearer " + session.Tokens.AccessToken, orders.Header("Authorization"));
        Assert.Equal(orders.Header("Authorization"), ordersAgain.Header("Authorization"));

        // The session's own token is untouched; the rotated refresh token is saved.
        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("Bearer " + session.Tokens.AccessToken, plain.Header("Authorization"));
        Assert.Equal(session.Tokens.AccessToken, stored.Tokens.AccessToken);
        Assert.NotEqual(session.Tokens.RefreshToken, stored.Tokens.RefreshToken);
        Assert.Equal(1, stored.Tokens.Version);
    }

    [Fact]
    public async Task Resource_tokens_are_per_session()
    {
        var (alice, _) = await _host.SignedInBrowserAsync("alice");
        var (bob, _) = await _host.SignedInBrowserAsync("bob");

        var forAlice = await ProxyTestHost.EchoAsync(await alice.GetWithCsrfAsync("/orders-api/open"));
        var forBob = await ProxyTestHost.EchoAsync(await bob.GetWithCsrfAsync("/orders-api/open"));

        Assert.StartsWith("Bearer at.alice.", forAlice.Header("Authorization"), StringComparison.Ordinal);
        Assert.StartsWith("Bearer at.bob.", forBob.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal(2, _host.TokenRequests("refresh_token").Count);
    }

    [Fact]
    public async Task Concurrent_calls_on_two_audiences_of_one_session_never_spend_its_refresh_token_twice()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        using var client = _host.CreateApiClient(session.Key);
        var spent = new System.Collections.Concurrent.ConcurrentBag<string>();
        var reused = 0;
        _host.Idp.RefreshBehavior = request =>
        {
            var token = TestIdentityProvider.Form(request)["refresh_token"];
            if (spent.Contains(token))
            {
                Interlocked.Increment(ref reused);
                return TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });
            }

            spent.Add(token);
            return null;
        };

        var calls = Enumerable.Range(0, 30).Select(i => client.GetAsync(i % 2 == 0 ? "/api/a" : "/orders-api/b"));
        var responses = await Task.WhenAll(calls);

        Assert.Equal(0, reused);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, _host.Idp.RefreshRequests);
        Assert.Equal(2, _host.StoredSession(session.Key)!.Tokens.Version);
    }

    [Fact]
    public async Task A_user_or_client_route_uses_the_users_token_when_signed_in_and_the_gateways_otherwise()
    {
        var (signedIn, session) = await _host.SignedInBrowserAsync();
        using var anonymous = _host.CreateBrowser();

        var asUser = await ProxyTestHost.EchoAsync(await signedIn.GetWithCsrfAsync("/mixed-api/feed"));
        var asGateway = await ProxyTestHost.EchoAsync(await anonymous.GetWithCsrfAsync("/mixed-api/feed"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, asUser.Header("Authorization"));
        Assert.StartsWith("Bearer cc.", asGateway.Header("Authorization"), StringComparison.Ordinal);
    }
}
