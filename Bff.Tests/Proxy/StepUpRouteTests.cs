using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Proxy;

/// <summary>
/// Step-up by route: <c>Bff.Acr</c> and <c>Bff.MaxAge</c> make the gateway refuse, without forwarding, a call whose
/// session's sign-in is not strong or recent enough, with <c>401 step_up_required</c> and a login URL the SPA navigates
/// to; and an API's RFC 9470 challenge is answered the same way instead of as a bare 401.
/// </summary>
public sealed class StepUpRouteTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(
            services: services => services.AddAuthorizationBuilder().AddPolicy("ops", policy => policy.RequireClaim("groups", "ops")),
            routes: AddStepUpRoutes);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    internal static void AddStepUpRoutes(Dictionary<string, string?> routes)
    {
        routes["ReverseProxy:Routes:recent:ClusterId"] = "api";
        routes["ReverseProxy:Routes:recent:Match:Path"] = "/recent-api/{**rest}";
        routes["ReverseProxy:Routes:recent:Metadata:Bff.MaxAge"] = "300";
        routes["ReverseProxy:Routes:mfa:ClusterId"] = "api";
        routes["ReverseProxy:Routes:mfa:Match:Path"] = "/mfa-api/{**rest}";
        routes["ReverseProxy:Routes:mfa:Metadata:Bff.Acr"] = "mfa, hwk";
        routes["ReverseProxy:Routes:ops:ClusterId"] = "api";
        routes["ReverseProxy:Routes:ops:Match:Path"] = "/ops-api/{**rest}";
        routes["ReverseProxy:Routes:ops:Metadata:Bff.Acr"] = "mfa";
        routes["ReverseProxy:Routes:ops:AuthorizationPolicy"] = "ops";
    }

    private SessionClaim[] SignedIn(TimeSpan ago, string? acr = null, params SessionClaim[] more) =>
    [
        new("auth_time", (_host.Time.GetUtcNow() - ago).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        .. acr is null ? [] : new[] { new SessionClaim("acr", acr) },
        .. more,
    ];

    internal static async Task<string> AssertStepUpRequiredAsync(HttpResponseMessage response)
    {
        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "step_up_required");
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("loginUrl").GetString()!;
    }

    [Fact]
    public async Task A_sign_in_older_than_the_routes_max_age_gets_401_step_up_required_with_a_login_url_and_the_api_sees_nothing()
    {
        using var counters = new CounterTotals(_host.Gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.Route);
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(10)));

        var response = await browser.GetAsync("/recent-api/transfers", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = "/payments?step=2",
        });

        var loginUrl = await AssertStepUpRequiredAsync(response);
        Assert.Equal("/bff/login?returnUrl=%2Fpayments%3Fstep%3D2&max_age=300", loginUrl);
        Assert.Empty(_host.Api.Received);
        Assert.Empty(_host.TokenRequests("refresh_token"));
        Assert.Equal(1, counters[Instruments.StepUpRequired, "recent"]);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6100 && l.Message.Contains("recent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recent_sign_in_reaches_the_api_and_the_return_url_header_stays_at_the_gateway()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(4)));

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/recent-api/transfers", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = "/payments",
        }));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Null(echo.Header("X-Bff-Return-Url"));
    }

    [Fact]
    public async Task The_max_age_counts_from_auth_time_on_the_gateways_clock()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromMinutes(4)));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/recent-api/a"));

        _host.Time.Advance(TimeSpan.FromMinutes(2));

        await AssertStepUpRequiredAsync(await browser.GetWithCsrfAsync("/recent-api/b"));
        Assert.Single(_host.Api.Received);
    }

    [Fact]
    public async Task An_acr_the_route_does_not_accept_asks_for_the_routes_acr_values_and_an_accepted_one_passes()
    {
        var (weak, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(2), acr: "pwd"));
        var (strong, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(2), acr: "hwk"));

        var loginUrl = await AssertStepUpRequiredAsync(await weak.GetWithCsrfAsync("/mfa-api/keys"));
        await ProxyTestHost.EchoAsync(await strong.GetWithCsrfAsync("/mfa-api/keys"));

        Assert.Equal("/bff/login?returnUrl=%2F&acr_values=mfa%20hwk", loginUrl);
        Assert.Single(_host.Api.Received);
    }

    [Fact]
    public async Task A_session_that_does_not_know_its_acr_or_sign_in_time_must_step_up()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        await AssertStepUpRequiredAsync(await browser.GetWithCsrfAsync("/mfa-api/keys"));
        await AssertStepUpRequiredAsync(await browser.GetWithCsrfAsync("/recent-api/transfers"));
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task Csrf_comes_first_then_no_session_then_step_up_then_the_policy()
    {
        using var anonymous = _host.CreateBrowser();
        var (weakOutsider, _) = await _host.SignedInBrowserAsync("bob", claims: SignedIn(TimeSpan.Zero, acr: "pwd"));
        var (strongOutsider, _) = await _host.SignedInBrowserAsync("bob", claims: SignedIn(TimeSpan.Zero, acr: "mfa"));
        var (strongOps, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.Zero, "mfa", new SessionClaim("groups", "ops")));

        await ForwardingTests.AssertProblemAsync(await weakOutsider.GetAsync("/ops-api/x"), HttpStatusCode.Unauthorized, "csrf_header_missing");
        await ForwardingTests.AssertProblemAsync(await anonymous.GetWithCsrfAsync("/ops-api/x"), HttpStatusCode.Unauthorized, "unauthenticated");
        await ForwardingTests.AssertProblemAsync(await anonymous.GetWithCsrfAsync("/recent-api/x"), HttpStatusCode.Unauthorized, "unauthenticated");
        await AssertStepUpRequiredAsync(await weakOutsider.GetWithCsrfAsync("/ops-api/x"));
        await ForwardingTests.AssertProblemAsync(await strongOutsider.GetWithCsrfAsync("/ops-api/x"), HttpStatusCode.Forbidden, "forbidden");
        await ProxyTestHost.EchoAsync(await strongOps.GetWithCsrfAsync("/ops-api/x"));
        Assert.Single(_host.Api.Received);
    }

    [Theory]
    [InlineData("https://localhost/orders/42?tab=history", "%2Forders%2F42%3Ftab%3Dhistory")]
    [InlineData("https://evil.example/orders", "%2F")]
    [InlineData("http://localhost/orders", "%2F")]
    [InlineData("https://localhost//evil.example/x", "%2F")]
    [InlineData("not a url", "%2F")]
    public async Task Without_the_header_the_return_url_is_a_same_origin_referers_path_or_the_root(string referer, string expected)
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(1)));

        var loginUrl = await AssertStepUpRequiredAsync(await browser.GetAsync("/recent-api/x", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["Referer"] = referer,
        }));

        Assert.StartsWith("/bff/login?returnUrl=" + expected + "&", loginUrl, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("//evil.example/x")]
    [InlineData("https://evil.example/")]
    [InlineData("/%5Cevil.example")]
    [InlineData("javascript:alert(1)")]
    public async Task An_unsafe_return_url_header_falls_back_to_the_root_never_to_the_referer(string header)
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(1)));

        var loginUrl = await AssertStepUpRequiredAsync(await browser.GetAsync("/recent-api/x", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = header,
            ["Referer"] = "https://localhost/orders",
        }));

        Assert.Equal("/bff/login?returnUrl=%2F&max_age=300", loginUrl);
    }

    [Fact]
    public async Task The_login_url_starts_a_sign_in_that_asks_the_provider_for_the_step_up()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(1), acr: "pwd"));
        var loginUrl = await AssertStepUpRequiredAsync(await browser.GetAsync("/mfa-api/x", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = "/keys",
        }));

        var login = await browser.GetAsync(loginUrl);

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var query = HttpUtility.ParseQueryString(login.Headers.Location!.Query);
        Assert.Equal("mfa hwk", query["acr_values"]);
        Assert.Null(query["max_age"]);
    }

    // ---- An API's RFC 9470 challenge ----

    [Theory]
    [InlineData("Bearer error=\"insufficient_user_authentication\", error_description=\"A different authentication level is required\", acr_values=\"myACR\"", "&acr_values=myACR")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", error_description=\"More recent authentication is required\", max_age=\"5\"", "&max_age=5")]
    [InlineData("Basic realm=\"api\", bearer realm=\"api\", ERROR=insufficient_user_authentication, acr_values=\"urn:example:loa:3 mfa\", max_age=0", "&acr_values=urn%3Aexample%3Aloa%3A3%20mfa&max_age=0")]
    [InlineData("DPoP algs=\"ES256 PS256\", error=\"insufficient_user_authentication\", acr_values=\"mfa\"", "&acr_values=mfa")]
    public async Task An_apis_step_up_challenge_becomes_401_step_up_required_with_what_the_api_asked_for(string challenge, string expected)
    {
        using var counters = new CounterTotals(_host.Gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.StepUpSource);
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(1), acr: "pwd"));

        var response = await browser.GetAsync("/api/challenge?h=" + Uri.EscapeDataString(challenge), new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["X-Bff-Return-Url"] = "/keys",
        });

        var loginUrl = await AssertStepUpRequiredAsync(response);
        Assert.Equal("/bff/login?returnUrl=%2Fkeys" + expected, loginUrl);
        Assert.False(response.Headers.Contains("X-Api-Detail"));
        Assert.False(response.Headers.Contains("WWW-Authenticate"));
        Assert.DoesNotContain("upstream wants", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, counters[Instruments.StepUpRequired, StepUpSources.Upstream]);
    }

    [Theory]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa\\\"&returnUrl=//evil.example\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa,gold\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", max_age=\"-1\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", max_age=1e3")]
    [InlineData("Bearer error=\"insufficient_user_authentication\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa\", acr_values=\"pwd\"")]
    [InlineData("Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa")]
    [InlineData("Bearer error=\"insufficient_user_authentication\" acr_values=\"mfa\"")]
    public async Task An_unusable_step_up_challenge_passes_through_as_the_plain_401_it_is(string challenge)
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: SignedIn(TimeSpan.FromHours(1)));

        var response = await browser.GetWithCsrfAsync("/api/challenge?h=" + Uri.EscapeDataString(challenge));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("upstream wants a step-up", await response.Content.ReadAsStringAsync());
        Assert.Equal(challenge, string.Join(", ", response.Headers.NonValidated["WWW-Authenticate"]));
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 6101 && l.Message.Contains("route user", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Another_401_from_the_api_passes_through_untouched()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var invalidToken = await browser.GetWithCsrfAsync("/api/status/401");
        var otherScheme = await browser.GetWithCsrfAsync("/api/challenge?h=" + Uri.EscapeDataString("Basic error=\"insufficient_user_authentication\", max_age=5"));

        Assert.Equal(HttpStatusCode.Unauthorized, invalidToken.StatusCode);
        Assert.Equal("upstream says 401", await invalidToken.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, otherScheme.StatusCode);
        Assert.Equal("upstream wants a step-up", await otherScheme.Content.ReadAsStringAsync());
        Assert.DoesNotContain(_host.Gateway.Logs.Lines, l => l.EventId.Id is 6100 or 6101);
    }

    [Fact]
    public async Task A_client_token_routes_challenge_is_not_about_the_browsers_user_and_passes_through()
    {
        using var browser = _host.CreateBrowser();

        var response = await browser.GetWithCsrfAsync("/client-api/challenge?h=" + Uri.EscapeDataString("Bearer error=\"insufficient_user_authentication\", max_age=5"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("upstream wants a step-up", await response.Content.ReadAsStringAsync());
    }

    // ---- Start-up ----

    [Theory]
    [InlineData("Bff.MaxAge", "5m", "User", "'Bff.MaxAge'")]
    [InlineData("Bff.MaxAge", "-1", "User", "'Bff.MaxAge'")]
    [InlineData("Bff.Acr", "mfa,,hwk", "User", "'Bff.Acr'")]
    [InlineData("Bff.Acr", "m\"fa", "User", "'Bff.Acr'")]
    [InlineData("Bff.Acr", "", "User", "'Bff.Acr'")]
    [InlineData("Bff.Acr", "mfa", "Client", "need 'Bff.Token' User")]
    [InlineData("Bff.MaxAge", "300", "UserOrNone", "need 'Bff.Token' User")]
    public void Unusable_step_up_metadata_stops_start_up_naming_the_route(string key, string value, string token, string expected)
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:payments:ClusterId"] = "api",
            ["ReverseProxy:Routes:payments:Match:Path"] = "/payments/{**rest}",
            [$"ReverseProxy:Routes:payments:Metadata:{key}"] = value,
            ["ReverseProxy:Routes:payments:Metadata:Bff.Token"] = token,
            ["ReverseProxy:Clusters:api:Destinations:main:Address"] = "http://127.0.0.1:9/",
        });

        Assert.ThrowsAny<Exception>(() => gateway.Server);

        Assert.Contains(gateway.Logs.Lines, l => l.EventId.Id == 4006
            && l.Message.Contains("'payments'", StringComparison.Ordinal) && l.Message.Contains(expected, StringComparison.Ordinal));
    }
}
