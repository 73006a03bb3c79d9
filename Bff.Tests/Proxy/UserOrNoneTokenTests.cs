using System.Net;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Proxy;

/// <summary>
/// <c>Bff.Token</c> <c>UserOrNone</c>: a public API with personalised extras. Anonymous calls pass without any token
/// (not the gateway's own, not the browser's); signed-in calls carry the user's token; the CSRF rule still holds.
/// </summary>
public sealed class UserOrNoneTokenTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(routes: routes =>
        {
            routes["ReverseProxy:Routes:catalogue:ClusterId"] = "api";
            routes["ReverseProxy:Routes:catalogue:Match:Path"] = "/catalogue/{**rest}";
            routes["ReverseProxy:Routes:catalogue:Metadata:Bff.Token"] = "UserOrNone";
        });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_anonymous_call_passes_without_a_token_even_if_the_browser_sends_one()
    {
        using var browser = _host.CreateBrowser();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetAsync("/catalogue/items", new Dictionary<string, string>
        {
            ["X-CSRF"] = "1",
            ["Authorization"] = "Bearer forged",
        }));

        Assert.Null(echo.Header("Authorization"));
        Assert.Empty(_host.TokenRequests("client_credentials"));
    }

    [Fact]
    public async Task A_signed_in_call_carries_the_users_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/catalogue/items"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
    }

    [Fact]
    public async Task The_csrf_rule_applies_as_on_any_route_that_carries_a_token()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        var response = await browser.GetAsync("/catalogue/items");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
        Assert.Empty(_host.Api.Received);
    }
}
