using System.Net;
using Bff.Sessions;
using Bff.Tests.LocalApis;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Authorization;

/// <summary>
/// Policies a library user sets for the whole application, as ASP.NET Core defines them: the <c>DefaultPolicy</c>
/// is what a bare <c>RequireAuthorization()</c> / <c>[Authorize]</c> means, and the <c>FallbackPolicy</c> covers
/// every endpoint that says nothing about authorization. On local APIs both are evaluated on the session's user; the
/// gateway's own endpoints (sign-in, the user endpoint, health, the SPA) keep working under a fallback policy.
/// </summary>
public sealed class FallbackPolicyTests : IAsyncLifetime
{
    private static readonly SessionClaim[] Staff = [new("groups", "staff")];

    private LocalApiTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await LocalApiTestHost.StartAsync(
            services => services.AddAuthorizationBuilder()
                .SetDefaultPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim("groups", "staff").Build())
                .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build()),
            app =>
            {
                app.MapGet("/local/staff", () => Results.Ok("staff")).RequireBffSession().RequireAuthorization();
                app.MapGet("/local/attributed-staff", [Authorize] () => Results.Ok("staff")).RequireBffSession();
                app.MapGet("/local/any-user", (HttpContext context) => Results.Ok(context.User.FindFirst("sub")?.Value)).RequireBffSession();
                app.MapGet("/local/open", () => Results.Ok("open")).RequireBffSession().AllowAnonymous();
                app.MapGet("/plain", () => Results.Ok("plain"));
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_bare_RequireAuthorization_or_Authorize_means_the_default_policy_on_the_sessions_user()
    {
        var (staff, _) = await _host.SignedInBrowserAsync(claims: Staff);
        var (other, _) = await _host.SignedInBrowserAsync("bob");

        Assert.Equal(HttpStatusCode.OK, (await staff.GetWithCsrfAsync("/local/staff")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await staff.GetWithCsrfAsync("/local/attributed-staff")).StatusCode);
        await ForwardingTests.AssertProblemAsync(await other.GetWithCsrfAsync("/local/staff"), HttpStatusCode.Forbidden, "forbidden");
        await ForwardingTests.AssertProblemAsync(await other.GetWithCsrfAsync("/local/attributed-staff"), HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task The_fallback_policy_applies_to_a_local_api_without_its_own_policy_on_the_sessions_user()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        using var anonymous = _host.CreateBrowser();

        var signedIn = await browser.GetWithCsrfAsync("/local/any-user");
        var signedOut = await anonymous.GetWithCsrfAsync("/local/any-user");

        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal("\"alice\"", await signedIn.Content.ReadAsStringAsync());
        await ForwardingTests.AssertProblemAsync(signedOut, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task The_fallback_policy_applies_to_proxied_routes_without_a_policy_on_the_sessions_user()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();
        using var anonymous = _host.CreateBrowser();

        var echo = await LocalApiTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        var refused = await anonymous.GetAsync("/public-api/catalogue");

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        await ForwardingTests.AssertProblemAsync(refused, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task AllowAnonymous_still_needs_the_session_that_RequireBffSession_asks_for()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        using var anonymous = _host.CreateBrowser();

        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/local/open")).StatusCode);
        await ForwardingTests.AssertProblemAsync(await anonymous.GetWithCsrfAsync("/local/open"), HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task An_endpoint_of_the_apps_own_without_RequireBffSession_follows_the_fallback_policy_as_asp_net_core_defines_it()
    {
        using var anonymous = _host.CreateBrowser();

        var response = await anonymous.GetAsync("/plain");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_gateways_own_endpoints_keep_working_under_a_fallback_policy()
    {
        using var anonymous = _host.CreateBrowser();

        var login = await anonymous.GetAsync("/bff/login?returnUrl=%2F");
        var user = await anonymous.GetWithCsrfAsync("/bff/user");
        var live = await anonymous.GetAsync("/health/live");
        var callback = await anonymous.SignInAsync(_host.Idp);
        var signedInUser = await anonymous.GetWithCsrfAsync("/bff/user");

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        await ForwardingTests.AssertProblemAsync(user, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, signedInUser.StatusCode);
    }
}
