using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

public sealed class LoginEndpointTests
{
    [Fact]
    public async Task Provider_unreachable_at_login_is_a_503_problem_and_recovers_without_restart()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        idp.Down = true;

        var down = await browser.GetAsync("/bff/login?returnUrl=%2F");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Null(down.Headers.Location);
        using (var problem = JsonDocument.Parse(await down.Content.ReadAsStringAsync()))
        {
            Assert.Equal("provider_unavailable", problem.RootElement.GetProperty("error").GetString());
        }

        idp.Down = false;
        var up = await browser.GetAsync("/bff/login?returnUrl=%2F");
        Assert.Equal(HttpStatusCode.Redirect, up.StatusCode);
        Assert.StartsWith(idp.Authority + "/authorize", up.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_naming_another_issuer_is_refused()
    {
        using var idp = new TestIdentityProvider(issuerOverride: "https://impostor.example");
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("provider_misconfigured", problem.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Provider_rotating_its_signing_key_between_logins_does_not_break_login()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var first = gateway.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await first.SignInAsync(idp)).StatusCode);

        idp.RotateSigningKey("key-2");
        using var second = gateway.CreateBrowser();
        var callback = await second.SignInAsync(idp, subject: "bob");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Login_answers_no_store_and_sets_only_host_prefixed_sign_in_cookies()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F");

        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var cookies = SetCookie.From(response);
        Assert.Equal(2, cookies.Count);
        Assert.All(cookies, c =>
        {
            Assert.StartsWith("__Host-bff.", c.Name, StringComparison.Ordinal);
            Assert.Equal("/", c.Path);
            Assert.Null(c.Domain);
            Assert.True(c.Secure);
            Assert.True(c.HttpOnly);
            Assert.Equal("lax", c.SameSite, ignoreCase: true);
        });
    }
}
