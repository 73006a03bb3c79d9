using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Endpoints;

public sealed class UserEndpointTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public UserEndpointTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task Signed_in_user_gets_claims_expiry_and_logout_url_without_any_token()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = await browser.GetWithCsrfAsync("/bff/user");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Matches("^/bff/logout\\?sid=[0-9a-f]{32}$", root.GetProperty("logoutUrl").GetString());
        Assert.True(root.GetProperty("sessionExpiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        var types = root.GetProperty("claims").EnumerateArray().Select(c => c.GetProperty("type").GetString()).ToList();
        Assert.Contains("sub", types);
        Assert.DoesNotContain("nonce", types);
        Assert.DoesNotContain("eyJ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("at.alice", body, StringComparison.Ordinal);
        Assert.DoesNotContain("rt.alice", body, StringComparison.Ordinal);
        Assert.DoesNotContain(browser.CookieValue("__Host-bff")!, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_claim_allowlist_only_the_listed_claims_reach_page_script()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?>
        {
            ["Bff:UserEndpoint:Claims:0"] = "sub",
            ["Bff:UserEndpoint:Claims:1"] = "name",
        });
        using var browser = gateway.CreateBrowser();
        await browser.SignInAsync(idp, shape: token => token.Claims = new Dictionary<string, object>
        {
            ["name"] = "Alice Example",
            ["groups"] = "3f2a9c1e-internal-group-id",
            ["tid"] = "tenant-0042",
        });

        var body = await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);

        var types = json.RootElement.GetProperty("claims").EnumerateArray().Select(c => c.GetProperty("type").GetString()).ToList();
        Assert.Equal(["name", "sub"], types.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("3f2a9c1e", body, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant-0042", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_caller_gets_401_problem_not_a_redirect()
    {
        using var browser = _gateway.CreateBrowser();

        var response = await browser.GetWithCsrfAsync("/bff/user");

        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Null(response.Headers.Location);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    [InlineData("true")]
    public async Task Missing_or_wrong_csrf_header_is_refused_even_when_signed_in(string? header)
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);

        var response = header is null
            ? await browser.GetAsync("/bff/user")
            : await browser.GetAsync("/bff/user", new Dictionary<string, string> { ["X-CSRF"] = header });

        await AssertProblem(response, HttpStatusCode.Unauthorized, "csrf_header_missing");
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("truncated")]
    [InlineData("foreign")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public async Task A_forged_session_cookie_is_anonymous_not_an_error(string kind)
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        var real = browser.CookieValue("__Host-bff")!;
        var forged = kind switch
        {
            "tampered" => (real[0] == 'A' ? 'B' : 'A') + real[1..],
            "truncated" => real[..20],
            "foreign" => "Zm9yZWlnbi1lbnZpcm9ubWVudC1zZXNzaW9uLWtleQ1",
            "garbage" => "%00<script>\"'",
            _ => string.Empty,
        };
        browser.PutCookie("__Host-bff", forged);

        var response = await browser.GetWithCsrfAsync("/bff/user");

        await AssertProblem(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
    }
}
