using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

public sealed class LoginParametersTests
{
    private const string AllOptions =
        "prompt=login&login_hint=Zo%C3%AB%2Btest%40example.com&acr_values=urn%3Amace%3Aincommon%3Aiap%3Asilver%20mfa&max_age=300&ui_locales=fr-CA%20en";

    [Fact]
    public async Task Allowed_options_reach_the_authorization_request_and_nothing_else_in_the_query_does()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync(
            "/bff/login?returnUrl=%2F&" + AllOptions
            + "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid%20admin&response_mode=fragment&foo=bar&client_id=other");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        Assert.Equal("login", query["prompt"]);
        Assert.Equal("Zoë+test@example.com", query["login_hint"]);
        Assert.Equal("urn:mace:incommon:iap:silver mfa", query["acr_values"]);
        Assert.Equal("300", query["max_age"]);
        Assert.Equal("fr-CA en", query["ui_locales"]);
        Assert.EndsWith("/signin-oidc", query["redirect_uri"], StringComparison.Ordinal);
        Assert.DoesNotContain("evil", query["redirect_uri"], StringComparison.Ordinal);
        Assert.Equal(TestIdentityProvider.ClientId, query["client_id"]);
        Assert.DoesNotContain("admin", query["scope"], StringComparison.Ordinal);
        Assert.Null(query["response_mode"]);
        Assert.Null(query["foo"]);
    }

    [Fact]
    public async Task Allowed_options_are_pushed_when_the_provider_offers_par()
    {
        using var idp = new TestIdentityProvider(advertisePar: true);
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F&" + AllOptions + "&foo=bar");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.NotNull(HttpUtility.ParseQueryString(response.Headers.Location!.Query)["request_uri"]);
        var pushed = TestIdentityProvider.Form(idp.RequestsTo("/par").Single());
        Assert.Equal("login", pushed["prompt"]);
        Assert.Equal("Zoë+test@example.com", pushed["login_hint"]);
        Assert.Equal("urn:mace:incommon:iap:silver mfa", pushed["acr_values"]);
        Assert.Equal("300", pushed["max_age"]);
        Assert.Equal("fr-CA en", pushed["ui_locales"]);
        Assert.False(pushed.ContainsKey("foo"));
    }

    [Fact]
    public async Task Without_discovery_lists_every_standard_prompt_is_accepted()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);

        foreach (var prompt in new[] { "none", "login", "consent", "select_account", "create", "login consent" })
        {
            using var browser = gateway.CreateBrowser();
            var response = await browser.GetAsync("/bff/login?prompt=" + Uri.EscapeDataString(prompt));

            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal(prompt, HttpUtility.ParseQueryString(response.Headers.Location!.Query)["prompt"]);
        }
    }

    [Theory]
    [InlineData("prompt=create")]
    [InlineData("prompt=login%20create")]
    [InlineData("acr_values=gold")]
    [InlineData("acr_values=silver%20gold")]
    public async Task A_value_the_discovery_document_does_not_list_is_refused(string option)
    {
        using var idp = new TestIdentityProvider();
        idp.ExtraDiscoveryFields["prompt_values_supported"] = new JsonArray("none", "login", "consent");
        idp.ExtraDiscoveryFields["acr_values_supported"] = new JsonArray("silver", "bronze");
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var refused = await browser.GetAsync("/bff/login?returnUrl=%2F&" + option);

        await AssertRefusedAsync(refused, option[..option.IndexOf('=')]);
        var accepted = await browser.GetAsync("/bff/login?returnUrl=%2F&prompt=login&acr_values=silver");
        Assert.Equal(HttpStatusCode.Redirect, accepted.StatusCode);
    }

    [Theory]
    [InlineData("ui_locales=de", false)]
    [InlineData("ui_locales=de%20it", false)]
    [InlineData("ui_locales=de%20fr", true)]
    [InlineData("ui_locales=EN-gb", true)]
    [InlineData("ui_locales=fr-CA", true)]
    [InlineData("ui_locales=f", false)]
    public async Task Ui_locales_are_refused_only_when_the_provider_lists_its_locales_and_none_requested_is_there(string option, bool accepted)
    {
        using var idp = new TestIdentityProvider();
        idp.ExtraDiscoveryFields["ui_locales_supported"] = new JsonArray("en-GB", "fr");
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F&" + option);

        if (accepted)
        {
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }
        else
        {
            await AssertRefusedAsync(response, "ui_locales");
        }
    }

    [Fact]
    public async Task Without_ui_locales_supported_any_well_formed_locale_passes()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F&ui_locales=tlh");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    [Theory]
    [InlineData("prompt=admin", "prompt")]
    [InlineData("prompt=none%20login", "prompt")]
    [InlineData("prompt=login%20login", "prompt")]
    [InlineData("prompt=LOGIN", "prompt")]
    [InlineData("prompt=login&prompt=none", "prompt")]
    [InlineData("login_hint=alice%0D%0ASet-Cookie%3A%20x%3D1", "login_hint")]
    [InlineData("login_hint=alice%00", "login_hint")]
    [InlineData("login_hint=%E2%80%AEalice", "login_hint")]
    [InlineData("login_hint=%20alice", "login_hint")]
    [InlineData("acr_values=a%22b", "acr_values")]
    [InlineData("acr_values=a%0Ab", "acr_values")]
    [InlineData("acr_values=a%20%20b", "acr_values")]
    [InlineData("max_age=-1", "max_age")]
    [InlineData("max_age=%2B5", "max_age")]
    [InlineData("max_age=1e3", "max_age")]
    [InlineData("max_age=99999999999", "max_age")]
    [InlineData("max_age=%EF%BC%95", "max_age")]
    [InlineData("ui_locales=en%3Bq%3D1", "ui_locales")]
    [InlineData("ui_locales=-en", "ui_locales")]
    public async Task Malformed_options_are_refused_before_any_redirect(string option, string parameter)
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        await AssertRefusedAsync(await browser.GetAsync("/bff/login?returnUrl=%2F&" + option), parameter);
    }

    [Fact]
    public async Task An_overlong_login_hint_is_refused()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/bff/login?login_hint=" + new string('a', 256))).StatusCode);
        await AssertRefusedAsync(await browser.GetAsync("/bff/login?login_hint=" + new string('a', 257)), "login_hint");
    }

    [Fact]
    public async Task Empty_options_are_treated_as_absent()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();

        var response = await browser.GetAsync("/bff/login?returnUrl=%2F&login_hint=&prompt=");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = HttpUtility.ParseQueryString(response.Headers.Location!.Query);
        Assert.Null(query["login_hint"]);
        Assert.Null(query["prompt"]);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string parameter)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Empty(SetCookie.From(response));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_login_parameter", problem.RootElement.GetProperty("error").GetString());
        Assert.Contains($"'{parameter}'", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
