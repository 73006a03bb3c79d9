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
