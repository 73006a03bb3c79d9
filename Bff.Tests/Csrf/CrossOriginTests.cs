using System.Net;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Csrf;

public sealed class CrossOriginTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public CrossOriginTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("null")]
    [InlineData("https://localhost.evil.example")]
    [InlineData("https://evil-localhost")]
    public async Task Preflight_from_another_origin_is_granted_nothing(string origin)
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/bff/user");

        var response = await browser.SendAsync(preflight, new Dictionary<string, string>
        {
            ["Origin"] = origin,
            ["Access-Control-Request-Method"] = "GET",
            ["Access-Control-Request-Headers"] = "x-csrf",
        });

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_simple_cross_site_request_without_the_header_gets_no_user_data()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetAsync("/bff/user", new Dictionary<string, string> { ["Origin"] = "https://evil.example" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("alice", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
