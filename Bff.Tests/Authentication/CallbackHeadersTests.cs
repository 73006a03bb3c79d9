using Bff.Tests.Infrastructure;

namespace Bff.Tests.Authentication;

public sealed class CallbackHeadersTests
{
    [Fact]
    public async Task Callback_response_sends_no_referrer_and_is_not_cached()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var callback = await browser.SignInAsync(idp);

        Assert.Equal("no-referrer", string.Join(",", callback.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("no-store", callback.Headers.CacheControl?.ToString());
    }
}

public sealed class CallbackReturnUrlTests
{
    [Fact]
    public async Task The_post_login_target_comes_from_the_protected_state_not_the_callback_query()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(idp, "/inbox");

        var callback = await browser.GetAsync(
            BrowserClient.CallbackUrl(idp.IssueCode(authorize.Nonce), authorize.State) + "&returnUrl=https%3A%2F%2Fevil.example&redirect_uri=https%3A%2F%2Fevil.example");

        Assert.Equal("/inbox", callback.Headers.Location!.OriginalString);
    }
}
