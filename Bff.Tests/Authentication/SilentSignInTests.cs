using System.Net;
using System.Text.Json;
using System.Web;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Authentication;

/// <summary><c>/bff/login?prompt=none</c>: the SPA gets its page back either way, with a session or with <c>bff_login=none</c>.</summary>
public sealed class SilentSignInTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public SilentSignInTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Theory]
    [InlineData("login_required")]
    [InlineData("interaction_required")]
    [InlineData("consent_required")]
    [InlineData("account_selection_required")]
    public async Task Provider_without_a_session_for_the_user_sends_the_browser_back_with_bff_login_none(string providerError)
    {
        using var browser = _gateway.CreateBrowser();
        var state = await StartAsync(browser, "prompt=none", "/orders?tab=2");

        var callback = await browser.GetAsync(ErrorCallback(providerError, state));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/orders?tab=2&bff_login=none", callback.Headers.Location!.OriginalString);
        Assert.DoesNotContain(SetCookie.From(callback), c => c.Name == "__Host-bff" && !c.IsDeletion);
        Assert.DoesNotContain(browser.Cookies, c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(0, _idp.TokenRequests);
    }

    [Fact]
    public async Task The_result_flag_goes_into_the_query_in_front_of_the_fragment()
    {
        using var browser = _gateway.CreateBrowser();
        var state = await StartAsync(browser, "prompt=none", "/app#/inbox");

        var callback = await browser.GetAsync(ErrorCallback("login_required", state));

        Assert.Equal("/app?bff_login=none#/inbox", callback.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Provider_that_knows_the_user_creates_a_session_as_usual()
    {
        using var browser = _gateway.CreateBrowser();
        var location = await LoginAsync(browser, "prompt=none", "/orders");
        var parameters = _idp.ReceiveAuthorization(location);
        var code = _idp.IssueCode(parameters.Single(p => p.Key == "nonce").Value, "bob");

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(code, parameters.Single(p => p.Key == "state").Value));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/orders", callback.Headers.Location!.OriginalString);
        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        Assert.Contains("\"bob\"", await user.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("access_denied", "login_denied")]
    [InlineData("server_error", "login_failed")]
    [InlineData("invalid_request", "login_failed")]
    public async Task Other_provider_errors_on_a_silent_sign_in_keep_their_problem(string providerError, string expected)
    {
        using var browser = _gateway.CreateBrowser();
        var state = await StartAsync(browser, "prompt=none", "/orders");

        var callback = await browser.GetAsync(ErrorCallback(providerError, state));

        await AssertProblemAsync(callback, expected);
    }

    [Fact]
    public async Task An_interactive_sign_in_answered_login_required_is_still_a_problem()
    {
        using var browser = _gateway.CreateBrowser();
        var state = await StartAsync(browser, "prompt=login", "/orders");

        var callback = await browser.GetAsync(ErrorCallback("login_required", state));

        await AssertProblemAsync(callback, "login_denied");
    }

    [Fact]
    public async Task An_error_callback_with_a_forged_state_is_not_taken_for_a_silent_answer()
    {
        using var browser = _gateway.CreateBrowser();
        await StartAsync(browser, "prompt=none", "/orders");

        var callback = await browser.GetAsync(ErrorCallback("login_required", "forged-state"));

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Null(callback.Headers.Location);
    }

    [Theory]
    [InlineData("error=login_required")]
    [InlineData("code=some-code")]
    public async Task A_stale_callback_restarts_the_same_silent_sign_in_with_its_options(string answer)
    {
        using var browser = _gateway.CreateBrowser();
        var state = await StartAsync(browser, "prompt=none&login_hint=alice%40example.com&foo=bar", "/orders");
        browser.RemoveCookies(c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));

        var callback = await browser.GetAsync($"/signin-oidc?{answer}&state={Uri.EscapeDataString(state)}");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(
            "/bff/login?returnUrl=%2Forders&restart=1&prompt=none&login_hint=alice%40example.com",
            callback.Headers.Location!.OriginalString);
        var restart = await browser.GetAsync(callback.Headers.Location!.OriginalString);
        var query = HttpUtility.ParseQueryString(restart.Headers.Location!.Query);
        Assert.Equal("none", query["prompt"]);
        Assert.Equal("alice@example.com", query["login_hint"]);
        Assert.Equal(0, _idp.TokenRequests);
    }

    private async Task<Uri> LoginAsync(BrowserClient browser, string options, string returnUrl)
    {
        var login = await browser.GetAsync($"/bff/login?returnUrl={Uri.EscapeDataString(returnUrl)}&{options}");
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return login.Headers.Location!;
    }

    private async Task<string> StartAsync(BrowserClient browser, string options, string returnUrl)
    {
        var location = await LoginAsync(browser, options, returnUrl);
        return HttpUtility.ParseQueryString(location.Query)["state"]!;
    }

    private static string ErrorCallback(string error, string state) =>
        $"/signin-oidc?error={Uri.EscapeDataString(error)}&state={Uri.EscapeDataString(state)}";

    private static async Task AssertProblemAsync(HttpResponseMessage response, string error)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, problem.RootElement.GetProperty("error").GetString());
    }
}
