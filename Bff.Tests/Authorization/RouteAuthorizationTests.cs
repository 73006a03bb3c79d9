using System.Net;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.LocalApis;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Authorization;

/// <summary>
/// The session is an ASP.NET Core authentication scheme whose user carries the session's claims: YARP's route field
/// <c>AuthorizationPolicy</c> and <c>RequireAuthorization</c> on local endpoints refuse a signed-in user whom the
/// policy does not admit with 403 <c>forbidden</c>, and the API never sees the call.
/// </summary>
public sealed class RouteAuthorizationTests : IAsyncLifetime
{
    private static readonly SessionClaim[] Ops = [new("groups", "ops")];

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(
            services: OpsPolicy,
            routes: routes =>
            {
                routes["ReverseProxy:Routes:admin:ClusterId"] = "api";
                routes["ReverseProxy:Routes:admin:Match:Path"] = "/admin-api/{**rest}";
                routes["ReverseProxy:Routes:admin:AuthorizationPolicy"] = "ops";
                routes["ReverseProxy:Routes:catalogue:ClusterId"] = "api";
                routes["ReverseProxy:Routes:catalogue:Match:Path"] = "/catalogue-api/{**rest}";
                routes["ReverseProxy:Routes:catalogue:AuthorizationPolicy"] = "ops";
                routes["ReverseProxy:Routes:catalogue:Metadata:Bff.Token"] = "None";
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static void OpsPolicy(IServiceCollection services) =>
        services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops"));

    [Fact]
    public async Task A_user_the_routes_policy_admits_reaches_the_api_with_their_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(claims: Ops);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/admin-api/users"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
    }

    [Fact]
    public async Task A_user_the_routes_policy_refuses_gets_403_forbidden_the_api_sees_nothing_and_it_is_counted()
    {
        using var counters = new CounterTotals(_host.Gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.Route);
        var (browser, _) = await _host.SignedInBrowserAsync("bob", claims: [new("groups", "sales")]);

        var response = await browser.GetWithCsrfAsync("/admin-api/users");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.DoesNotContain("ops", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_host.Api.Received);
        Assert.Equal(1, counters[Instruments.AuthorizationRefusals, "admin"]);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6001 && l.Message.Contains("admin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_ShowPolicyName_a_refusal_names_the_policy_that_refused_it()
    {
        await using var host = await ProxyTestHost.StartAsync(
            services: OpsPolicy,
            settings: new Dictionary<string, string?> { ["Bff:Authorization:ShowPolicyName"] = "true" },
            routes: routes =>
            {
                routes["ReverseProxy:Routes:admin:ClusterId"] = "api";
                routes["ReverseProxy:Routes:admin:Match:Path"] = "/admin-api/{**rest}";
                routes["ReverseProxy:Routes:admin:AuthorizationPolicy"] = "ops";
            });
        var (browser, _) = await host.SignedInBrowserAsync("bob", claims: [new("groups", "sales")]);

        var response = await browser.GetWithCsrfAsync("/admin-api/users");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("Refused by the authorization policy 'ops'.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(host.Api.Received);
    }

    [Fact]
    public async Task A_policy_route_without_a_token_still_evaluates_the_sessions_user()
    {
        var (allowed, _) = await _host.SignedInBrowserAsync(claims: Ops);
        var (refused, _) = await _host.SignedInBrowserAsync("bob");

        var echo = await ProxyTestHost.EchoAsync(await allowed.GetWithCsrfAsync("/catalogue-api/items"));
        var response = await refused.GetWithCsrfAsync("/catalogue-api/items");

        Assert.Null(echo.Header("Authorization"));
        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.Single(_host.Api.Received);
    }

    [Fact]
    public async Task Without_a_session_a_policy_route_is_401_unauthenticated_as_before()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetWithCsrfAsync("/admin-api/users");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task The_csrf_check_comes_before_the_policy_so_a_cross_site_request_learns_nothing_from_it()
    {
        var (browser, _) = await _host.SignedInBrowserAsync("bob");

        var response = await browser.GetAsync("/admin-api/users");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.DoesNotContain(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6001);
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task Routes_without_a_policy_behave_as_before()
    {
        var (browser, session) = await _host.SignedInBrowserAsync("bob");

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
    }

    [Fact]
    public void An_unknown_policy_name_on_a_route_stops_start_up_naming_the_route()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:reports:ClusterId"] = "api",
            ["ReverseProxy:Routes:reports:Match:Path"] = "/reports/{**rest}",
            ["ReverseProxy:Routes:reports:AuthorizationPolicy"] = "finance",
            ["ReverseProxy:Clusters:api:Destinations:main:Address"] = "http://127.0.0.1:9/",
        });

        Assert.ThrowsAny<Exception>(() => gateway.Server);

        Assert.Contains(gateway.Logs.Lines, l => l.EventId.Id == 4006
            && l.Message.Contains("'finance'", StringComparison.Ordinal) && l.Message.Contains("'reports'", StringComparison.Ordinal));
    }
}

/// <summary>The same policies on endpoints of the host's own, behind <c>RequireBffSession</c>.</summary>
public sealed class LocalEndpointAuthorizationTests : IAsyncLifetime
{
    private LocalApiTestHost _host = null!;
    private int _handled;

    public async Task InitializeAsync() =>
        _host = await LocalApiTestHost.StartAsync(
            services => services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops")),
            app =>
            {
                app.MapPost("/local/admin", () =>
                {
                    Interlocked.Increment(ref _handled);
                    return Results.Ok();
                }).RequireBffSession().RequireAuthorization("ops");
                app.MapGet("/local/attributed", [Authorize(Policy = "ops")] (HttpContext context) => Results.Ok(context.User.FindFirst("sub")?.Value))
                    .RequireBffSession();
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_user_the_policy_admits_reaches_the_handler()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: [new("groups", "ops")]);

        var response = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/admin"), Csrf);
        var attributed = await browser.GetWithCsrfAsync("/local/attributed");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _handled);
        Assert.Equal("\"alice\"", await attributed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_user_the_policy_refuses_gets_403_forbidden_and_the_handler_does_not_run()
    {
        var (browser, _) = await _host.SignedInBrowserAsync("bob");

        var response = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/admin"), Csrf);
        var attributed = await browser.GetWithCsrfAsync("/local/attributed");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        await ForwardingTests.AssertProblemAsync(attributed, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task Without_a_session_it_is_401_and_without_the_csrf_header_401_csrf_before_the_policy()
    {
        using var anonymous = _host.CreateBrowser();
        var (bob, _) = await _host.SignedInBrowserAsync("bob");

        var noSession = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/admin"), Csrf);
        var noCsrf = await bob.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/local/admin"));

        await ForwardingTests.AssertProblemAsync(noSession, HttpStatusCode.Unauthorized, "unauthenticated");
        await ForwardingTests.AssertProblemAsync(noCsrf, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.Equal(0, _handled);
    }

    private static Dictionary<string, string> Csrf => new() { ["X-CSRF"] = "1" };
}
