using System.Net;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// Behind a TLS-terminating ingress the gateway must build https redirect URIs for the public host, but only when the
/// X-Forwarded-* headers come from a proxy it was told to trust.
/// </summary>
public sealed class ForwardedHeadersTests : IDisposable
{
    private static readonly Uri InternalOrigin = new("http://gateway.internal");

    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Theory]
    [InlineData("203.0.113.9", null)]
    [InlineData("127.0.0.1", null)]
    [InlineData("::1", null)]
    [InlineData("203.0.113.9", "10.0.0.0/8")]
    [InlineData("127.0.0.1", "10.0.0.0/8")]
    [InlineData("::1", "10.0.0.0/8")]
    public async Task Forwarded_headers_from_an_untrusted_address_change_nothing(string client, string? trustedNetwork)
    {
        using var gateway = Gateway(client, new() { ["Bff:ForwardedHeaders:KnownNetworks:0"] = trustedNetwork });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (redirectUri, login) = await LoginAsync(browser, Spoofed);

        Assert.Equal("http://gateway.internal/signin-oidc", redirectUri);
        Assert.False(login.Headers.Contains("Strict-Transport-Security"));
        Assert.All(SetCookie.From(login), c => Assert.True(c.Secure));
    }

    [Fact]
    public async Task Forwarded_headers_from_a_trusted_network_give_https_redirect_uris_for_the_public_host()
    {
        using var gateway = Gateway("10.1.2.3", new() { ["Bff:ForwardedHeaders:KnownNetworks:0"] = "10.0.0.0/8" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (redirectUri, login) = await LoginAsync(browser, Spoofed);

        Assert.Equal("https://bff.example.com/signin-oidc", redirectUri);
        Assert.True(login.Headers.Contains("Strict-Transport-Security"));
        Assert.All(SetCookie.From(login), c => Assert.True(c.Secure));
    }

    [Fact]
    public async Task A_trusted_proxy_is_trusted_and_its_neighbour_is_not()
    {
        using var gateway = Gateway("10.0.0.7", new() { ["Bff:ForwardedHeaders:KnownProxies:0"] = "10.0.0.7" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (trusted, _) = await LoginAsync(browser, Spoofed);
        var (neighbour, _) = await LoginAsync(browser, new(Spoofed) { [RemoteAddress.HeaderName] = "10.0.0.8" });

        Assert.Equal("https://bff.example.com/signin-oidc", trusted);
        Assert.Equal("http://gateway.internal/signin-oidc", neighbour);
    }

    [Fact]
    public async Task An_ipv4_proxy_seen_through_a_dual_stack_socket_is_still_trusted()
    {
        using var gateway = Gateway("::ffff:10.1.2.3", new() { ["Bff:ForwardedHeaders:KnownNetworks"] = "192.168.0.0/16, 10.0.0.0/8" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (redirectUri, _) = await LoginAsync(browser, Spoofed);

        Assert.Equal("https://bff.example.com/signin-oidc", redirectUri);
    }

    private static Dictionary<string, string> Spoofed => new()
    {
        ["X-Forwarded-Proto"] = "https",
        ["X-Forwarded-Host"] = "bff.example.com",
        ["X-Forwarded-For"] = "198.51.100.20",
    };

    private GatewayFactory Gateway(string remoteAddress, Dictionary<string, string?>? settings = null) =>
        new(_idp, settings, services => RemoteAddress.Use(services, IPAddress.Parse(remoteAddress)));

    private async Task<(string RedirectUri, HttpResponseMessage Login)> LoginAsync(BrowserClient browser, Dictionary<string, string> headers)
    {
        var login = await browser.GetAsync("/bff/login?returnUrl=%2F", headers);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(login.Headers.Location!.Query);
        return (query["redirect_uri"]!, login);
    }
}
