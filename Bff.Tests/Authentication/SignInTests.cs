using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Authentication;

public sealed class SignInTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public SignInTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task Login_redirects_to_the_provider_with_code_flow_and_pkce()
    {
        using var browser = _gateway.CreateBrowser();

        var authorize = await browser.StartSignInAsync(_idp, "/orders");

        Assert.StartsWith(_idp.Authority + "/authorize", authorize.Location.ToString(), StringComparison.Ordinal);
        Assert.Equal("code", authorize.Parameters["response_type"]);
        Assert.Equal("S256", authorize.Parameters["code_challenge_method"]);
        Assert.Equal(43, authorize.Parameters["code_challenge"].Length);
        Assert.Equal(TestIdentityProvider.ClientId, authorize.Parameters["client_id"]);
        Assert.Equal("https://localhost/signin-oidc", authorize.Parameters["redirect_uri"]);
        Assert.Contains("offline_access", authorize.Parameters["scope"].Split(' '));
        Assert.DoesNotContain("client_secret", authorize.Parameters.Keys);
    }

    [Fact]
    public async Task Each_login_attempt_gets_a_fresh_state_nonce_and_verifier()
    {
        using var browser = _gateway.CreateBrowser();

        var first = await browser.StartSignInAsync(_idp);
        var second = await browser.StartSignInAsync(_idp);

        Assert.NotEqual(first.State, second.State);
        Assert.NotEqual(first.Nonce, second.Nonce);
        Assert.NotEqual(first.Parameters["code_challenge"], second.Parameters["code_challenge"]);
    }

    [Fact]
    public async Task Login_uses_pushed_authorization_when_the_provider_advertises_it()
    {
        using var idp = new TestIdentityProvider(advertisePar: true);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var authorize = await browser.StartSignInAsync(idp);

        var query = System.Web.HttpUtility.ParseQueryString(authorize.Location.Query);
        Assert.StartsWith("urn:ietf:params:oauth:request_uri:", query["request_uri"], StringComparison.Ordinal);
        Assert.Null(query["code_challenge"]);
        Assert.Equal("S256", authorize.Parameters["code_challenge_method"]);
        Assert.Equal(TestIdentityProvider.ClientSecret, TestIdentityProvider.ClientSecretOf(Assert.Single(idp.RequestsTo("/par"))));

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(idp.IssueCode(authorize.Nonce), authorize.State));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
    }

    [Fact]
    public async Task Successful_callback_creates_a_session_and_returns_to_the_requested_page()
    {
        using var browser = _gateway.CreateBrowser();

        var callback = await browser.SignInAsync(_idp, "/orders/42?tab=items");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/orders/42?tab=items", callback.Headers.Location!.OriginalString);
        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var claims = json.RootElement.GetProperty("claims").EnumerateArray()
            .ToDictionary(c => c.GetProperty("type").GetString()!, c => c.GetProperty("value").GetString());
        Assert.Equal("alice", claims["sub"]);
        Assert.Equal("Alice Example", claims["name"]);
    }

    [Fact]
    public async Task Session_cookie_is_a_small_opaque_host_only_cookie()
    {
        using var browser = _gateway.CreateBrowser();
        var manyClaims = Enumerable.Range(0, 300).ToDictionary(i => "group_" + i, i => (object)("a-rather-long-group-name-" + i));

        var callback = await browser.SignInAsync(_idp, shape: s => s.Claims = manyClaims);

        var cookie = Assert.Single(SetCookie.From(callback), c => c.Name == "__Host-bff");
        Assert.True(cookie.Secure);
        Assert.True(cookie.HttpOnly);
        Assert.Equal("/", cookie.Path);
        Assert.Null(cookie.Domain);
        Assert.Equal("strict", cookie.SameSite, ignoreCase: true);
        // 256 random bits, then the subject's 16-bit slot tag (for Redis Cluster; SessionKey).
        Assert.Matches("^[A-Za-z0-9_-]{43}\\.[0-9a-f]{4}$", cookie.Value);
        Assert.True(cookie.Raw.Length < 200, $"Set-Cookie is {cookie.Raw.Length} bytes: {cookie.Raw.Length}");
    }

    [Fact]
    public async Task No_token_reaches_the_browser_during_sign_in_and_user_lookup()
    {
        using var browser = _gateway.CreateBrowser();

        await browser.SignInAsync(_idp);
        await browser.GetWithCsrfAsync("/bff/user");

        foreach (var response in browser.Responses)
        {
            var text = response.Headers + response.Body;
            Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("at.alice.", text, StringComparison.Ordinal);
            Assert.DoesNotContain("rt.alice.", text, StringComparison.Ordinal);
            Assert.DoesNotContain(TestIdentityProvider.ClientSecret, text, StringComparison.Ordinal);
        }
    }
}
