using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Redis;

/// <summary>Several replicas sharing one Redis behave as one gateway: any replica serves any request of any session.</summary>
public sealed class ScaleOutTests : IAsyncLifetime
{
    /// <summary>
    /// Well under the local cache's 5 s safety-net age: a replica that stops serving an ended session within this
    /// time was told so over pub/sub, not saved by expiry.
    /// </summary>
    private static readonly TimeSpan InvalidationDeadline = TimeSpan.FromSeconds(1);

    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task Session_created_on_one_replica_is_served_by_another()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();

        var callback = await browser.SignInAsync(_set.Idp, "/orders");
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        var user = await browser.GetWithCsrfAsync(b.Url("/bff/user"));

        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        Assert.Contains(json.RootElement.GetProperty("claims").EnumerateArray(),
            c => c.GetProperty("type").GetString() == "sub" && c.GetProperty("value").GetString() == "alice");
    }

    [Fact]
    public async Task Logout_on_one_replica_ends_the_session_on_every_replica()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        var cookie = browser.CookieValue("__Host-bff")!;
        // B has now read (and cached) the session.
        var user = await browser.GetWithCsrfAsync(b.Url("/bff/user"));
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        var logoutUrl = JsonDocument.Parse(await user.Content.ReadAsStringAsync()).RootElement.GetProperty("logoutUrl").GetString()!;

        var logout = await browser.GetAsync(a.Url(logoutUrl));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);

        // The browser would have dropped the cookie; an attacker who copied it keeps it.
        using var stolen = a.CreateBrowser();
        stolen.PutCookie("__Host-bff", cookie);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await stolen.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
            InvalidationDeadline));
        Assert.Equal(HttpStatusCode.Unauthorized, (await stolen.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_replica_started_after_sign_in_reads_existing_cookies_and_completes_sign_ins_begun_elsewhere()
    {
        var a = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        // A second sign-in begins on A: its state and correlation cookie are protected with A's keys.
        var authorize = await browser.StartSignInAsync(_set.Idp, "/later");

        var c = _set.Start();

        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(c.Url("/bff/user"))).StatusCode);
        var callback = await browser.GetAsync(c.Url(BrowserClient.CallbackUrl(_set.Idp.IssueCode(authorize.Nonce, "bob"), authorize.State)));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/later", callback.Headers.Location!.OriginalString);
        var user = await browser.GetWithCsrfAsync(a.Url("/bff/user"));
        Assert.Contains("\"bob\"", await user.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_flushed_from_Redis_are_gone_and_the_user_signs_in_again()
    {
        var a = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);

        await _set.Redis.CommandAsync("FLUSHALL");

        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
        Assert.Contains("\"unauthenticated\"", await user.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_set.Idp)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_lost_key_ring_makes_old_sessions_anonymous_not_errors()
    {
        var a = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);

        // The key ring is lost; a replica that starts now makes a new one and cannot decrypt the old payloads.
        await _set.Redis.CommandAsync("DEL bff:dataprotection:keys");
        var c = _set.Start();
        using var onC = c.CreateBrowser();
        onC.PutCookie("__Host-bff", browser.CookieValue("__Host-bff")!);

        var user = await onC.GetWithCsrfAsync("/bff/user");

        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
        Assert.Contains("\"unauthenticated\"", await user.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(c.Logs.Lines, l => l.EventId.Id == 1051);
        Assert.Equal(HttpStatusCode.Redirect, (await onC.SignInAsync(_set.Idp)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await onC.GetWithCsrfAsync("/bff/user")).StatusCode);
    }
}
