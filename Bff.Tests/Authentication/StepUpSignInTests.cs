using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Authentication;

/// <summary>
/// The sign-in a <c>step_up_required</c> answer leads to: it replaces the session as every sign-in does (a new session
/// id, the old one gone), carries the new <c>acr</c> and <c>auth_time</c>, and returns the SPA to where it was. A
/// provider that does not deliver what was asked creates no session and says so, rather than loop.
/// </summary>
public sealed class StepUpSignInTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync(services: OpsPolicy, routes: StepUpRouteTests.AddStepUpRoutes);

    private static void OpsPolicy(IServiceCollection services) =>
        services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops"));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Action<IdTokenShape> Signed(string acr, TimeSpan ago) => shape =>
    {
        shape.Claims["acr"] = acr;
        shape.Claims["auth_time"] = (DateTimeOffset.UtcNow - ago).ToUnixTimeSeconds();
    };

    /// <summary>The SPA's journey: the refused call, then a navigation to the login URL, up to the provider.</summary>
    private async Task<BrowserClient.AuthorizeRequest> StepUpToProviderAsync(BrowserClient browser, string path)
    {
        var refused = await browser.GetAsync(path, new Dictionary<string, string> { ["X-CSRF"] = "1", ["X-Bff-Return-Url"] = "/keys?tab=2" });
        var loginUrl = await StepUpRouteTests.AssertStepUpRequiredAsync(refused);
        var login = await browser.GetAsync(loginUrl);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        _host.Idp.ReceiveAuthorization(login.Headers.Location!);
        var query = HttpUtility.ParseQueryString(login.Headers.Location!.Query);
        return new BrowserClient.AuthorizeRequest(login.Headers.Location!, query["state"]!, query["nonce"]!, query.AllKeys.ToDictionary(k => k!, k => query[k]!), []);
    }

    [Fact]
    public async Task The_step_up_sign_in_replaces_the_session_under_a_new_id_and_the_spa_continues_at_its_return_url()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: Signed("pwd", TimeSpan.FromHours(1)));
        var before = browser.CookieValue(ProxyTestHost.CookieName)!;
        var authorize = await StepUpToProviderAsync(browser, "/mfa-api/keys");
        Assert.Equal("mfa hwk", authorize.Parameters["acr_values"]);

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_host.Idp.IssueCode(authorize.Nonce, shape: Signed("mfa", TimeSpan.Zero)), authorize.State));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/keys?tab=2", callback.Headers.Location!.OriginalString);
        var after = browser.CookieValue(ProxyTestHost.CookieName)!;
        Assert.NotEqual(before, after);
        Assert.Null(_host.StoredSession(before));
        Assert.Equal("mfa", _host.StoredSession(after)!.Acr);
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/mfa-api/keys"));
        Assert.Equal("Bearer " + _host.StoredSession(after)!.Tokens.AccessToken, echo.Header("Authorization"));

        // The old cookie is worthless now.
        using var old = _host.CreateBrowser();
        old.PutCookie(ProxyTestHost.CookieName, before);
        await ForwardingTests.AssertProblemAsync(await old.GetWithCsrfAsync("/mfa-api/keys"), HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Single(_host.Api.Received);
    }

    [Fact]
    public async Task A_recent_sign_in_after_max_age_refreshes_auth_time_and_the_user_endpoint_shows_both()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: Signed("pwd", TimeSpan.FromHours(1)));
        var authorize = await StepUpToProviderAsync(browser, "/recent-api/transfers");
        Assert.Equal("300", authorize.Parameters["max_age"]);

        await browser.GetAsync(BrowserClient.CallbackUrl(_host.Idp.IssueCode(authorize.Nonce, shape: Signed("pwd", TimeSpan.FromSeconds(2))), authorize.State));

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/recent-api/transfers"));
        using var user = JsonDocument.Parse(await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync());
        var claims = user.RootElement.GetProperty("claims").EnumerateArray().ToDictionary(c => c.GetProperty("type").GetString()!, c => c.GetProperty("value").GetString());
        Assert.Equal("pwd", claims["acr"]);
        Assert.True(long.Parse(claims["auth_time"]!, System.Globalization.CultureInfo.InvariantCulture) >= DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds());
    }

    [Theory]
    [InlineData("/mfa-api/keys", "pwd", 0)]
    [InlineData("/recent-api/transfers", "pwd", 3600)]
    public async Task A_provider_that_does_not_deliver_the_step_up_gets_403_step_up_failed_and_the_old_session_stays(string path, string acr, int secondsAgo)
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: Signed("pwd", TimeSpan.FromHours(1)));
        var before = browser.CookieValue(ProxyTestHost.CookieName)!;
        var authorize = await StepUpToProviderAsync(browser, path);

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(
            _host.Idp.IssueCode(authorize.Nonce, shape: Signed(acr, TimeSpan.FromSeconds(secondsAgo))), authorize.State));

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.Forbidden, "step_up_failed");
        Assert.Equal(before, browser.CookieValue(ProxyTestHost.CookieName));
        Assert.NotNull(_host.StoredSession(before));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Single(_host.Idp.RevokedTokens);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2150);
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task A_sign_in_asking_for_an_acr_the_id_token_lacks_creates_no_session()
    {
        using var browser = _host.CreateBrowser();
        var login = await browser.GetAsync("/bff/login?returnUrl=%2F&acr_values=mfa");
        var location = login.Headers.Location!;
        _host.Idp.ReceiveAuthorization(location);
        var query = HttpUtility.ParseQueryString(location.Query);

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_host.Idp.IssueCode(query["nonce"]!), query["state"]!));

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.Forbidden, "step_up_failed");
        Assert.Null(browser.CookieValue(ProxyTestHost.CookieName));
    }

    [Fact]
    public async Task Acr_and_auth_time_come_from_the_id_token_not_from_userinfo()
    {
        await using var host = await ProxyTestHost.StartAsync(
            services: OpsPolicy,
            routes: StepUpRouteTests.AddStepUpRoutes,
            settings: new Dictionary<string, string?> { ["Bff:Claims:FromUserInfo"] = "true" });
        host.Idp.UserInfo = new System.Text.Json.Nodes.JsonObject { ["sub"] = "alice", ["acr"] = "hwk", ["auth_time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() };
        using var browser = host.CreateBrowser();

        await browser.SignInAsync(host.Idp, shape: Signed("pwd", TimeSpan.FromHours(1)));

        var session = host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        Assert.Equal("pwd", session.Acr);
        Assert.Single(session.Claims, c => c.Type == "acr");
        Assert.Single(session.Claims, c => c.Type == "auth_time");
        await StepUpRouteTests.AssertStepUpRequiredAsync(await browser.GetWithCsrfAsync("/mfa-api/keys"));
    }
}
