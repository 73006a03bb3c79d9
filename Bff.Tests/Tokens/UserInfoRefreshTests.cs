using System.Net;
using System.Text.Json.Nodes;
using Bff.Tests.Proxy;

namespace Bff.Tests.Tokens;

/// <summary>
/// <c>Bff:Claims:RefreshUserInfo</c>: each refresh of the session's token reads userinfo again with the new token and
/// rebuilds the claims as at sign-in, so the gateway's policies follow what the provider says now; userinfo for
/// another subject ends the session, and userinfo that cannot be read leaves the claims as they were.
/// </summary>
public sealed class UserInfoRefreshTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Bff:Claims:FromUserInfo"] = "true",
            ["Bff:Claims:RefreshUserInfo"] = "true",
            ["Bff:Claims:Map:role:0"] = "realm_access.roles",
            ["Bff:Authorization:Policies:ops:RequireRole:0"] = "ops",
        }, routes: routes =>
        {
            routes["ReverseProxy:Routes:ops:ClusterId"] = "api";
            routes["ReverseProxy:Routes:ops:Match:Path"] = "/ops-api/{**rest}";
            routes["ReverseProxy:Routes:ops:AuthorizationPolicy"] = "ops";
        });
        _host.Idp.UserInfo = Keycloak("alice", "ops");
        _host.Idp.AccessTokenLifetime = TokenLifetime;
    }

    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(5);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static JsonObject Keycloak(string subject, params string[] roles) =>
        new() { ["sub"] = subject, ["realm_access"] = new JsonObject { ["roles"] = new JsonArray([.. roles.Select(r => (JsonNode)r)]) } };

    private int UserInfoCalls => _host.Idp.RequestsTo("/userinfo").Count();

    [Fact]
    public async Task A_role_withdrawn_at_the_provider_stops_the_route_from_the_call_after_the_next_refresh_and_userinfo_sees_the_new_token()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: s => s.Claims["acr"] = "pwd");
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/ops-api/x"));
        Assert.Equal(1, UserInfoCalls);

        _host.Idp.UserInfo = Keycloak("alice", "viewer");
        _host.Time.Advance(TokenLifetime);

        // The policy ran on the claims the session had when the call arrived; the refresh on its way rebuilt them.
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/ops-api/x"));
        var refused = await browser.GetWithCsrfAsync("/ops-api/x");

        await ForwardingTests.AssertProblemAsync(refused, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(2, UserInfoCalls);
        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        Assert.Equal("Bearer " + session.Tokens.AccessToken, _host.Idp.RequestsTo("/userinfo").Last().Headers!["Authorization"].Single());
        Assert.Contains(session.Claims, c => c.Type == "role" && c.Value == "viewer");
        Assert.DoesNotContain(session.Claims, c => c.Type == "role" && c.Value == "ops");
        Assert.Equal("pwd", session.Acr);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2160);
    }

    [Fact]
    public async Task Userinfo_for_another_subject_after_a_refresh_ends_the_session_and_nothing_is_forwarded()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;

        _host.Idp.UserInfo = Keycloak("mallory", "ops");
        _host.Time.Advance(TokenLifetime);
        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Null(_host.StoredSession(key));
        Assert.Empty(_host.Api.Received);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2162);
    }

    [Fact]
    public async Task Userinfo_that_cannot_be_read_keeps_the_claims_and_the_refresh()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);

        _host.Idp.UserInfo = null;
        _host.Time.Advance(TokenLifetime);
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/ops-api/x"));

        Assert.Single(_host.TokenRequests("refresh_token"));
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2161);
    }
}
