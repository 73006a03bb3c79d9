using Bff.Sessions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Bff.Tests.Browser;

/// <summary>
/// The whole flow in a real browser against the demo composition: what a newcomer sees after run-demo.sh, and the
/// promises the gateway makes to the browser (cookie flags, no token reachable from page script).
/// </summary>
[Collection(DemoCompositionGroup.Name)]
[Trait("Category", "Browser")]
public sealed class DemoFlowTests(DemoComposition demo, ITestOutputHelper output)
{
    private const string SessionCookie = "__Host-bff";
    private const string AliceSubject = "d7a3c1e0-alice";

    [Fact]
    public async Task Sign_in_call_the_api_through_a_token_refresh_and_sign_out()
    {
        await using var context = await NewContextAsync();
        var recorder = new BrowserRecorder(context);
        var page = await context.NewPageAsync();
        await RunTracedAsync(context, nameof(Sign_in_call_the_api_through_a_token_refresh_and_sign_out), async () =>
        {
            var before = await demo.ProviderStatsAsync();

            await SignInAsync(page, "alice", "alice");

            Assert.Equal("Alice Smith", await page.Locator("#user-name").TextContentAsync());
            Assert.Matches(@"^\d+(m \d\ds|s)$|^\d+h", await page.Locator("#session-remaining").TextContentAsync() ?? "");
            Assert.Equal(1, (await demo.ProviderStatsAsync()).Since(before).AuthorizationCodeGrants);

            // The session cookie: an opaque key the page cannot read, sent only to this host, only same-site.
            var cookies = await context.CookiesAsync([demo.GatewayUrl.AbsoluteUri]);
            var session = Assert.Single(cookies, c => c.Name == SessionCookie);
            Assert.True(session.HttpOnly, "session cookie must be HttpOnly");
            Assert.True(session.Secure, "session cookie must be Secure (Chromium accepts that on http://localhost)");
            Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
            Assert.Equal("/", session.Path);
            Assert.Equal("localhost", session.Domain); // host-only, as the __Host- prefix demands
            Assert.All(cookies, c => Assert.DoesNotMatch(BrowserRecorder.CompactJwt(), c.Value));

            // First API call: the token the gateway got at sign-in.
            await page.Locator("#call-api").ClickAsync();
            await page.Locator("#token-verdict[data-change='first']").WaitForAsync();
            Assert.Equal(AliceSubject, await page.Locator("#api-sub").TextContentAsync());
            Assert.Contains("demo_api", await page.Locator("#api-scopes").TextContentAsync() ?? "", StringComparison.Ordinal);
            // The token is DPoP-bound and the API checked a proof of the gateway's key with it (nonce included).
            Assert.Equal("DPoP", await page.Locator("#api-token-type").GetAttributeAsync("data-value"));
            var firstExpiry = await page.Locator("#token-expires-at").GetAttributeAsync("data-value") ?? throw new InvalidOperationException("no expiry shown");
            Assert.Equal(0, (await demo.ProviderStatsAsync()).Since(before).RefreshTokenGrants);

            // Wait for the access token to expire (the condition, not a fixed sleep), then call again.
            await page.WaitForFunctionAsync(
                "expiresAt => Date.now() > Date.parse(expiresAt) + 1500",
                firstExpiry,
                new() { Timeout = (float)(DemoComposition.AccessTokenLifetime * 4).TotalMilliseconds, PollingInterval = 250 });
            await page.Locator("#call-api").ClickAsync();
            await page.Locator("#token-verdict[data-change='refreshed']").WaitForAsync();

            Assert.Equal(AliceSubject, await page.Locator("#api-sub").TextContentAsync());
            var secondExpiry = await page.Locator("#token-expires-at").GetAttributeAsync("data-value");
            Assert.True(DateTimeOffset.Parse(secondExpiry!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.Parse(firstExpiry, System.Globalization.CultureInfo.InvariantCulture));
            var afterRefresh = (await demo.ProviderStatsAsync()).Since(before);
            Assert.Equal(1, afterRefresh.RefreshTokenGrants);
            Assert.Equal(0, afterRefresh.RefreshTokenRejections);
            Assert.Equal("DPoP", await page.Locator("#api-token-type").GetAttributeAsync("data-value"));
            Assert.Equal(2, afterRefresh.DPoPBoundTokens); // the code exchange and the refresh, each proved
            Assert.Equal(0, afterRefresh.DPoPProofsRefused);
            Assert.Equal(1, afterRefresh.DPoPUserInfoReads); // at sign-in (Bff:Claims:FromUserInfo), with a proof of the bound token

            await page.ScreenshotAsync(new() { Path = Path.Combine(demo.ArtifactsDirectory, "signed-in.png"), FullPage = true });

            // Nothing page script can reach holds a token.
            var documentCookie = await page.EvaluateAsync<string>("document.cookie");
            Assert.DoesNotContain(SessionCookie, documentCookie, StringComparison.Ordinal);
            Assert.DoesNotMatch(BrowserRecorder.CompactJwt(), documentCookie);
            var storage = await page.EvaluateAsync<string>("JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })");
            Assert.DoesNotMatch(BrowserRecorder.CompactJwt(), storage);

            // Sign out: the gateway revokes the refresh token and ends the provider session, then the page is signed out.
            await page.Locator("#sign-out").ClickAsync();
            await page.Locator("#sign-in").WaitForAsync();
            Assert.StartsWith(demo.GatewayUrl.AbsoluteUri, page.Url, StringComparison.Ordinal);
            var afterSignOut = (await demo.ProviderStatsAsync()).Since(before);
            Assert.Equal(1, afterSignOut.Revocations);
            Assert.Equal(1, afterSignOut.EndSessions);

            Assert.Equal(401, await page.EvaluateAsync<int>("async () => (await fetch('/bff/user', { headers: { 'X-CSRF': '1' } })).status"));
            Assert.DoesNotContain(await context.CookiesAsync([demo.GatewayUrl.AbsoluteUri]), c => c.Name == SessionCookie);

            var responses = await recorder.ResponsesAsync();
            Assert.All(responses.Where(r => r.Status is >= 200 and < 300), r => Assert.True(r.Read, $"The body of {r.Url} could not be read"));
            Assert.Contains(responses, r => r.Url.EndsWith("/bff/user", StringComparison.Ordinal) && r.Status == 200);
            Assert.Contains(responses, r => r.Url.EndsWith("/api/whoami", StringComparison.Ordinal) && r.Status == 200);
            Assert.All(responses, r => Assert.False(
                BrowserRecorder.CompactJwt().IsMatch(r.Body),
                $"A token-shaped string reached the page in the body of {r.Url}"));
            Assert.All(responses, r => Assert.DoesNotContain(session.Value, r.Body, StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Signing_out_at_the_provider_ends_the_gateway_session_and_the_page_says_so_by_itself()
    {
        await using var context = await NewContextAsync();
        var spa = await context.NewPageAsync();
        await RunTracedAsync(context, nameof(Signing_out_at_the_provider_ends_the_gateway_session_and_the_page_says_so_by_itself), async () =>
        {
            var before = await demo.ProviderStatsAsync();
            await SignInAsync(spa, "bob", "bob");
            Assert.Equal("Bob Jones", await spa.Locator("#user-name").TextContentAsync());

            // In another tab, the user signs out at the provider itself: it tells the gateway over the back channel.
            var provider = await context.NewPageAsync();
            await provider.GotoAsync(new Uri(demo.ProviderUrl, "account/logout").AbsoluteUri);
            await provider.Locator("#provider-logout").ClickAsync();
            await provider.Locator("#signed-out").WaitForAsync();
            var stats = (await demo.ProviderStatsAsync()).Since(before);
            Assert.Equal(1, stats.BackchannelLogoutsDelivered);
            Assert.Equal(0, stats.BackchannelLogoutsFailed);

            // The SPA tab switches to signed out by itself (its event stream said why), without a click or a poll.
            await spa.Locator("#signed-out-reason").WaitForAsync();
            Assert.Contains("signed out at the identity provider", await spa.Locator("#signed-out-reason").TextContentAsync() ?? "", StringComparison.Ordinal);
            Assert.Equal(401, await spa.EvaluateAsync<int>("async () => (await fetch('/bff/user', { headers: { 'X-CSRF': '1' } })).status"));
        });
    }

    [Fact]
    public async Task Only_alice_may_call_the_alice_only_route_and_bob_sees_a_clear_refusal()
    {
        await using var bobContext = await NewContextAsync();
        var bob = await bobContext.NewPageAsync();
        await using var aliceContext = await NewContextAsync();
        var alice = await aliceContext.NewPageAsync();
        await RunTracedAsync(bobContext, nameof(Only_alice_may_call_the_alice_only_route_and_bob_sees_a_clear_refusal), async () =>
        {
            await SignInAsync(bob, "bob", "bob");
            await bob.Locator("#call-alice-only").ClickAsync();
            await bob.Locator("#api-error[data-code='forbidden']").WaitForAsync();
            Assert.Contains("only Alice may", await bob.Locator("#api-error").TextContentAsync() ?? "", StringComparison.Ordinal);
            await bob.ScreenshotAsync(new() { Path = Path.Combine(demo.ArtifactsDirectory, "bob-refused.png"), FullPage = true });

            // Bob's own API route still works: the policy is on the one route.
            await bob.Locator("#call-api").ClickAsync();
            await bob.Locator("#token-verdict").WaitForAsync();
            Assert.True(await bob.Locator("#api-error").IsHiddenAsync());

            await SignInAsync(alice, "alice", "alice");
            await alice.Locator("#call-alice-only").ClickAsync();
            await alice.Locator("#token-verdict").WaitForAsync();
            Assert.Equal(AliceSubject, await alice.Locator("#api-sub").TextContentAsync());
            Assert.True(await alice.Locator("#api-error").IsHiddenAsync());
        });
    }

    [Fact]
    public async Task Silent_sign_in_returns_to_the_page_signed_out_and_later_signs_a_known_user_in_without_a_prompt()
    {
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        var providerPages = new List<string>();
        var gatewayPages = new List<string>();
        page.FrameNavigated += (_, frame) =>
        {
            if (frame == page.MainFrame)
            {
                (frame.Url.StartsWith(demo.ProviderUrl.AbsoluteUri, StringComparison.Ordinal) ? providerPages : gatewayPages).Add(frame.Url);
            }
        };
        await RunTracedAsync(context, nameof(Silent_sign_in_returns_to_the_page_signed_out_and_later_signs_a_known_user_in_without_a_prompt), async () =>
        {
            // Nobody is signed in at the provider: back to the page, with the flag and no session, never an error page.
            var silent = new Uri(demo.GatewayUrl, "bff/login?prompt=none&returnUrl=%2F%3Fview%3Dhome").AbsoluteUri;
            await page.GotoAsync(silent);
            await page.Locator("#sign-in").WaitForAsync();
            Assert.Contains(new Uri(demo.GatewayUrl, "?view=home&bff_login=none").AbsoluteUri, gatewayPages);
            Assert.Empty(providerPages);
            // spa-sample reads the flag and takes it out of the address bar.
            await page.WaitForURLAsync(new Uri(demo.GatewayUrl, "?view=home").AbsoluteUri);
            Assert.DoesNotContain(await context.CookiesAsync([demo.GatewayUrl.AbsoluteUri]), c => c.Name == SessionCookie);

            // Once the provider knows the user, a gateway session lost (cookie gone) comes back with no login page.
            await SignInAsync(page, "alice", "alice");
            await context.ClearCookiesAsync(new() { Name = SessionCookie });
            providerPages.Clear();
            await page.GotoAsync(silent);
            await page.Locator("#user-name").WaitForAsync();
            Assert.Equal("Alice Smith", await page.Locator("#user-name").TextContentAsync());
            Assert.Equal(new Uri(demo.GatewayUrl, "?view=home").AbsoluteUri, page.Url);
            Assert.Empty(providerPages);
        });
    }

    [Fact]
    public async Task Spa_sample_signs_a_returning_user_in_on_load_and_does_not_sign_back_in_after_sign_out()
    {
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        await RunTracedAsync(context, nameof(Spa_sample_signs_a_returning_user_in_on_load_and_does_not_sign_back_in_after_sign_out), async () =>
        {
            await SignInAsync(page, "alice", "alice");

            // A new tab after the gateway session is gone (browser restarted, session expired): signed in on load.
            await context.ClearCookiesAsync(new() { Name = SessionCookie });
            var returning = await context.NewPageAsync();
            await returning.GotoAsync(new Uri(demo.GatewayUrl, "?view=orders").AbsoluteUri);
            await returning.Locator("#user-name").WaitForAsync();
            Assert.Equal("Alice Smith", await returning.Locator("#user-name").TextContentAsync());
            Assert.Equal(new Uri(demo.GatewayUrl, "?view=orders").AbsoluteUri, returning.Url);

            // Signing out in that tab ends the provider session too, and the page stays signed out.
            await returning.Locator("#sign-out").ClickAsync();
            await returning.Locator("#sign-in").WaitForAsync();
            await returning.ReloadAsync();
            await returning.Locator("#sign-in").WaitForAsync();
            Assert.DoesNotContain(await context.CookiesAsync([demo.GatewayUrl.AbsoluteUri]), c => c.Name == SessionCookie);
        });
    }

    [Fact]
    public async Task Signing_out_in_one_tab_switches_every_open_tab_to_signed_out_together()
    {
        await using var context = await NewContextAsync();
        var first = await context.NewPageAsync();
        await RunTracedAsync(context, nameof(Signing_out_in_one_tab_switches_every_open_tab_to_signed_out_together), async () =>
        {
            await SignInAsync(first, "alice", "alice");
            var second = await context.NewPageAsync();
            // The second tab listens to its session before the first signs out. The first tab reads the stream for both
            // (one per browser) and opens it again when the second joins (its headers arrive), so that it hears `ready` too.
            var listening = first.WaitForResponseAsync(r => r.Url.EndsWith("/bff/events", StringComparison.Ordinal) && r.Status == 200);
            await second.GotoAsync(demo.GatewayUrl.AbsoluteUri);
            await second.Locator("#user-name").WaitForAsync();
            await listening;

            await first.Locator("#sign-out").ClickAsync();
            await first.Locator("#sign-in").WaitForAsync();

            // No click, no reload, no poll in the second tab: the stream said "ended" (logout), the first tab passed it on.
            await second.Locator("#signed-out-reason").WaitForAsync();
            Assert.Contains("You signed out", await second.Locator("#signed-out-reason").TextContentAsync() ?? "", StringComparison.Ordinal);
            Assert.Equal(401, await second.EvaluateAsync<int>("async () => (await fetch('/bff/user?slide=false', { headers: { 'X-CSRF': '1' } })).status"));
        });
    }

    [Fact]
    public async Task Eight_tabs_share_one_event_stream_so_the_eighth_still_calls_the_api_and_all_sign_out_together()
    {
        await using var context = await NewContextAsync();
        var streams = new EventStreamWatch(context);
        var first = await context.NewPageAsync();
        await RunTracedAsync(context, nameof(Eight_tabs_share_one_event_stream_so_the_eighth_still_calls_the_api_and_all_sign_out_together), async () =>
        {
            // The demo is HTTP/1.1: Chromium opens at most six connections to the gateway, and an open stream holds one.
            // With a stream per tab, the seventh tab could not even load.
            await SignInAsync(first, "alice", "alice");
            var tabs = new List<IPage> { first };
            while (tabs.Count < 8)
            {
                tabs.Add(await OpenSignedInTabAsync(context));
            }

            var eighth = tabs[7];
            await eighth.Locator("#call-api").ClickAsync();
            await eighth.Locator("#token-verdict").WaitForAsync();
            Assert.Equal(AliceSubject, await eighth.Locator("#api-sub").TextContentAsync());

            // One tab reads the stream for all eight; the others never asked for one.
            var leader = Assert.Single(streams.PagesThatAsked());
            Assert.Same(first, leader);
            await streams.WaitUntilAsync(() => streams.Open().Count == 1);
            Assert.Same(leader, Assert.Single(streams.Open()));

            // The leading tab goes away: another one takes over the stream, and only one does.
            await leader.CloseAsync();
            tabs.Remove(leader);
            await streams.WaitUntilAsync(() => streams.Open().Count == 1);
            var next = Assert.Single(streams.Open());
            Assert.Contains(next, tabs);
            Assert.Equal([leader, next], streams.PagesThatAsked());

            // Eight tabs again; the new one follows too (the leading tab opens the stream again, so it hears `ready`).
            var answered = streams.Answered;
            tabs.Add(await OpenSignedInTabAsync(context));
            await streams.WaitUntilAsync(() => streams.Answered > answered && streams.Open().Count == 1);
            Assert.Equal([leader, next], streams.PagesThatAsked());
            Assert.Same(next, Assert.Single(streams.Open()));

            // Signing out in a tab that does not read the stream switches all eight to signed out.
            var signingOut = tabs.First(tab => tab != next);
            await signingOut.Locator("#sign-out").ClickAsync();
            await signingOut.Locator("#sign-in").WaitForAsync();
            foreach (var tab in tabs.Where(tab => tab != signingOut))
            {
                await tab.Locator("#signed-out-reason").WaitForAsync();
                Assert.Contains("You signed out", await tab.Locator("#signed-out-reason").TextContentAsync() ?? "", StringComparison.Ordinal);
                Assert.True(await tab.Locator("#sign-in").IsVisibleAsync());
            }

            Assert.Equal(401, await next.EvaluateAsync<int>("async () => (await fetch('/bff/user?slide=false', { headers: { 'X-CSRF': '1' } })).status"));

            // Signed in again in one tab: it reads the new session's stream itself; the tabs told `ended` stay signed out.
            var again = tabs[^1];
            await SignInAsync(again, "alice", "alice");
            await streams.WaitUntilAsync(() => streams.Open().Count == 1);
            Assert.Same(again, Assert.Single(streams.Open()));
            foreach (var tab in tabs.Where(tab => tab != again && tab != signingOut))
            {
                Assert.True(await tab.Locator("#signed-out-reason").IsVisibleAsync());
            }
        });
    }

    private async Task<IPage> OpenSignedInTabAsync(IBrowserContext context)
    {
        var tab = await context.NewPageAsync();
        await tab.GotoAsync(demo.GatewayUrl.AbsoluteUri);
        await tab.Locator("#user-name").WaitForAsync();
        return tab;
    }

    private async Task<IBrowserContext> NewContextAsync()
    {
        var context = await demo.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1100, Height = 900 } });
        context.SetDefaultTimeout(20_000);
        return context;
    }

    /// <summary>Signs in through the provider's real login page (and its consent page, the first time for this user).</summary>
    private async Task SignInAsync(IPage page, string userName, string password)
    {
        // Opened as a declined silent sign-in leaves it: otherwise spa-sample first tries a silent sign-in (tested on its
        // own), and the responses of the page it navigates away from could not be read by the tests' recorder.
        await page.GotoAsync(new Uri(demo.GatewayUrl, "?bff_login=none").AbsoluteUri);
        await page.Locator("#sign-in").ClickAsync();
        await page.WaitForURLAsync(url => url.StartsWith(new Uri(demo.ProviderUrl, "account/login").AbsoluteUri, StringComparison.Ordinal));
        await page.Locator("#username").FillAsync(userName);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("#login-submit").ClickAsync();

        var next = page.Locator("#consent-accept, #user-name").First;
        await next.WaitForAsync();
        if (await next.GetAttributeAsync("id") == "consent-accept")
        {
            await next.ClickAsync();
        }

        await page.Locator("#user-name").WaitForAsync();
        Assert.StartsWith(demo.GatewayUrl.AbsoluteUri, page.Url, StringComparison.Ordinal);
    }

    /// <summary>Records a Playwright trace (artifacts/browser/&lt;test&gt;.zip) and prints the apps' logs when the test fails.</summary>
    private async Task RunTracedAsync(IBrowserContext context, string name, Func<Task> test)
    {
        await context.Tracing.StartAsync(new() { Screenshots = true, Snapshots = true });
        try
        {
            await test();
        }
        catch
        {
            output.WriteLine(demo.Logs);
            throw;
        }
        finally
        {
            await context.Tracing.StopAsync(new() { Path = Path.Combine(demo.ArtifactsDirectory, name + ".zip") });
        }
    }
}
