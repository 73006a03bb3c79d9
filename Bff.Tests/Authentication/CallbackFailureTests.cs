using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Authentication;

/// <summary>Every way a callback can be wrong ends in a clear 4xx and no session; none of them is a 500.</summary>
public sealed class CallbackFailureTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public CallbackFailureTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    public static TheoryData<string> BadIdTokens => new()
    {
        "wrong issuer",
        "issuer of another tenant",
        "wrong audience",
        "missing audience",
        "wrong nonce",
        "missing nonce",
        "missing iat",
        "missing sub",
        "bad signature",
        "alg none",
        "unknown kid",
        "expired beyond skew",
        "issued in the future beyond skew",
    };

    private static void Bend(IdTokenShape shape, string defect, TestIdentityProvider idp)
    {
        switch (defect)
        {
            case "wrong issuer": shape.Issuer = "https://evil.example"; break;
            case "issuer of another tenant": shape.Issuer = idp.Authority + "/other"; break;
            case "wrong audience": shape.Audience = "another-client"; break;
            case "missing audience": shape.Audience = string.Empty; break;
            case "wrong nonce": shape.Nonce = "not-the-nonce"; break;
            case "missing nonce": shape.Nonce = null; break;
            case "missing iat": shape.IncludeIssuedAt = false; break;
            case "missing sub": shape.Subject = null; break;
            case "bad signature": shape.SigningKeyOverride = new RsaSecurityKey(RSA.Create(2048)) { KeyId = idp.SigningKey.KeyId }; break;
            case "alg none": shape.WithoutSignature = true; break;
            case "unknown kid": shape.SigningKeyOverride = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "unknown-kid" }; break;
            case "expired beyond skew": shape.ClockOffset = TimeSpan.FromMinutes(-30); shape.Lifetime = TimeSpan.FromMinutes(10); break;
            case "issued in the future beyond skew": shape.ClockOffset = TimeSpan.FromMinutes(30); break;
            default: throw new ArgumentOutOfRangeException(nameof(defect));
        }
    }

    [Theory]
    [MemberData(nameof(BadIdTokens))]
    public async Task A_bad_id_token_creates_no_session(string defect)
    {
        using var browser = _gateway.CreateBrowser();

        var callback = await browser.SignInAsync(_idp, shape: s => Bend(s, defect, _idp));

        Assert.True(HttpStatusCode.BadRequest == callback.StatusCode, $"{defect}: {(int)callback.StatusCode} {callback.Headers.Location}");
        await AssertProblem(callback, "login_failed");
        Assert.DoesNotContain(SetCookie.From(callback), c => c.Name == "__Host-bff" && !c.IsDeletion);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Id_token_within_clock_skew_is_accepted()
    {
        using var browser = _gateway.CreateBrowser();

        var callback = await browser.SignInAsync(_idp, shape: s => s.ClockOffset = TimeSpan.FromMinutes(4));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
    }

    [Fact]
    public async Task Provider_error_is_a_clear_problem_and_clears_the_sign_in_cookies()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp);
        Assert.Contains(browser.Cookies, c => c.Name.StartsWith("__Host-bff.nonce.", StringComparison.Ordinal));

        var callback = await browser.GetAsync($"/signin-oidc?error=access_denied&state={Uri.EscapeDataString(authorize.State)}");

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        await AssertProblem(callback, "login_denied");
        Assert.DoesNotContain(browser.Cookies, c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));
        Assert.Equal(0, _idp.TokenRequests);
    }

    [Fact]
    public async Task Callback_without_code_is_refused()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp);

        var callback = await browser.GetAsync($"/signin-oidc?state={Uri.EscapeDataString(authorize.State)}");

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Equal(0, _idp.TokenRequests);
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("missing")]
    [InlineData("other attempt")]
    public async Task A_tampered_missing_or_swapped_state_is_refused(string kind)
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp);
        var code = _idp.IssueCode(authorize.Nonce);
        var state = kind switch
        {
            "tampered" => authorize.State[..^4] + "AAAA",
            "missing" => null,
            _ => (await _gateway.CreateBrowser().StartSignInAsync(_idp)).State,
        };

        var callback = await browser.GetAsync(state is null ? $"/signin-oidc?code={code}" : BrowserClient.CallbackUrl(code, state));

        // A state from another attempt decrypts but has no correlation cookie here: sign-in restarts instead.
        if (kind == "other attempt")
        {
            Assert.StartsWith("/bff/login?", callback.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        }

        Assert.DoesNotContain(SetCookie.From(callback), c => c.Name == "__Host-bff");
        Assert.Equal(0, _idp.TokenRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_code_delivered_to_a_browser_that_did_not_start_the_sign_in_is_refused()
    {
        using var attacker = _gateway.CreateBrowser();
        var authorize = await attacker.StartSignInAsync(_idp);
        var code = _idp.IssueCode(authorize.Nonce, subject: "mallory");

        using var victim = _gateway.CreateBrowser();
        var callback = await victim.GetAsync(BrowserClient.CallbackUrl(code, authorize.State));

        // The victim is sent to start a sign-in of their own; the attacker's code is never redeemed.
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.StartsWith("/bff/login?", callback.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(SetCookie.From(callback), c => c.Name == "__Host-bff");
        Assert.Equal(0, _idp.TokenRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await victim.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Reloading_the_callback_never_redeems_the_code_twice()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp, "/orders");
        var url = BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce), authorize.State);
        var first = await browser.GetAsync(url);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);

        var reload = await browser.GetAsync(url);

        Assert.Equal(HttpStatusCode.Redirect, reload.StatusCode);
        Assert.Equal("/orders", reload.Headers.Location!.OriginalString);
        Assert.Equal(1, _idp.TokenRequests);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_callback_whose_correlation_expired_restarts_sign_in_once()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp, "/orders");
        browser.RemoveCookies(c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce), authorize.State));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/bff/login?returnUrl=%2Forders&restart=1", callback.Headers.Location!.OriginalString);
        Assert.Equal(0, _idp.TokenRequests);

        // The restarted attempt loses its cookies too (a browser that drops them): no loop, a clear error.
        var restarted = await browser.StartSignInAsync(_idp, "/orders");
        var restartLogin = await browser.GetAsync(callback.Headers.Location!.OriginalString);
        var query = System.Web.HttpUtility.ParseQueryString(restartLogin.Headers.Location!.Query);
        browser.RemoveCookies(c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal));
        var second = await browser.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(query["nonce"]!), query["state"]!));
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        await AssertProblem(second, "login_expired");
        _ = restarted;
    }

    [Fact]
    public async Task A_planted_session_cookie_is_replaced_at_sign_in()
    {
        using var attacker = _gateway.CreateBrowser();
        await attacker.SignInAsync(_idp, subject: "mallory");
        var planted = attacker.CookieValue("__Host-bff")!;

        using var victim = _gateway.CreateBrowser();
        victim.PutCookie("__Host-bff", planted);
        await victim.SignInAsync(_idp, subject: "alice");

        var fresh = victim.CookieValue("__Host-bff");
        Assert.NotEqual(planted, fresh);
        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task Abandoned_sign_ins_do_not_pile_up_cookies()
    {
        using var browser = _gateway.CreateBrowser();
        for (var i = 0; i < 30; i++)
        {
            await browser.StartSignInAsync(_idp);
        }

        // The sign-in cookies are __Host- (Path=/), so every request carries them: they must stay far below the 8 KB
        // per header line a common ingress accepts. A new sign-in drops older unfinished ones past a few.
        Assert.All(browser.Cookies, c => Assert.Equal("/", c.Path));
        var cookieBytes = browser.Cookies.Sum(c => c.Name.Length + c.Value.Length + 2);
        Assert.True(cookieBytes < 2 * 1024, $"every request would carry {cookieBytes} bytes of cookies");
        Assert.True(browser.Cookies.Count <= 2 * 4, $"{browser.Cookies.Count} sign-in cookies");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        await browser.SignInAsync(_idp);

        // One completed sign-in clears every abandoned attempt.
        Assert.Equal(["__Host-bff"], browser.Cookies.Select(c => c.Name));
    }

    private static async Task AssertProblem(HttpResponseMessage response, string code)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType ?? ContentTypeFromRecord(response));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain("   at ", json.RootElement.ToString(), StringComparison.Ordinal);
    }

    private static string? ContentTypeFromRecord(HttpResponseMessage response) => response.Content.Headers.ContentType?.MediaType;
}
