using System.Diagnostics;
using System.Net;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Tests.Redis;

/// <summary>
/// Redis down or hanging: signed-in users get a 503 they can retry (not a 401 that sends everyone to the login page
/// at once), sign-ins do not leave half-made sessions, readiness says not ready, and the gateway recovers by itself.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    /// <summary>How long Redis may take to be reconnected once it is back (the reconnect back-off tops out at 2 s).</summary>
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(20);

    private readonly ReplicaSet _set = new();

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task Redis_stopped_answers_503_with_retry_after_and_recovers_without_a_restart()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(HealthStatus.Healthy, await b.ReadinessAsync());

        await _set.Redis.StopAsync(keepData: true);

        // The replica learns of the lost connection asynchronously; poll for it rather than sleep.
        HttpResponseMessage? unavailable = null;
        Assert.True(await ReplicaSet.EventuallyAsync(async () =>
        {
            unavailable = await browser.GetWithCsrfAsync(b.Url("/bff/user"));
            return unavailable.StatusCode != HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(5)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable!.StatusCode);
        Assert.NotNull(unavailable.Headers.RetryAfter);
        Assert.Contains("\"session_store_unavailable\"", await unavailable.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Unhealthy, await b.ReadinessAsync());
        // The cookie is kept: the session is not over, only unreachable.
        Assert.NotNull(browser.CookieValue("__Host-bff"));

        await _set.Redis.StartAsync();

        // Each replica reconnects on its own schedule (back-off of at most 2 s); the session survived the restart.
        foreach (var replica in new[] { a, b })
        {
            Assert.True(await ReplicaSet.EventuallyAsync(
                async () => (await browser.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.OK,
                RecoveryDeadline));
            Assert.True(await ReplicaSet.EventuallyAsync(async () => await replica.ReadinessAsync() == HealthStatus.Healthy, RecoveryDeadline));
        }
    }

    [Fact]
    public async Task A_hanging_Redis_costs_bounded_time_and_a_sign_in_callback_gets_503_not_a_half_made_session()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var browser = a.CreateBrowser();
        await browser.SignInAsync(_set.Idp);
        var authorize = await browser.StartSignInAsync(_set.Idp, "/next");
        var session = browser.CookieValue("__Host-bff");

        _set.Redis.Freeze();
        try
        {
            var clock = Stopwatch.StartNew();
            var user = await browser.GetWithCsrfAsync(b.Url("/bff/user"));
            clock.Stop();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, user.StatusCode);
            Assert.NotNull(user.Headers.RetryAfter);
            // One operation timeout (1 s), checked by a 1 s heartbeat: well under what a user would call a hang.
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(4));

            var callback = await browser.GetAsync(BrowserClient.CallbackUrl(_set.Idp.IssueCode(authorize.Nonce, "bob"), authorize.State));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, callback.StatusCode);
            Assert.NotNull(callback.Headers.RetryAfter);
            Assert.Contains("\"session_store_unavailable\"", await callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(session, browser.CookieValue("__Host-bff"));
        }
        finally
        {
            _set.Redis.Thaw();
        }

        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.OK,
            RecoveryDeadline));
        Assert.DoesNotContain("\"bob\"", await (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_starts_while_Redis_is_down_and_serves_once_it_is_up()
    {
        await _set.Redis.StopAsync(keepData: false);

        var a = _set.Start();
        using var browser = a.CreateBrowser();
        browser.PutCookie("__Host-bff", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, user.StatusCode);
        Assert.Equal(HealthStatus.Unhealthy, await a.ReadinessAsync());
        // Sign-in needs the key ring, which lives in Redis too.
        var login = await browser.GetAsync("/bff/login");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
        Assert.Contains("\"session_store_unavailable\"", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await _set.Redis.StartAsync();

        Assert.True(await ReplicaSet.EventuallyAsync(async () => await a.ReadinessAsync() == HealthStatus.Healthy, RecoveryDeadline));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        // Data Protection may hand the key-ring failure it met while Redis was down to one more caller.
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await browser.GetAsync("/bff/login")).StatusCode == HttpStatusCode.Redirect,
            RecoveryDeadline));
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_set.Idp)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }
}
