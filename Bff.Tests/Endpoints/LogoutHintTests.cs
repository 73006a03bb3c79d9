using System.Net;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

/// <summary>
/// With <c>Bff:Logout:EndSessionHint=ClientId</c> the end-session redirect names the client and the user's provider
/// session instead of carrying the ID token (a JWT with the user's name, email and sid) through the browser.
/// </summary>
public sealed class LogoutHintTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public LogoutHintTests() => _gateway = new GatewayFactory(_idp, new Dictionary<string, string?>
    {
        ["Bff:Logout:EndSessionHint"] = "ClientId",
    });

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    private static Task<string> LogoutUrlAsync(BrowserClient browser) => LogoutEndpointTests.LogoutUrlAsync(browser);

    [Fact]
    public async Task The_end_session_redirect_carries_the_client_id_and_the_provider_session_and_no_jwt()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp, shape: s => s.ProviderSessionId = "sid-provider-42");

        var response = await browser.GetAsync(await LogoutUrlAsync(browser) + "&returnUrl=%2Fgoodbye");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.StartsWith(_idp.Authority + "/endsession", location.ToString(), StringComparison.Ordinal);
        var query = HttpUtility.ParseQueryString(location.Query);
        Assert.Null(query["id_token_hint"]);
        Assert.DoesNotContain("eyJ", location.ToString(), StringComparison.Ordinal);
        Assert.Equal(TestIdentityProvider.ClientId, query["client_id"]);
        Assert.Equal("sid-provider-42", query["logout_hint"]);
        Assert.Equal("https://localhost/signout-callback-oidc", query["post_logout_redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));

        // Everything else about logout is unchanged.
        Assert.StartsWith("rt.alice.", Assert.Single(_idp.RevokedTokens), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        var back = await browser.GetAsync("/signout-callback-oidc?state=" + Uri.EscapeDataString(query["state"]!));
        Assert.Equal("/goodbye", back.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_login_hint_claim_is_preferred_as_the_logout_hint()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp, shape: s => s.Claims["login_hint"] = "O.aW50ZXJuYWwtaGludA");

        var response = await browser.GetAsync(await LogoutUrlAsync(browser));

        var query = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        Assert.Equal("O.aW50ZXJuYWwtaGludA", query["logout_hint"]);
        Assert.Null(query["id_token_hint"]);
    }

    [Fact]
    public async Task Logout_without_the_sessions_id_is_still_refused()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetAsync("/bff/logout?sid=0123456789abcdef0123456789abcdef");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Empty(_idp.RevokedTokens);
    }
}
