using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Authorization;

/// <summary>
/// Claims that providers nest or name oddly (<c>Bff:Claims:Map</c>), read from ID tokens shaped as Keycloak, Entra ID
/// and Auth0 issue them, reach policies after a real sign-in with the stub provider; Entra's groups overage is refused
/// with a log line that says why; userinfo claims are merged only when userinfo names the same <c>sub</c>.
/// </summary>
public sealed class ClaimMappingTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(
            settings: new Dictionary<string, string?>
            {
                ["Bff:Claims:Map:role:0"] = "realm_access.roles",
                ["Bff:Claims:Map:role:1"] = "resource_access.bff.roles",
                ["Bff:Claims:Map:role:2"] = "roles",
                ["Bff:Claims:Map:role:3"] = "https://example.com/roles",
                ["Bff:Authorization:Policies:staff:RequireRole:0"] = "staff",
                ["Bff:Authorization:Policies:ops:RequireClaims:groups:0"] = "ops-group-id",
            },
            routes: routes =>
            {
                routes["ReverseProxy:Routes:staff:ClusterId"] = "api";
                routes["ReverseProxy:Routes:staff:Match:Path"] = "/staff-api/{**rest}";
                routes["ReverseProxy:Routes:staff:AuthorizationPolicy"] = "staff";
                routes["ReverseProxy:Routes:ops:ClusterId"] = "api";
                routes["ReverseProxy:Routes:ops:Match:Path"] = "/ops-api/{**rest}";
                routes["ReverseProxy:Routes:ops:AuthorizationPolicy"] = "ops";
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string, HttpStatusCode> Tokens => new()
    {
        { "Keycloak realm role", """{"realm_access": {"roles": ["offline_access", "staff"]}}""", HttpStatusCode.OK },
        { "Keycloak client role", """{"resource_access": {"bff": {"roles": ["staff"]}, "account": {"roles": ["manage-account"]}}}""", HttpStatusCode.OK },
        { "Keycloak role of another client", """{"resource_access": {"other": {"roles": ["staff"]}}}""", HttpStatusCode.Forbidden },
        { "Entra app role", """{"roles": ["staff"]}""", HttpStatusCode.OK },
        { "Auth0 namespaced claim", """{"https://example.com/roles": ["staff"]}""", HttpStatusCode.OK },
        { "no role", """{"realm_access": {"roles": ["offline_access"]}}""", HttpStatusCode.Forbidden },
    };

    [Theory]
    [MemberData(nameof(Tokens))]
    public async Task A_mapped_role_reaches_the_policy(string provider, string claims, HttpStatusCode expected)
    {
        _ = provider;
        using var browser = await SignInAsync(claims);

        var response = await browser.GetWithCsrfAsync("/staff-api/x");

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Mapped_claims_are_ordinary_claims_of_the_session()
    {
        using var browser = await SignInAsync("""{"realm_access": {"roles": ["staff", "auditor"]}}""");

        var body = await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);

        var roles = json.RootElement.GetProperty("claims").EnumerateArray()
            .Where(c => c.GetProperty("type").GetString() == "role").Select(c => c.GetProperty("value").GetString()).ToList();
        Assert.Equal(["auditor", "staff"], roles.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Entra_groups_overage_refuses_a_group_policy_and_says_it_cannot_be_evaluated()
    {
        using var browser = await SignInAsync("""
            {"_claim_names": {"groups": "src1"},
             "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/tenant/users/alice/getMemberObjects"}}}
            """);

        var response = await browser.GetWithCsrfAsync("/ops-api/x");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.Empty(_host.Api.Received);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6002 && l.Message.Contains("ops", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Entra_groups_in_the_token_are_evaluated_without_any_overage_line()
    {
        using var browser = await SignInAsync("""{"groups": ["ops-group-id", "other-id"]}""");

        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/ops-api/x")).StatusCode);
        using var refused = await SignInAsync("""{"groups": ["other-id"]}""");
        Assert.Equal(HttpStatusCode.Forbidden, (await refused.GetWithCsrfAsync("/ops-api/x")).StatusCode);
        Assert.DoesNotContain(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6002);
    }

    private async Task<BrowserClient> SignInAsync(string claimsJson)
    {
        var claims = JsonDocument.Parse(claimsJson).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value.Clone());
        var browser = _host.CreateBrowser();
        var callback = await browser.SignInAsync(_host.Idp, shape: token => token.Claims = claims);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        return browser;
    }
}

/// <summary><c>Bff:Claims:FromUserInfo</c>: userinfo's claims join the session's, but only for the same <c>sub</c>.</summary>
public sealed class UserInfoClaimsTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Bff:Claims:FromUserInfo"] = "true",
            ["Bff:Authorization:Policies:ops:RequireClaims:groups:0"] = "ops",
        }, routes: routes =>
        {
            routes["ReverseProxy:Routes:ops:ClusterId"] = "api";
            routes["ReverseProxy:Routes:ops:Match:Path"] = "/ops-api/{**rest}";
            routes["ReverseProxy:Routes:ops:AuthorizationPolicy"] = "ops";
        });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Userinfo_claims_for_the_same_subject_reach_the_policy()
    {
        _host.Idp.UserInfo = new JsonObject { ["sub"] = "alice", ["groups"] = new JsonArray("ops") };
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/ops-api/x")).StatusCode);
        Assert.Single(_host.Idp.Server.LogEntries, e => e.RequestMessage.Path == "/userinfo");
    }

    [Fact]
    public async Task Userinfo_for_another_subject_refuses_the_sign_in()
    {
        _host.Idp.UserInfo = new JsonObject { ["sub"] = "mallory", ["groups"] = new JsonArray("ops") };
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.BadRequest, "login_failed");
        Assert.Null(browser.CookieValue(ProxyTestHost.CookieName));
        await ForwardingTests.AssertProblemAsync(await browser.GetWithCsrfAsync("/ops-api/x"), HttpStatusCode.Unauthorized, "unauthenticated");
    }
}
