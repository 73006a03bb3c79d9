using Bff.Sessions;
using System.Text.Json;
using Bff.Tests.Proxy;
using Microsoft.Playwright;

namespace Bff.Tests.Browser;

/// <summary>
/// A gateway on real Kestrel, an API behind it that answers with whatever <c>Set-Cookie</c> headers it is told to, and
/// Debian's Chromium holding a signed-in victim's session cookie. Whatever the API sends, the browser's cookie jar
/// still holds exactly the victim's session (and, on a route that allows cookies, the API's own harmless ones).
/// </summary>
public sealed class HostileApiComposition : IAsyncLifetime
{
    private IPlaywright? _playwright;

    internal ProxyTestHost Host { get; private set; } = null!;

    /// <summary>
    /// The gateway as the browser addresses it: Chromium treats <c>localhost</c> as a secure context, so it keeps
    /// <c>Secure</c> (and <c>__Host-</c>) cookies over plain http there, as it does in the demo.
    /// </summary>
    public Uri GatewayUrl { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The gateway answers only for its public origin: the host Chromium addresses it by.
        Host = await ProxyTestHost.StartAsync(
            kestrel: true,
            settings: new Dictionary<string, string?> { ["Bff:PublicOrigin"] = "http://localhost" },
            routes: ProxyTestHost.AddCookieRoute);
        GatewayUrl = new Uri($"http://localhost:{Host.Address!.Port}/");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = DemoComposition.ChromiumPath(),
            Headless = true,
            Args = DemoComposition.ChromiumArgs,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        await Host.DisposeAsync();
    }
}

[Trait("Category", "Browser")]
public sealed class HostileApiCookieTests(HostileApiComposition composition) : IClassFixture<HostileApiComposition>
{
    private const string SessionCookie = "__Host-bff";

    public static readonly TheoryData<string> GatewayCookies = new()
    {
        "__Host-bff =attacker; Path=/; Secure; HttpOnly; SameSite=Strict",
        "__Host-bff\t=attacker; Path=/; Secure; HttpOnly; SameSite=Strict",
        " __Host-bff\t \t= attacker ; Path=/; Secure; HttpOnly",
        "__host-bff=attacker; Path=/; Secure; HttpOnly",
        "__HOST-bff=attacker; Path=/; Secure; HttpOnly",
        "__Host-bff =; Max-Age=0; Path=/; Secure",
        "__Host-bff\t=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure",
        "__Host-bff.correlation.planted=N; Path=/; Secure; HttpOnly; SameSite=Lax",
        "__Host-bff.nonce.planted=N; Path=/; Secure; HttpOnly; SameSite=Lax",
        "__Secure-bff.correlation.planted=N; Path=/signin-oidc; Secure; HttpOnly; SameSite=Lax",
        "__Secure-bff.nonce.planted=N; Path=/signin-oidc; Secure; HttpOnly; SameSite=Lax",
        "__secure-bff.correlation.planted=N; Path=/; Secure",
    };

    [Theory]
    [MemberData(nameof(GatewayCookies))]
    public async Task An_api_cannot_set_replace_or_delete_a_gateway_cookie(string setCookie)
    {
        await AssertJarUnchangedAsync(ForwardingTests.SetCookiesUrl("/api", setCookie));
    }

    [Theory]
    [MemberData(nameof(GatewayCookies))]
    public async Task An_api_allowed_to_set_cookies_still_cannot_touch_a_gateway_cookie(string setCookie)
    {
        await AssertJarUnchangedAsync(ForwardingTests.SetCookiesUrl("/cookie-api", setCookie, "theme=dark; Path=/"), expectedExtra: "theme");
    }

    [Fact]
    public async Task By_default_an_api_sets_no_cookie_on_the_gateways_origin()
    {
        await AssertJarUnchangedAsync(ForwardingTests.SetCookiesUrl("/api", "theme=dark; Path=/", "tracking=1; Path=/api; Max-Age=3600"));
    }

    [Theory]
    [InlineData("/api")]
    [InlineData("/cookie-api")]
    public async Task A_cookie_flood_from_an_api_cannot_lock_the_browser_out(string prefix)
    {
        await AssertJarUnchangedAsync(prefix + "/cookie-flood?count=12&size=3900");
    }

    [Theory]
    [InlineData("/api", "\"cookies\"")]
    [InlineData("/cookie-api", "\"cache\", \"cookies\"")]
    [InlineData("/api", "\"*\"")]
    public async Task An_api_cannot_make_the_browser_clear_the_gateways_cookies(string prefix, string value)
    {
        await AssertJarUnchangedAsync($"{prefix}/clear-site-data?value={Uri.EscapeDataString(value)}");
    }

    /// <summary>
    /// Signs a fresh browser context in as the victim, lets the page call the API, then checks the jar and that the
    /// gateway still knows the victim (a flood would make it answer 431 instead).
    /// </summary>
    private async Task AssertJarUnchangedAsync(string apiUrl, string? expectedExtra = null)
    {
        var host = composition.Host;
        var gateway = composition.GatewayUrl;
        var (_, session) = await host.SignedInBrowserAsync();
        await using var context = await composition.Browser.NewContextAsync();
        var page = await context.NewPageAsync();

        // As the gateway's sign-in would have set it: host-only (Playwright's AddCookies always names a Domain, which
        // Chromium refuses for a __Host- cookie, so the DevTools protocol sets it from the URL alone).
        var devtools = await context.NewCDPSessionAsync(page);
        var planted = await devtools.SendAsync("Network.setCookie", new Dictionary<string, object>
        {
            ["name"] = SessionCookie, ["value"] = session.Key, ["url"] = gateway.AbsoluteUri, ["path"] = "/",
            ["secure"] = true, ["httpOnly"] = true, ["sameSite"] = "Strict",
        });
        Assert.True(planted?.GetProperty("success").GetBoolean(), "Chromium refused the session cookie");
        await page.GotoAsync(new Uri(gateway, "/public-api/page").AbsoluteUri);

        var status = await page.EvaluateAsync<int>(
            "async url => (await fetch(url, { headers: { 'X-CSRF': '1' } })).status",
            apiUrl);
        Assert.Equal(200, status);

        var jar = await context.CookiesAsync([gateway.AbsoluteUri, new Uri(gateway, "/signin-oidc").AbsoluteUri, new Uri(gateway, "/api/x").AbsoluteUri]);
        var session2 = Assert.Single(jar, c => c.Name == SessionCookie);
        Assert.Equal(session.Key, session2.Value);
        Assert.Equal("/", session2.Path);
        var others = jar.Where(c => c.Name != SessionCookie).Select(c => c.Name).ToArray();
        Assert.Equal(expectedExtra is null ? [] : [expectedExtra], others);

        var user = await page.EvaluateAsync<JsonElement>(
            "async () => { const r = await fetch('/bff/user', { headers: { 'X-CSRF': '1' } }); return { status: r.status, body: await r.text() }; }");
        Assert.Equal(200, user.GetProperty("status").GetInt32());
        Assert.Contains("\"alice\"", user.GetProperty("body").GetString(), StringComparison.Ordinal);
    }
}
