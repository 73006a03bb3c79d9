using System.Collections.Concurrent;
using System.Net;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Six users call an API through two replicas while their access tokens, two seconds long, are refreshed about once a
/// second; in the middle something disrupts Redis (a failover, a slot move). Counted, not timed: every session comes
/// back on both replicas, refreshes go on afterwards, no refresh token reaches the provider twice, and no call is
/// answered anything but 200 or 503 with Retry-After.
/// </summary>
internal static class RefreshingLoadDrill
{
    private const int Users = 6;

    /// <param name="disrupt">What happens to Redis under load; it gets the users' browsers (to find a session's keys).</param>
    public static async Task RunAsync(
        TestIdentityProvider idp, GatewayReplica a, GatewayReplica b, Func<IReadOnlyList<BrowserClient>, Task> disrupt, TimeSpan recoveryDeadline)
    {
        var spent = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        idp.RefreshBehavior = request =>
        {
            spent.AddOrUpdate(TestIdentityProvider.Form(request).GetValueOrDefault("refresh_token") ?? string.Empty, 1, (_, n) => n + 1);
            return null;
        };

        idp.AccessTokenLifetime = TimeSpan.FromSeconds(2);
        var browsers = new List<BrowserClient>();
        for (var i = 0; i < Users; i++)
        {
            var browser = (i % 2 == 0 ? a : b).CreateBrowser();
            browsers.Add(browser);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(idp, subject: "drill-" + i)).StatusCode);
        }

        var answers = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        using var stop = new CancellationTokenSource();
        var load = browsers.Select((browser, i) => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var response = await browser.GetWithCsrfAsync(((n + i) % 2 == 0 ? a : b).Url("/api/orders"));
                answers.Add((response.StatusCode, response.Headers.RetryAfter is not null));
            }
        })).ToList();

        await RedisProcess.UntilAsync(() => Task.FromResult(idp.RefreshRequests >= Users), "refreshes before the disruption");
        await disrupt(browsers);
        var refreshesAtDisruption = idp.RefreshRequests;

        foreach (var browser in browsers)
        {
            foreach (var replica in new[] { a, b })
            {
                Assert.True(await ReplicaSet.EventuallyAsync(
                    async () => (await browser.GetWithCsrfAsync(replica.Url("/bff/user"))).StatusCode == HttpStatusCode.OK,
                    recoveryDeadline), $"a session did not come back on {replica.BaseAddress}");
            }
        }

        // Refreshes go on afterwards, against whichever node now holds the sessions.
        await RedisProcess.UntilAsync(() => Task.FromResult(idp.RefreshRequests >= refreshesAtDisruption + Users), "refreshes after the disruption");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.DoesNotContain(spent, s => s.Value > 1);
        Assert.DoesNotContain(answers, r => r.Status != HttpStatusCode.OK && r.Status != HttpStatusCode.ServiceUnavailable);
        Assert.All(answers.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), r => Assert.True(r.RetryAfter));
        foreach (var browser in browsers)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/api/orders"))).StatusCode);
            browser.Dispose();
        }
    }
}
