using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Authentication;

/// <summary>
/// RFC 9207 mix-up defence: a callback's <c>iss</c> must name the provider the sign-in started at, or its code is
/// never sent to the token endpoint.
/// </summary>
public sealed class AuthorizationResponseIssuerTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Callback_naming_the_provider_signs_in(bool advertised)
    {
        using var idp = Provider(advertised);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var callback = await CallbackAsync(browser, idp, iss: idp.Issuer);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(1, idp.TokenRequests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Callback_without_iss_from_a_provider_that_does_not_advertise_it_signs_in()
    {
        using var idp = Provider(advertised: false);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var callback = await CallbackAsync(browser, idp, iss: null);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, "https://attacker.example")]
    [InlineData(true, "{issuer}/")]
    [InlineData(true, "{issuer}/other")]
    [InlineData(true, "")]
    [InlineData(false, "https://attacker.example")]
    [InlineData(false, "{issuer}/")]
    public async Task Callback_with_a_missing_or_wrong_iss_is_refused_and_its_code_is_never_redeemed(bool advertised, string? iss)
    {
        using var idp = Provider(advertised);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var callback = await CallbackAsync(browser, idp, iss?.Replace("{issuer}", idp.Issuer, StringComparison.Ordinal));

        await AssertLoginFailedAsync(callback);
        Assert.Equal(0, idp.TokenRequests);
        Assert.Empty(idp.RequestsTo("/token"));
        Assert.DoesNotContain(SetCookie.From(callback), c => c.Name == "__Host-bff" && !c.IsDeletion);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_silent_sign_in_error_with_a_wrong_iss_is_refused_not_taken_for_an_answer()
    {
        using var idp = Provider(advertised: true);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        var login = await browser.GetAsync("/bff/login?returnUrl=%2F&prompt=none");
        var state = HttpUtility.ParseQueryString(login.Headers.Location!.Query)["state"]!;

        var wrong = await browser.GetAsync(
            $"/signin-oidc?error=login_required&state={Uri.EscapeDataString(state)}&iss={Uri.EscapeDataString("https://attacker.example")}");

        await AssertLoginFailedAsync(wrong);
    }

    [Fact]
    public async Task A_silent_sign_in_error_naming_the_provider_returns_to_the_spa()
    {
        using var idp = Provider(advertised: true);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        var login = await browser.GetAsync("/bff/login?returnUrl=%2F&prompt=none");
        var state = HttpUtility.ParseQueryString(login.Headers.Location!.Query)["state"]!;

        var answer = await browser.GetAsync(
            $"/signin-oidc?error=login_required&state={Uri.EscapeDataString(state)}&iss={Uri.EscapeDataString(idp.Issuer)}");

        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        Assert.Equal("/?bff_login=none", answer.Headers.Location!.OriginalString);
    }

    private static TestIdentityProvider Provider(bool advertised)
    {
        var idp = new TestIdentityProvider();
        if (advertised)
        {
            idp.ExtraDiscoveryFields["authorization_response_iss_parameter_supported"] = true;
        }

        return idp;
    }

    private static async Task<HttpResponseMessage> CallbackAsync(BrowserClient browser, TestIdentityProvider idp, string? iss)
    {
        var authorize = await browser.StartSignInAsync(idp);
        var code = idp.IssueCode(authorize.Nonce);
        var url = BrowserClient.CallbackUrl(code, authorize.State);
        return await browser.GetAsync(iss is null ? url : url + "&iss=" + Uri.EscapeDataString(iss));
    }

    private static async Task AssertLoginFailedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("login_failed", problem.RootElement.GetProperty("error").GetString());
    }
}
