using System.Net;
using System.Text.Json.Nodes;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Tokens;

public sealed class RefreshTests : IAsyncLifetime
{
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    private ProxyTestHost _host = null!;
    private ObservedSessionStore _store = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(services: services =>
            services.AddSingleton<ISessionStore>(sp => _store = new ObservedSessionStore(sp.GetRequiredService<InMemorySessionStore>())));
        _host.Idp.AccessTokenLifetime = FiveMinutes;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_token_outside_the_refresh_window_is_forwarded_as_it_is()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: FiveMinutes);
        _host.Time.Advance(TimeSpan.FromMinutes(3));

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_token_inside_the_refresh_window_is_refreshed_before_it_is_forwarded()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, subject: "alice");
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        var signedIn = _host.StoredSession(key)!;
        _host.Time.Advance(FiveMinutes - TimeSpan.FromSeconds(30));

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var refreshed = _host.StoredSession(key)!;
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(signedIn.Tokens.RefreshToken, Assert.Single(_host.TokenRequests("refresh_token"))["refresh_token"]);
        Assert.NotEqual(signedIn.Tokens.AccessToken, refreshed.Tokens.AccessToken);
        Assert.NotEqual(signedIn.Tokens.RefreshToken, refreshed.Tokens.RefreshToken);
        Assert.Equal(signedIn.Tokens.Version + 1, refreshed.Tokens.Version);
        Assert.Equal(_host.Time.GetUtcNow() + FiveMinutes, refreshed.Tokens.AccessTokenExpiresAt);
        Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, echo.Header("Authorization"));

        var again = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, again.Header("Authorization"));
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task Fifty_concurrent_calls_on_an_expiring_token_cause_exactly_one_refresh()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        using var client = _host.CreateApiClient(session.Key);
        // The refresh is held until all fifty requests have looked up their session: they all overlap it.
        _store.SignalAfterFinds(_store.Finds + 51);
        _host.Idp.RefreshBehavior = _ =>
        {
            _store.FindsReached.Task.Wait(TimeSpan.FromSeconds(30));
            return null;
        };

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.GetAsync($"/api/orders/{i}")));

        Assert.True(_store.FindsReached.Task.IsCompleted, "the requests did not overlap the refresh");
        Assert.Equal(1, _host.Idp.RefreshRequests);
        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal(1, stored.Tokens.Version);
        foreach (var response in responses)
        {
            var echo = await ProxyTestHost.EchoAsync(response);
            Assert.Equal("Bearer " + stored.Tokens.AccessToken, echo.Header("Authorization"));
        }
    }

    [Fact]
    public async Task Two_users_refreshing_at_once_each_get_their_own_token()
    {
        var (_, alice) = await _host.SignedInBrowserAsync("alice", TimeSpan.FromSeconds(30));
        var (_, bob) = await _host.SignedInBrowserAsync("bob", TimeSpan.FromSeconds(30));
        using var aliceClient = _host.CreateApiClient(alice.Key);
        using var bobClient = _host.CreateApiClient(bob.Key);
        _store.SignalAfterFinds(_store.Finds + 42);
        _host.Idp.RefreshBehavior = _ =>
        {
            _store.FindsReached.Task.Wait(TimeSpan.FromSeconds(30));
            return null;
        };

        var calls = Enumerable.Range(0, 40).Select(async i =>
        {
            var (client, subject) = i % 2 == 0 ? (aliceClient, "alice") : (bobClient, "bob");
            return (Subject: subject, Echo: await ProxyTestHost.EchoAsync(await client.GetAsync($"/api/orders/{i}")));
        });
        var results = await Task.WhenAll(calls);

        Assert.Equal(2, _host.Idp.RefreshRequests);
        var tokens = new Dictionary<string, string>
        {
            ["alice"] = _host.StoredSession(alice.Key)!.Tokens.AccessToken,
            ["bob"] = _host.StoredSession(bob.Key)!.Tokens.AccessToken,
        };
        Assert.StartsWith("at.alice.", tokens["alice"], StringComparison.Ordinal);
        Assert.StartsWith("at.bob.", tokens["bob"], StringComparison.Ordinal);
        foreach (var (subject, echo) in results)
        {
            Assert.Equal("Bearer " + tokens[subject], echo.Header("Authorization"));
        }
    }

    [Fact]
    public async Task A_rejected_refresh_token_ends_the_session_with_401_and_no_retry()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Contains(SetCookie.From(response), c => c.Name == ProxyTestHost.CookieName && c.IsDeletion);
        Assert.Null(_host.StoredSession(session.Key));
        Assert.Empty(_host.Api.Received);
        Assert.Equal(1, _host.Idp.RefreshRequests);

        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);

        // The same (stale) cookie again: still 401, and the provider is not asked again.
        browser.PutCookie(ProxyTestHost.CookieName, session.Key);
        var again = await browser.GetWithCsrfAsync("/api/orders");
        await ForwardingTests.AssertProblemAsync(again, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_provider_outage_answers_503_with_retry_after_and_keeps_the_session()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Time.Advance(TimeSpan.FromSeconds(31));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is missing");
        Assert.Equal(1, _host.Idp.RefreshRequests); // never resent: the provider may have rotated the refresh token
        Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
        Assert.Empty(_host.Api.Received);

        // A burst during the cool-down does not reach the provider.
        var duringCooldown = await browser.GetWithCsrfAsync("/api/orders");
        await ForwardingTests.AssertProblemAsync(duringCooldown, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(1, _host.Idp.RefreshRequests);

        // The provider recovers; after Retry-After the same session refreshes and the call goes through.
        _host.Idp.RefreshBehavior = null;
        _host.Time.Advance(response.Headers.RetryAfter!.Delta!.Value);
        var recovered = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal(2, _host.Idp.RefreshRequests);
        Assert.Equal(session.Tokens.RefreshToken, _host.TokenRequests("refresh_token")[^1]["refresh_token"]);
        Assert.Equal("Bearer " + stored.Tokens.AccessToken, recovered.Header("Authorization"));
        Assert.NotEqual(session.Tokens.AccessToken, stored.Tokens.AccessToken);
    }

    [Fact]
    public async Task A_failed_early_refresh_forwards_the_still_valid_token()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" });

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
    }

    [Fact]
    public async Task A_refresh_response_without_a_refresh_token_keeps_the_old_one()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(200, new JsonObject
        {
            ["access_token"] = "at.alice.no-rotation",
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
        });

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("Bearer at.alice.no-rotation", echo.Header("Authorization"));
        Assert.Equal(session.Tokens.RefreshToken, stored.Tokens.RefreshToken);

        _host.Idp.RefreshBehavior = null;
        _host.Time.Advance(TimeSpan.FromMinutes(4.5));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(session.Tokens.RefreshToken, _host.TokenRequests("refresh_token")[^1]["refresh_token"]);
    }

    [Fact]
    public async Task A_refreshed_id_token_for_another_subject_ends_the_session()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(200, new JsonObject
        {
            ["access_token"] = "at.mallory.x",
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["id_token"] = _host.Idp.CreateIdToken(new IdTokenShape { Subject = "mallory" }),
        });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Null(_host.StoredSession(session.Key));
        Assert.Empty(_host.Api.Received);
    }

    [Fact]
    public async Task A_refreshed_id_token_for_the_same_user_is_kept()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        var idToken = _host.Idp.CreateIdToken(new IdTokenShape { Subject = "alice" });
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(200, new JsonObject
        {
            ["access_token"] = "at.alice.renewed",
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["id_token"] = idToken,
        });

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal(idToken, _host.StoredSession(session.Key)!.Tokens.IdToken);
    }

    [Fact]
    public async Task When_the_store_cannot_save_refreshed_tokens_they_are_kept_and_saved_once_it_answers()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        _store.FailTokenWrites = true;
        _store.FailRemoves = true;

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "session_store_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(_host.Api.Received);
        Assert.Equal(1, _host.Idp.RefreshRequests);

        // Meanwhile the session's calls wait with a 503; the spent refresh token is not presented again.
        var meanwhile = await browser.GetWithCsrfAsync("/api/orders");
        await ForwardingTests.AssertProblemAsync(meanwhile, HttpStatusCode.ServiceUnavailable, "session_store_unavailable");
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(0, _host.StoredSession(session.Key)!.Tokens.Version);

        // The store answers again: the kept tokens are saved at the next retry (on the gateway's clock) and used.
        _store.FailTokenWrites = false;
        _store.FailRemoves = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_host.StoredSession(session.Key)!.Tokens.Version == 0 && DateTime.UtcNow < deadline)
        {
            _host.Time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(25);
        }

        var saved = _host.StoredSession(session.Key)!;
        Assert.Equal(1, saved.Tokens.Version);
        Assert.NotEqual(session.Tokens.RefreshToken, saved.Tokens.RefreshToken);
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal("Bearer " + saved.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_session_without_refresh_token_uses_its_token_until_it_expires_then_ends()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30), withRefreshToken: false);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));

        _host.Time.Advance(TimeSpan.FromSeconds(31));
        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Equal(0, _host.Idp.RefreshRequests);
        Assert.Single(_host.Api.Received);
    }

    [Fact]
    public async Task A_sliding_expiry_write_that_read_before_a_refresh_does_not_restore_the_old_tokens()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        var refreshed = session with { Tokens = session.Tokens with { AccessToken = "at.alice.new", RefreshToken = "rt.alice.new", Version = 1 } };
        await _host.Store.ReplaceAsync(refreshed, CancellationToken.None);

        var touched = session with { IdleExpiresAt = session.IdleExpiresAt.AddMinutes(5) };
        await _host.Store.ReplaceAsync(touched, CancellationToken.None);

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("rt.alice.new", stored.Tokens.RefreshToken);
        Assert.Equal(touched.IdleExpiresAt, stored.IdleExpiresAt);
    }

    [Fact]
    public async Task No_token_appears_in_any_log_line_or_response_during_refreshes()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });
        _host.Time.Advance(TimeSpan.FromMinutes(4.5));
        await browser.GetWithCsrfAsync("/api/orders");

        var logs = _host.Gateway.Logs.AllText;
        Assert.Contains("3010", _host.Gateway.Logs.Lines.Select(l => l.EventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.DoesNotContain("at.alice.", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("rt.alice.", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(session.Key, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(TestIdentityProvider.ClientSecret, logs, StringComparison.Ordinal);
        foreach (var response in browser.Responses.Where(r => r.Url.StartsWith("/api/", StringComparison.Ordinal) && r.Status != HttpStatusCode.OK))
        {
            Assert.DoesNotContain("at.alice.", response.Headers + response.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("rt.alice.", response.Headers + response.Body, StringComparison.Ordinal);
        }
    }
}
