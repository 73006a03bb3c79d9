using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Authentication;

/// <summary>
/// A sign-in attempt's state is redeemable once. Whoever holds a captured state and its correlation cookie cannot
/// make the gateway call the provider's token endpoint again, whatever code they send with it.
/// </summary>
public sealed class SingleUseStateTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;

    public SingleUseStateTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task A_state_replayed_with_junk_codes_reaches_the_token_endpoint_once()
    {
        using var attacker = _gateway.CreateBrowser();
        var authorize = await attacker.StartSignInAsync(_idp);
        var signInCookies = attacker.Cookies.ToList();

        var first = await attacker.GetAsync(BrowserClient.CallbackUrl("junk-0", authorize.State));
        Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
        Assert.Equal(1, _idp.TokenRequests);

        for (var i = 1; i <= 5; i++)
        {
            Replant(attacker, signInCookies);
            var replay = await attacker.GetAsync(BrowserClient.CallbackUrl("junk-" + i, authorize.State));

            Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
            await AssertProblemAsync(replay, "login_expired");
        }

        Assert.Equal(1, _idp.TokenRequests);
    }

    [Fact]
    public async Task A_state_that_completed_a_sign_in_cannot_complete_another()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp, "/orders");
        var signInCookies = browser.Cookies.ToList();
        var signedIn = await browser.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce), authorize.State));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

        // Someone who copied the attempt's cookies and state brings a fresh, valid code for the same nonce.
        using var copy = _gateway.CreateBrowser();
        Replant(copy, signInCookies);
        var replay = await copy.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce, subject: "mallory"), authorize.State));

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        await AssertProblemAsync(replay, "login_expired");
        Assert.DoesNotContain(SetCookie.From(replay), c => c.Name == "__Host-bff" && !c.IsDeletion);
        Assert.Equal(1, _idp.TokenRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copy.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_replay_by_the_signed_in_browser_goes_on_to_the_return_url()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp, "/orders");
        var signInCookies = browser.Cookies.ToList();
        var url = BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce), authorize.State);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync(url)).StatusCode);

        // A browser that never saw the deletion of its correlation cookie (the first answer was lost) retries.
        Replant(browser, signInCookies);
        var retry = await browser.GetAsync(url);

        Assert.Equal(HttpStatusCode.Redirect, retry.StatusCode);
        Assert.Equal("/orders", retry.Headers.Location!.OriginalString);
        Assert.Equal(1, _idp.TokenRequests);
    }

    [Fact]
    public async Task A_state_older_than_ten_minutes_restarts_sign_in_without_a_token_request()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var gateway = new GatewayFactory(_idp, time: time);
        using var browser = gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp, "/orders");
        time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        // The browser would have dropped the expired correlation cookie; a script that kept it gets no further.
        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_idp.IssueCode(authorize.Nonce), authorize.State));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/bff/login?returnUrl=%2Forders&restart=1", callback.Headers.Location!.OriginalString);
        Assert.Equal(0, _idp.TokenRequests);
    }

    internal static void Replant(BrowserClient browser, IEnumerable<BrowserClient.StoredCookie> cookies)
    {
        // The sign-in (correlation, nonce) cookies; the session cookie is "__Host-bff" without the dot.
        foreach (var cookie in cookies.Where(c => c.Name.StartsWith("__Host-bff.", StringComparison.Ordinal)))
        {
            browser.PutCookie(cookie.Name, cookie.Value, cookie.Path);
        }
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, string code)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
    }
}

/// <summary>With Redis, a state used on one replica is spent on all of them.</summary>
public sealed class SingleUseStateAcrossReplicasTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task A_state_used_on_one_replica_is_refused_by_another()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var attacker = a.CreateBrowser();
        var authorize = await attacker.StartSignInAsync(_set.Idp);
        var signInCookies = attacker.Cookies.ToList();
        Assert.Equal(HttpStatusCode.BadRequest, (await attacker.GetAsync(BrowserClient.CallbackUrl("junk-a", authorize.State))).StatusCode);
        Assert.Equal(1, _set.Idp.TokenRequests);

        SingleUseStateTests.Replant(attacker, signInCookies);
        var replay = await attacker.GetAsync(b.Url(BrowserClient.CallbackUrl("junk-b", authorize.State)));

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        await SingleUseStateTests.AssertProblemAsync(replay, "login_expired");
        Assert.Equal(1, _set.Idp.TokenRequests);
    }
}
