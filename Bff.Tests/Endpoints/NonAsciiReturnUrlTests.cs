using Bff.Authentication;
using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

/// <summary>
/// A <c>returnUrl</c> with characters outside ASCII (<c>/café</c>, which a link writes <c>/caf%C3%A9</c> and the query
/// decodes back) on real Kestrel, which refuses to write such characters into a <c>Location</c> header: the gateway
/// sends the browser to their UTF-8 percent-escapes instead, and never fails after a sign-in has redeemed its code.
/// </summary>
public sealed class NonAsciiReturnUrlTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task Sign_in_to_a_non_ascii_path_lands_on_its_percent_encoded_form_with_a_working_session()
    {
        var gateway = _set.Start();
        using var browser = gateway.CreateBrowser();

        var callback = await browser.SignInAsync(_set.Idp, returnUrl: "/café");

        Assert.True(callback.StatusCode == HttpStatusCode.Redirect, $"callback answered {(int)callback.StatusCode}: {await callback.Content.ReadAsStringAsync()}");
        Assert.Equal("/caf%C3%A9", callback.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Logout_without_a_session_redirects_to_the_percent_encoded_path()
    {
        var gateway = _set.Start();
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/logout?returnUrl=%2F%C3%A9");

        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"logout answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("/%C3%A9", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Logout_through_the_provider_returns_to_the_percent_encoded_path()
    {
        var gateway = _set.Start();
        using var browser = gateway.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        using var user = JsonDocument.Parse(await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync());
        var logoutUrl = user.RootElement.GetProperty("logoutUrl").GetString()!;

        var logout = await browser.GetAsync(logoutUrl + "&returnUrl=%2Fau-revoir%2F%C3%A9t%C3%A9");
        Assert.True(logout.StatusCode == HttpStatusCode.Redirect, $"logout answered {(int)logout.StatusCode}: {await logout.Content.ReadAsStringAsync()}");
        var state = HttpUtility.ParseQueryString(logout.Headers.Location!.Query)["state"]!;
        var back = await browser.GetAsync("/signout-callback-oidc?state=" + Uri.EscapeDataString(state));

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/au-revoir/%C3%A9t%C3%A9", back.Headers.Location!.OriginalString);
    }
}

public sealed class ReturnUrlNormalizationTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/orders?tab=items", "/orders?tab=items")]
    [InlineData("/café", "/caf%C3%A9")]
    [InlineData("/%C3%A9", "/%C3%A9")]
    [InlineData("/日本?q=é#ü", "/%E6%97%A5%E6%9C%AC?q=%C3%A9#%C3%BC")]
    [InlineData("/\U0001F600", "/%F0%9F%98%80")]
    public void A_safe_path_is_written_in_ascii(string value, string expected)
    {
        Assert.True(Bff.Authentication.ReturnUrl.TryNormalize(value, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("//évil.com")]
    [InlineData("/\u2028")]
    public void A_foreign_shape_is_refused_however_it_is_written(string value) =>
        Assert.False(Bff.Authentication.ReturnUrl.TryNormalize(value, out _));

    [Fact]
    public void An_unpaired_surrogate_is_refused()
    {
        // Not as InlineData: xunit would replace the lone surrogate while serialising the case.
        Assert.False(Bff.Authentication.ReturnUrl.TryNormalize("/\uD800", out _));
        Assert.False(Bff.Authentication.ReturnUrl.TryNormalize("/a\uDC00b", out _));
    }

    [Fact]
    public void A_path_whose_encoding_outgrows_the_limit_is_refused() =>
        // 400 characters pass the length check; their 2,400 escaped characters would not.
        Assert.False(Bff.Authentication.ReturnUrl.TryNormalize("/" + new string('é', 400), out _));
}
