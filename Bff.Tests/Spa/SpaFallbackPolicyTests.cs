using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Spa;

/// <summary>
/// An application-wide <c>FallbackPolicy</c> (e.g. "every request needs a signed-in user") also covers the SPA the
/// gateway serves. A person opening the app without a session is sent to sign in and brought back to the page they
/// asked for, instead of getting a JSON 401 where the app should be; script calls and assets still get 401.
/// </summary>
public sealed class SpaFallbackPolicyTests : IDisposable
{
    private const string IndexHtml = "<!doctype html><html><body><div id=\"app\"></div></body></html>";

    private readonly string _root = Directory.CreateTempSubdirectory("bff-spa-").FullName;
    private readonly TestIdentityProvider _idp = new();

    public SpaFallbackPolicyTests()
    {
        File.WriteAllText(Path.Combine(_root, "index.html"), IndexHtml);
        Directory.CreateDirectory(Path.Combine(_root, "assets"));
        File.WriteAllText(Path.Combine(_root, "assets", "index-Cq3x8Yb1.js"), "console.log('spa');");
    }

    public void Dispose()
    {
        _idp.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private GatewayFactory Gateway(bool fallbackPolicy) =>
        new(_idp, new Dictionary<string, string?> { ["Bff:Spa:RootPath"] = _root }, services =>
        {
            if (fallbackPolicy)
            {
                services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
            }
        });

    private static readonly Dictionary<string, string> Navigation = new()
    {
        ["Sec-Fetch-Mode"] = "navigate",
        ["Sec-Fetch-Dest"] = "document",
        ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    };

    [Theory]
    [InlineData("/", "/")]
    [InlineData("/orders/42?tab=items", "/orders/42?tab=items")]
    [InlineData("/index.html", "/index.html")]
    public async Task Opening_the_app_without_a_session_signs_in_and_returns_to_the_page(string path, string returnUrl)
    {
        using var gateway = Gateway(fallbackPolicy: true);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync(path, Navigation);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/bff/login?returnUrl=" + Uri.EscapeDataString(returnUrl), response.Headers.Location!.OriginalString);
        Assert.True(response.Headers.CacheControl?.NoStore, $"Cache-Control was '{response.Headers.CacheControl}'");

        // Following it through the provider lands on the page, which is then served.
        var signIn = await browser.SignInAsync(_idp, returnUrl);
        Assert.Equal(returnUrl, signIn.Headers.Location!.OriginalString);
        var page = await browser.GetAsync(path, Navigation);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(IndexHtml, await page.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/assets/index-Cq3x8Yb1.js", null)]
    [InlineData("/orders/42", "cors")]
    [InlineData("https://localhost//evil.example/", "navigate")]
    public async Task Script_calls_assets_and_odd_paths_still_get_401(string path, string? mode)
    {
        using var gateway = Gateway(fallbackPolicy: true);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync(path, mode is null ? null : new Dictionary<string, string> { ["Sec-Fetch-Mode"] = mode });

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task Without_a_fallback_policy_the_app_is_served_to_anyone()
    {
        using var gateway = Gateway(fallbackPolicy: false);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/orders/42", Navigation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(IndexHtml, await response.Content.ReadAsStringAsync());
    }
}
