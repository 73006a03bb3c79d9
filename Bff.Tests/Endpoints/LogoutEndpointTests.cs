using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

public sealed class LogoutEndpointTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public LogoutEndpointTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    internal static async Task<string> LogoutUrlAsync(BrowserClient browser)
    {
        using var json = JsonDocument.Parse(await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("logoutUrl").GetString()!;
    }

    [Theory]
    [InlineData("/bff/logout")]
    [InlineData("/bff/logout?sid=")]
    [InlineData("/bff/logout?sid=0123456789abcdef0123456789abcdef")]
    public async Task Logout_without_the_sessions_id_is_refused_and_keeps_the_session(string url)
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_logout_request", problem.RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Empty(_idp.RevokedTokens);
    }

    [Fact]
    public async Task Logout_ends_the_session_revokes_the_refresh_token_and_signs_out_at_the_provider()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        var oldCookie = browser.CookieValue("__Host-bff")!;
        var logoutUrl = await LogoutUrlAsync(browser);

        var response = await browser.GetAsync(logoutUrl + "&returnUrl=%2Fgoodbye");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(_idp.Authority + "/endsession", location.ToString(), StringComparison.Ordinal);
        var query = HttpUtility.ParseQueryString(location.Query);
        Assert.Equal("https://localhost/signout-callback-oidc", query["post_logout_redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));
        Assert.Equal(_idp.Authority, new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(query["id_token_hint"]).Issuer);

        var revoked = Assert.Single(_idp.RevokedTokens);
        Assert.StartsWith("rt.alice.", revoked, StringComparison.Ordinal);
        Assert.Contains(SetCookie.From(response), c => c.Name == "__Host-bff" && c.IsDeletion);

        // Replaying the old cookie gets nothing.
        browser.PutCookie("__Host-bff", oldCookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        // The provider returns to the signed-out callback, which lands on the validated returnUrl.
        var back = await browser.GetAsync("/signout-callback-oidc?state=" + Uri.EscapeDataString(query["state"]!));
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/goodbye", back.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_failing_revocation_does_not_block_logout()
    {
        _idp.RevocationStatus = 503;
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetAsync(await LogoutUrlAsync(browser));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith(_idp.Authority + "/endsession", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Logout_when_the_provider_is_down_still_logs_out_locally()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        var logoutUrl = await LogoutUrlAsync(browser);
        _idp.Down = true;

        var response = await browser.GetAsync(logoutUrl + "&returnUrl=%2Fbye");

        // The metadata is cached from sign-in, so the browser is still sent to the provider's end-session page;
        // what matters is that the session here is gone and the failed revocation did not stop anything.
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith(_idp.Authority + "/endsession", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Logout_without_a_session_just_returns()
    {
        using var browser = _gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/logout?sid=whatever&returnUrl=%2F");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Logout_response_leaks_no_refresh_or_access_token()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        await browser.GetAsync(await LogoutUrlAsync(browser));

        foreach (var response in browser.Responses)
        {
            Assert.DoesNotContain("at.alice.", response.Headers + response.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("rt.alice.", response.Headers + response.Body, StringComparison.Ordinal);
        }
    }
}
