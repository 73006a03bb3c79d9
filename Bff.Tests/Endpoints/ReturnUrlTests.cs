using Bff.Authentication;
using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

public sealed class ReturnUrlTests
{
    /// <summary>Shapes browsers read as another origin or a script, each written raw and in the encodings attackers use.</summary>
    public static TheoryData<string> OpenRedirects => new()
    {
        "//evil.com",
        "///evil.com",
        "////evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "\\/evil.com",
        "/%09/evil.com",
        "/%0a/evil.com",
        "/%0d/evil.com",
        "/%5Cevil.com",
        "/%5cevil.com",
        "/%2F/evil.com",
        "/%2f%2fevil.com",
        "%2F%2Fevil.com",
        "/%252F%252Fevil.com",
        "/%25252F%25252Fevil.com",
        "/%255Cevil.com",
        "https://evil.com",
        "http://evil.com",
        "https:evil.com",
        "https:/evil.com",
        "HTTPS://evil.com",
        "//evil.com/%2F..",
        "https://host.evil.com",
        "https://host@evil.com",
        "//host@evil.com",
        "/ /evil.com",
        " /evil.com",
        "/evil.com ",
        "\t/evil.com",
        "/\t/evil.com",
        "/\u000B/evil.com",
        "/\u3000/evil.com",
        "/\u2028/evil.com",
        "/\u200B/evil.com",
        "/\u202E/moc.live",
        "/\u0000/evil.com",
        "/%00/evil.com",
        "/\r\nSet-Cookie:x=y",
        "/%0d%0aSet-Cookie:x=y",
        "/%E2%80%A8/evil.com",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "/%09/javascript:alert(1)",
        "java%0ascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "evil.com",
        ".evil.com",
        "@evil.com",
        "?next=//evil.com",
        "#//evil.com",
        "",
        "/%",
        "/%2",
        "/%zz/evil.com",
        "/search?q=a%20b",
        "/a//b",
        "/a/%2F/b",
        "/" + new string('a', 3000),
    };

    public static TheoryData<string> LocalPaths => new()
    {
        "/",
        "/orders",
        "/orders/42?tab=items&sort=desc",
        "/search?q=a+b&page=2",
        "/docs#section-2",
        "/caf%C3%A9",
        "/café",
        "/a:b",
        "/@me",
    };

    [Theory]
    [MemberData(nameof(OpenRedirects))]
    public void Open_redirect_shapes_are_refused(string value) => Assert.False(ReturnUrl.IsSafe(value));

    [Theory]
    [MemberData(nameof(LocalPaths))]
    public void Local_paths_are_accepted(string value) => Assert.True(ReturnUrl.IsSafe(value));

    [Fact]
    public void Null_is_refused() => Assert.False(ReturnUrl.IsSafe(null));
}

/// <summary>The same rule, end to end: no redirect ever leaves the gateway for a bad returnUrl.</summary>
public sealed class ReturnUrlEndpointTests : IClassFixture<ReturnUrlEndpointTests.Host>
{
    private readonly Host _host;

    public ReturnUrlEndpointTests(Host host) => _host = host;

    public sealed class Host : IDisposable
    {
        public TestIdentityProvider Idp { get; } = new();

        public GatewayFactory Gateway { get; }

        public Host() => Gateway = new GatewayFactory(Idp);

        public void Dispose()
        {
            Gateway.Dispose();
            Idp.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(ReturnUrlTests.OpenRedirects), MemberType = typeof(ReturnUrlTests))]
    public async Task Login_refuses_a_foreign_return_url_before_any_redirect(string value)
    {
        using var browser = _host.Gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=" + Uri.EscapeDataString(value));

        await AssertRefused(response, value);
    }

    [Theory]
    [MemberData(nameof(ReturnUrlTests.OpenRedirects), MemberType = typeof(ReturnUrlTests))]
    public async Task Logout_refuses_a_foreign_return_url(string value)
    {
        using var browser = _host.Gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/logout?sid=x&returnUrl=" + Uri.EscapeDataString(value));

        await AssertRefused(response, value);
    }

    [Fact]
    public async Task Login_without_return_url_returns_to_the_root()
    {
        using var browser = _host.Gateway.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp, returnUrl: "/");

        Assert.Equal("/", callback.Headers.Location!.OriginalString);
    }

    private static async Task AssertRefused(HttpResponseMessage response, string value)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"'{value}' got {(int)response.StatusCode}");
        Assert.Null(response.Headers.Location);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_return_url", problem.RootElement.GetProperty("error").GetString());
    }
}
