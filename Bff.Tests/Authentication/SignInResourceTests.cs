using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Authentication;

/// <summary>
/// The authorization request names the <c>Bff.Resource</c> of every route that carries the user's token (RFC 8707
/// section 2.1), so that a provider granting a resource at refresh only when the sign-in named it grants it.
/// </summary>
public sealed class SignInResourceTests
{
    private const string Orders = "https://orders.example.com";
    private const string Billing = "https://billing.example.com/api";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_authorization_request_names_each_resource_of_the_user_token_routes_once(bool pushed)
    {
        await using var host = await ProxyTestHost.StartAsync(routes: MoreResourceRoutes, advertisePar: pushed);
        using var browser = host.CreateBrowser();

        var authorize = await browser.StartSignInAsync(host.Idp);

        // Sorted, each once: the two routes on the orders API share one; the Client route's resource is not the user's.
        Assert.Equal(new[] { Billing, Orders }, authorize.Resources);
        if (pushed)
        {
            // The browser carries the request_uri only; the resources were pushed with the client's secret.
            var front = TestIdentityProvider.Pairs(authorize.Location.Query.TrimStart('?')).Select(p => p.Key).ToList();
            Assert.Contains("request_uri", front);
            Assert.DoesNotContain("resource", front);
            Assert.Equal(TestIdentityProvider.ClientSecret, TestIdentityProvider.ClientSecretOf(Assert.Single(host.Idp.RequestsTo("/par"))));
            Assert.Equal("S256", authorize.Parameters["code_challenge_method"]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_route_with_a_resource_works_with_a_provider_that_grants_only_the_resources_of_the_sign_in(bool pushed)
    {
        await using var host = await ProxyTestHost.StartAsync(advertisePar: pushed);
        host.Idp.ResourcesOnlyFromAuthorizationRequest = true;
        using var browser = host.CreateBrowser();
        var callback = await browser.SignInAsync(host.Idp);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        var orders = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/orders-api/open"));

        var token = orders.Header("Authorization")!["Bearer ".Length..];
        Assert.Equal(Orders, host.Idp.ResourceOf(token));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task No_resource_is_named_when_no_user_token_route_has_one(bool pushed)
    {
        // Only the Client route keeps a resource.
        await using var host = await ProxyTestHost.StartAsync(routes: r => r.Remove("ReverseProxy:Routes:orders:Metadata:Bff.Resource"), advertisePar: pushed);
        using var browser = host.CreateBrowser();

        var authorize = await browser.StartSignInAsync(host.Idp);

        Assert.Empty(authorize.Resources);
        Assert.DoesNotContain("resource", authorize.Location.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_resource_is_named_when_the_setting_is_off()
    {
        await using var host = await ProxyTestHost.StartAsync(
            settings: new Dictionary<string, string?> { ["Bff:Tokens:RequestResourcesAtSignIn"] = "false" });
        using var browser = host.CreateBrowser();

        var authorize = await browser.StartSignInAsync(host.Idp);

        Assert.Empty(authorize.Resources);
    }

    [Fact]
    public async Task A_sign_in_names_the_resources_of_the_routes_loaded_when_it_starts()
    {
        await using var host = await ProxyTestHost.StartAsync();
        using var browser = host.CreateBrowser();
        Assert.Equal(new[] { Orders }, (await browser.StartSignInAsync(host.Idp)).Resources);

        await ReloadAsync(host, MoreResourceRoutes);

        Assert.Equal(new[] { Billing, Orders }, (await browser.StartSignInAsync(host.Idp)).Resources);
    }

    [Fact]
    public async Task A_provider_refusing_the_resources_at_sign_in_gets_a_log_line_that_says_what_to_change()
    {
        await using var host = await ProxyTestHost.StartAsync();
        using var browser = host.CreateBrowser();
        var authorize = await browser.StartSignInAsync(host.Idp);

        var callback = await browser.GetAsync($"/signin-oidc?error=invalid_target&state={Uri.EscapeDataString(authorize.State)}");

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.BadRequest, "login_failed");
        var line = Assert.Single(host.Gateway.Logs.Lines, l => l.EventId.Id == 2030);
        Assert.Contains(Orders, line.Message, StringComparison.Ordinal);
        Assert.Contains("Bff:Tokens:RequestResourcesAtSignIn", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_refusing_the_pushed_resources_gets_a_log_line_that_says_what_to_change()
    {
        await using var host = await ProxyTestHost.StartAsync(advertisePar: true);
        host.Idp.PushedAuthorizationBehavior = request => TestIdentityProvider.Form(request).ContainsKey("resource")
            ? TestIdentityProvider.Json(400, new System.Text.Json.Nodes.JsonObject { ["error"] = "invalid_target" })
            : null;
        using var browser = host.CreateBrowser();

        var login = await browser.GetAsync("/bff/login?returnUrl=%2F");

        await ForwardingTests.AssertProblemAsync(login, HttpStatusCode.InternalServerError, "internal_error");
        var line = Assert.Single(host.Gateway.Logs.Lines, l => l.EventId.Id == 2031);
        Assert.Contains(Orders, line.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_target", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TestIdentityProvider.ClientSecret, host.Gateway.Logs.AllText, StringComparison.Ordinal);
    }

    /// <summary>A second route on the orders API, a UserOrClient route on another API; both carry the user's token.</summary>
    private static void MoreResourceRoutes(IDictionary<string, string?> routes)
    {
        routes["ReverseProxy:Routes:orders-admin:ClusterId"] = "api";
        routes["ReverseProxy:Routes:orders-admin:Match:Path"] = "/orders-admin/{**rest}";
        routes["ReverseProxy:Routes:orders-admin:Metadata:Bff.Resource"] = Orders;
        routes["ReverseProxy:Routes:billing:ClusterId"] = "api";
        routes["ReverseProxy:Routes:billing:Match:Path"] = "/billing-api/{**rest}";
        routes["ReverseProxy:Routes:billing:Metadata:Bff.Token"] = "UserOrClient";
        routes["ReverseProxy:Routes:billing:Metadata:Bff.Resource"] = Billing;
    }

    /// <summary>Changes the routes as an edited appsettings.json would, and waits until the proxy has applied them.</summary>
    private static async Task ReloadAsync(ProxyTestHost host, Action<IDictionary<string, string?>> change)
    {
        var configuration = (IConfigurationRoot)host.Gateway.Services.GetRequiredService<IConfiguration>();
        var settings = new Dictionary<string, string?>();
        change(settings);
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = host.Gateway.Services.GetRequiredService<EndpointDataSource>().GetChangeToken()
            .RegisterChangeCallback(_ => applied.TrySetResult(), null);
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        configuration.Reload();
        await applied.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
