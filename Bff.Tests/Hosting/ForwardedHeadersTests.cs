using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Hosting;

/// <summary>
/// Behind a TLS-terminating ingress the gateway builds https redirect URIs for its public origin (<c>Bff:PublicOrigin</c>)
/// and honours <c>X-Forwarded-*</c> only from a proxy it was told to trust; a Host that is not the public origin's,
/// forwarded or not, is refused.
/// </summary>
public sealed class ForwardedHeadersTests : IDisposable
{
    private static readonly Uri InternalOrigin = new("http://gateway.internal");
    private static readonly Uri PublicOriginOverHttp = new("http://bff.example.com");

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
        using var browser = gateway.CreateBrowser(PublicOriginOverHttp);

        var (redirectUri, login) = await LoginAsync(browser, new(Spoofed) { ["X-Forwarded-Host"] = "evil.example", ["X-Forwarded-Proto"] = "http" });

        // From the configured origin: neither the spoofed host nor the scheme of the connection.
        Assert.Equal("https://bff.example.com/signin-oidc", redirectUri);
        Assert.All(SetCookie.From(login), c => Assert.True(c.Secure));
    }

    [Fact]
    public async Task An_internal_host_from_an_untrusted_address_is_refused_whatever_it_forwards()
    {
        using var gateway = Gateway("203.0.113.9");
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var login = await browser.GetAsync("/bff/login?returnUrl=%2F", Spoofed);

        await AssertInvalidHostAsync(login);
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
    public async Task A_trusted_proxy_forwarding_another_host_is_refused()
    {
        using var gateway = Gateway("10.1.2.3", new() { ["Bff:ForwardedHeaders:KnownNetworks:0"] = "10.0.0.0/8" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var login = await browser.GetAsync("/bff/login?returnUrl=%2F", new Dictionary<string, string>(Spoofed) { ["X-Forwarded-Host"] = "evil.example" });

        await AssertInvalidHostAsync(login);
        Assert.Empty(_idp.RequestsTo("/par"));
    }

    [Fact]
    public async Task A_trusted_proxy_is_trusted_and_its_neighbour_is_not()
    {
        using var gateway = Gateway("10.0.0.7", new() { ["Bff:ForwardedHeaders:KnownProxies:0"] = "10.0.0.7" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (trusted, _) = await LoginAsync(browser, Spoofed);
        var neighbour = await browser.GetAsync("/bff/login?returnUrl=%2F", new Dictionary<string, string>(Spoofed) { [RemoteAddress.HeaderName] = "10.0.0.8" });

        Assert.Equal("https://bff.example.com/signin-oidc", trusted);
        await AssertInvalidHostAsync(neighbour);
    }

    [Fact]
    public async Task An_ipv4_proxy_seen_through_a_dual_stack_socket_is_still_trusted()
    {
        using var gateway = Gateway("::ffff:10.1.2.3", new() { ["Bff:ForwardedHeaders:KnownNetworks"] = "192.168.0.0/16, 10.0.0.0/8" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (redirectUri, _) = await LoginAsync(browser, Spoofed);

        Assert.Equal("https://bff.example.com/signin-oidc", redirectUri);
    }

    [Fact]
    public async Task A_very_broad_trusted_network_is_accepted_with_a_warning()
    {
        using var gateway = Gateway("10.1.2.3", new() { ["Bff:ForwardedHeaders:KnownNetworks:0"] = "10.0.0.0/7" });
        using var browser = gateway.CreateBrowser(InternalOrigin);

        var (redirectUri, _) = await LoginAsync(browser, Spoofed);

        Assert.Equal("https://bff.example.com/signin-oidc", redirectUri);
        Assert.Contains(gateway.Logs.Lines, e => e.EventId.Id == 5061 && e.Message.Contains("10.0.0.0/7", StringComparison.Ordinal));
    }

    private static Dictionary<string, string> Spoofed => new()
    {
        ["X-Forwarded-Proto"] = "https",
        ["X-Forwarded-Host"] = "bff.example.com",
        ["X-Forwarded-For"] = "198.51.100.20",
    };

    private GatewayFactory Gateway(string remoteAddress, Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        settings["Bff:PublicOrigin"] = "https://bff.example.com";
        return new(_idp, settings, services => RemoteAddress.Use(services, IPAddress.Parse(remoteAddress)));
    }

    private static async Task AssertInvalidHostAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_host", problem.RootElement.GetProperty("error").GetString());
    }

    private async Task<(string RedirectUri, HttpResponseMessage Login)> LoginAsync(BrowserClient browser, Dictionary<string, string> headers)
    {
        var login = await browser.GetAsync("/bff/login?returnUrl=%2F", headers);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var query = System.Web.HttpUtility.ParseQueryString(login.Headers.Location!.Query);
        if (query["request_uri"] is not null)
        {
            return (TestIdentityProvider.Form(_idp.RequestsTo("/par").Last())["redirect_uri"], login);
        }

        return (query["redirect_uri"]!, login);
    }
}
