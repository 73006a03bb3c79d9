using Bff.Provider;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using WireMock;
using WireMock.Types;
using WireMock.Util;

namespace Bff.Tests.Provider;

/// <summary>
/// How the gateway copes with providers other than the demo one: each row is something a real provider was seen to
/// do, and asserts what the user notices (the API call's status and error code, whether the session survives) and
/// how often the provider is asked.
/// </summary>
public sealed class ProviderBehaviourTests : IAsyncLifetime
{
    private static readonly TimeSpan ThirtySeconds = TimeSpan.FromSeconds(30);

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    // ---- Back-channel logout tokens, by their typ header ----

    [Theory]
    [InlineData(null)]
    [InlineData("JWT")]
    [InlineData("jwt")]
    [InlineData("application/jwt")]
    [InlineData("logout+jwt")]
    [InlineData("Logout+JWT")]
    [InlineData("application/logout+jwt")]
    public async Task A_logout_token_typed_as_a_plain_or_logout_jwt_ends_the_session(string? typ)
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: s => s.ProviderSessionId = "sid-typ");
        using var provider = _host.Gateway.CreateClient();

        var response = await provider.PostAsync("/bff/backchannel", LogoutForm(_host.Idp.CreateLogoutTokenWithType("alice", "sid-typ", typ)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Theory]
    [InlineData("at+jwt")]
    [InlineData("application/at+jwt")]
    [InlineData("id_token+jwt")]
    [InlineData("secevent+jwt")]
    public async Task A_logout_token_typed_as_another_kind_of_jwt_is_refused_and_the_session_kept(string typ)
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, shape: s => s.ProviderSessionId = "sid-typ");
        using var provider = _host.Gateway.CreateClient();

        var response = await provider.PostAsync("/bff/backchannel", LogoutForm(_host.Idp.CreateLogoutTokenWithType("alice", "sid-typ", typ)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"invalid_logout_token\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    // ---- Refresh refused or failed ----

    public static TheoryData<string, int, string, bool> RefreshFailures => new()
    {
        // answer, status of the API call, error code, session survives
        { "400 without a body", 401, "session_expired", false },
        { "400 with a non-JSON body", 401, "session_expired", false },
        { "400 invalid_grant", 401, "session_expired", false },
        { "401 without a body", 401, "session_expired", false },
        { "400 with an unknown error", 401, "session_expired", false },
        { "401 invalid_client", 503, "token_refresh_unavailable", true },
        { "400 unauthorized_client", 503, "token_refresh_unavailable", true },
        { "429 with Retry-After", 503, "token_refresh_unavailable", true },
        { "500", 503, "token_refresh_unavailable", true },
        { "503", 503, "token_refresh_unavailable", true },
    };

    [Theory]
    [MemberData(nameof(RefreshFailures))]
    public async Task A_refused_or_failed_refresh_is_answered_once_and_never_resent_in_a_loop(
        string answer, int status, string error, bool sessionSurvives)
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        _host.Idp.RefreshBehavior = _ => Answer(answer);

        var first = await browser.GetWithCsrfAsync("/api/orders");
        var requestsAfterFirst = _host.Idp.RefreshRequests;
        var second = await browser.GetWithCsrfAsync("/api/orders");
        var third = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(first, (HttpStatusCode)status, error);
        Assert.Empty(_host.Api.Received);
        Assert.Equal(sessionSurvives, _host.StoredSession(session.Key) is not null);
        Assert.Equal(1, requestsAfterFirst); // never resent, not even a 503: the provider may have rotated the refresh token
        Assert.Equal(requestsAfterFirst, _host.Idp.RefreshRequests);
        if (sessionSurvives)
        {
            Assert.True(first.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is missing");
            Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
            await ForwardingTests.AssertProblemAsync(second, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
            await ForwardingTests.AssertProblemAsync(third, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        }
        else
        {
            Assert.Contains(SetCookie.From(first), c => c.Name == ProxyTestHost.CookieName && c.IsDeletion);
            Assert.Equal(HttpStatusCode.Unauthorized, second.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, third.StatusCode);
        }
    }

    [Fact]
    public async Task An_error_code_that_is_not_a_short_word_is_not_written_to_the_log()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        var odd = "invalid_request\nFAKE LOG LINE " + new string('x', 200);
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = odd });

        await ForwardingTests.AssertProblemAsync(await browser.GetWithCsrfAsync("/api/orders"), HttpStatusCode.Unauthorized, "session_expired");

        Assert.DoesNotContain("FAKE LOG LINE", _host.Gateway.Logs.AllText, StringComparison.Ordinal);
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 3026 && l.Message.Contains("(unreadable error code)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_429_is_retried_no_sooner_than_the_providers_retry_after()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        _host.Idp.RefreshBehavior = _ => Answer("429 with Retry-After");

        var limited = await browser.GetWithCsrfAsync("/api/orders");

        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(30), $"Retry-After was {limited.Headers.RetryAfter}");
        _host.Time.Advance(TimeSpan.FromSeconds(29));
        await ForwardingTests.AssertProblemAsync(await browser.GetWithCsrfAsync("/api/orders"), HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(1, _host.Idp.RefreshRequests);

        _host.Idp.RefreshBehavior = null;
        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal("Bearer " + _host.StoredSession(session.Key)!.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Equal(2, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_rejected_client_backs_off_for_every_session_logs_once_and_makes_the_gateway_unready_until_a_refresh_succeeds()
    {
        var (alice, aliceSession) = await _host.SignedInBrowserAsync("alice", ThirtySeconds);
        var (bob, bobSession) = await _host.SignedInBrowserAsync("bob", ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        _host.Idp.RefreshBehavior = _ => Answer("401 invalid_client");
        Assert.Equal(HealthStatus.Healthy, (await ClientCheckAsync()).Status);

        var first = await alice.GetWithCsrfAsync("/api/orders");
        var other = await bob.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        await ForwardingTests.AssertProblemAsync(other, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(1, _host.Idp.RefreshRequests); // bob's session did not send its refresh token during the back-off
        var check = await ClientCheckAsync();
        Assert.Equal(HealthStatus.Unhealthy, check.Status);
        Assert.Contains("refused the client credentials", check.Description, StringComparison.Ordinal);
        Assert.Contains("invalid_client", check.Description, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _host.CreateBrowser().GetAsync("/health/ready")).StatusCode);

        // The back-off grows while the provider keeps refusing: 5 s, then 10 s.
        _host.Time.Advance(first.Headers.RetryAfter!.Delta!.Value);
        var again = await alice.GetWithCsrfAsync("/api/orders");
        await ForwardingTests.AssertProblemAsync(again, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(2, _host.Idp.RefreshRequests);
        Assert.True(again.Headers.RetryAfter!.Delta > first.Headers.RetryAfter!.Delta, "the back-off did not grow");
        Assert.Equal(1, _host.Gateway.Logs.Lines.Count(l => l.Category.StartsWith("Bff.", StringComparison.Ordinal) && l.Level == LogLevel.Error && l.Message.Contains("invalid_client", StringComparison.Ordinal)));

        // The operator fixes the registration; the next refresh after the back-off succeeds and readiness returns.
        _host.Idp.RefreshBehavior = null;
        _host.Time.Advance(again.Headers.RetryAfter!.Delta!.Value);
        await ProxyTestHost.EchoAsync(await bob.GetWithCsrfAsync("/api/orders"));
        await ProxyTestHost.EchoAsync(await alice.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(HealthStatus.Healthy, (await ClientCheckAsync()).Status);
        Assert.NotNull(_host.StoredSession(aliceSession.Key));
        Assert.NotNull(_host.StoredSession(bobSession.Key));
        Assert.Equal(4, _host.Idp.RefreshRequests);
    }

    [Fact]
    public async Task A_client_credentials_call_refused_with_invalid_client_backs_off_and_makes_the_gateway_unready()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        _host.Idp.ClientCredentialsBehavior = _ => Answer("401 invalid_client");

        var first = await browser.GetWithCsrfAsync("/client-api/reports");
        var second = await browser.GetWithCsrfAsync("/client-api/reports");

        await ForwardingTests.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        await ForwardingTests.AssertProblemAsync(second, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Single(_host.TokenRequests("client_credentials"));
        Assert.Equal(HealthStatus.Unhealthy, (await ClientCheckAsync()).Status);

        _host.Idp.ClientCredentialsBehavior = null;
        _host.Time.Advance(first.Headers.RetryAfter!.Delta!.Value);
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/reports"));
        Assert.Equal(HealthStatus.Healthy, (await ClientCheckAsync()).Status);
    }

    [Fact]
    public async Task A_client_credentials_call_answered_with_a_bare_400_is_not_resent_on_every_call()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        _host.Idp.ClientCredentialsBehavior = _ => Answer("400 without a body");

        var first = await browser.GetWithCsrfAsync("/client-api/reports");
        var second = await browser.GetWithCsrfAsync("/client-api/reports");

        await ForwardingTests.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        await ForwardingTests.AssertProblemAsync(second, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Single(_host.TokenRequests("client_credentials"));
    }

    // ---- Transient failures: what is retried, and what never is ----

    [Fact]
    public async Task A_refresh_answered_503_is_sent_once_even_though_a_second_attempt_would_succeed()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        _host.Idp.FailNext("/token", 1);

        var response = await browser.GetWithCsrfAsync("/api/orders");

        // The provider may have rotated the refresh token before failing: sending it again could look like replay.
        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Single(_host.TokenRequests("refresh_token"));
        Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
    }

    [Fact]
    public async Task A_refresh_the_provider_does_not_answer_times_out_on_the_gateways_clock_and_is_not_resent()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        _host.Time.Advance(ThirtySeconds + TimeSpan.FromSeconds(1));
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var answer = new ManualResetEventSlim();
        _host.Idp.RefreshBehavior = _ =>
        {
            received.TrySetResult();
            answer.Wait(TimeSpan.FromSeconds(30)); // a provider that hangs until the test lets it go
            return Answer("503");
        };

        try
        {
            var call = browser.GetWithCsrfAsync("/api/orders");
            await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
            _host.Time.Advance(Bff.Provider.ProviderHttp.Timeout);

            // Well before HttpClient's own real-time timeout would have fired: the timeout follows the TimeProvider.
            var response = await call.WaitAsync(TimeSpan.FromSeconds(8));
            await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
            Assert.Equal(1, _host.Idp.RefreshRequests);
            Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
        }
        finally
        {
            answer.Set();
        }
    }

    [Fact]
    public async Task A_client_credentials_call_answered_503_is_retried_after_a_short_jittered_delay()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        _host.Idp.FailNext("/token", 1);

        var call = browser.GetWithCsrfAsync("/client-api/reports");
        var delay = await _host.Time.NextShortTimerAsync();
        _host.Time.Advance(delay);

        var echo = await ProxyTestHost.EchoAsync(await call);
        Assert.StartsWith("Bearer ", echo.Header("Authorization"), StringComparison.Ordinal);
        Assert.Equal(2, _host.TokenRequests("client_credentials").Count);
        Assert.InRange(delay, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_client_credentials_call_that_keeps_failing_is_tried_three_times_then_pauses()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();
        _host.Idp.ClientCredentialsBehavior = _ => Answer("503");

        var first = await _host.Time.RunThroughShortTimersAsync(() => browser.GetWithCsrfAsync("/client-api/reports"));
        var second = await browser.GetWithCsrfAsync("/client-api/reports");

        await ForwardingTests.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        await ForwardingTests.AssertProblemAsync(second, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(3, _host.TokenRequests("client_credentials").Count);
    }

    [Fact]
    public async Task Discovery_and_signing_keys_answered_503_are_retried_and_the_sign_in_proceeds()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        // Two in a row: IdentityModel's document retriever resends a 503 once by itself, so one would not tell.
        idp.FailNext("/.well-known/openid-configuration", 2);
        idp.FailNext("/jwks", 2);

        var callback = await browser.SignInAsync(idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(3, idp.RequestsTo("/.well-known/openid-configuration").Count());
        Assert.Equal(3, idp.RequestsTo("/jwks").Count());
    }

    [Fact]
    public async Task A_code_redemption_answered_503_is_sent_once_even_though_a_second_attempt_would_succeed()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        idp.FailNext("/token", 1);

        var callback = await browser.SignInAsync(idp);

        Assert.NotEqual(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Single(idp.RequestsTo("/token"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_revocation_answered_503_is_retried_so_the_refresh_token_is_revoked()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        await browser.SignInAsync(idp);
        idp.FailNext("/revoke", 1);

        var response = await browser.GetAsync(await Endpoints.LogoutEndpointTests.LogoutUrlAsync(browser));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(2, idp.RequestsTo("/revoke").Count());
        Assert.Contains(idp.RevokedTokens, t => t.StartsWith("rt.alice.", StringComparison.Ordinal));
    }

    // ---- Token responses of unusual shape ----

    public static TheoryData<string> SuccessfulShapes => new()
    {
        "lower-case token_type",
        "expires_in as a string",
        "no expires_in",
        "no new refresh token",
        "no id_token",
    };

    [Theory]
    [MemberData(nameof(SuccessfulShapes))]
    public async Task A_refresh_response_of_unusual_shape_renews_the_session(string shape)
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: ThirtySeconds);
        session = session with { Tokens = session.Tokens with { IdToken = _host.Idp.CreateIdToken(new IdTokenShape { Subject = "alice" }) } };
        await _host.Store.ReplaceAsync(session, CancellationToken.None);
        var body = new JsonObject
        {
            ["access_token"] = "at.alice.renewed",
            ["token_type"] = "Bearer",
            ["expires_in"] = 900,
            ["refresh_token"] = "rt.alice.renewed",
        };
        var expectedLifetime = TimeSpan.FromSeconds(900);
        var expectedRefreshToken = "rt.alice.renewed";
        switch (shape)
        {
            case "lower-case token_type":
                body["token_type"] = "bearer";
                break;
            case "expires_in as a string":
                body["expires_in"] = "600";
                expectedLifetime = TimeSpan.FromSeconds(600);
                break;
            case "no expires_in":
                body.Remove("expires_in");
                expectedLifetime = TimeSpan.FromMinutes(5); // the documented assumption
                break;
            case "no new refresh token":
                body.Remove("refresh_token");
                expectedRefreshToken = session.Tokens.RefreshToken!;
                break;
            case "no id_token":
                break;
        }

        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(200, body);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("Bearer at.alice.renewed", echo.Header("Authorization"));
        Assert.Equal(_host.Time.GetUtcNow() + expectedLifetime, stored.Tokens.AccessTokenExpiresAt);
        Assert.Equal(expectedRefreshToken, stored.Tokens.RefreshToken);
        Assert.Equal(session.Tokens.IdToken, stored.Tokens.IdToken);
        Assert.Equal(1, _host.Idp.RefreshRequests);

        // The renewed token is used as it is until its own refresh window.
        _host.Time.Advance(TimeSpan.FromMinutes(2));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal(1, _host.Idp.RefreshRequests);
    }

    // ---- Discovery and ID tokens ----

    [Fact]
    public async Task Without_revocation_and_end_session_endpoints_logout_ends_the_local_session_and_returns_to_the_spa()
    {
        using var idp = new TestIdentityProvider();
        idp.OmittedDiscoveryFields.Add("revocation_endpoint");
        idp.OmittedDiscoveryFields.Add("end_session_endpoint");
        using var gateway = new GatewayFactory(idp);
        using var browser = gateway.CreateBrowser();
        await browser.SignInAsync(idp);
        var oldCookie = browser.CookieValue(ProxyTestHost.CookieName)!;
        using var user = JsonDocument.Parse(await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync());

        var response = await browser.GetAsync(user.RootElement.GetProperty("logoutUrl").GetString() + "&returnUrl=%2Fgoodbye");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/goodbye", response.Headers.Location!.OriginalString);
        Assert.Contains(SetCookie.From(response), c => c.Name == ProxyTestHost.CookieName && c.IsDeletion);
        browser.PutCookie(ProxyTestHost.CookieName, oldCookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Empty(idp.RequestsTo("/revoke"));
    }

    [Fact]
    public async Task An_id_token_with_auth_time_zero_signs_in()
    {
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp, shape: s => s.Claims["auth_time"] = 0L);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    // ---- Resource indicators ----

    [Fact]
    public async Task A_provider_that_grants_a_resource_at_refresh_only_when_the_authorization_request_named_it_serves_the_route()
    {
        // RFC 8707 lets a provider grant at refresh only the resources named in the authorization request; the sign-in
        // names the Bff.Resource of every route that carries the user's token.
        _host.Idp.ResourcesOnlyFromAuthorizationRequest = true;
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);

        var orders = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/orders-api/list"));
        var plain = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("https://orders.example.com", _host.Idp.ResourceOf(BearerToken(orders)));
        Assert.Null(_host.Idp.ResourceOf(BearerToken(plain)));
        Assert.Equal(1, _host.Idp.RefreshRequests);
        // The code exchange names no resource, so the session's own token is the one the sign-in's scopes give.
        Assert.DoesNotContain("resource", Assert.Single(_host.TokenRequests("authorization_code")).Keys);
    }

    [Fact]
    public async Task A_provider_that_refuses_a_resource_at_refresh_fails_only_that_route_and_is_not_asked_in_a_loop()
    {
        // A provider that will not issue the resource to this client whatever the sign-in asked (not registered for it).
        var (browser, session) = await _host.SignedInBrowserAsync();
        _host.Idp.RefreshBehavior = request => TestIdentityProvider.Form(request).ContainsKey("resource")
            ? TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_target" })
            : null;

        var first = await browser.GetWithCsrfAsync("/orders-api/list");
        var second = await browser.GetWithCsrfAsync("/orders-api/list");

        await ForwardingTests.AssertProblemAsync(first, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        await ForwardingTests.AssertProblemAsync(second, HttpStatusCode.ServiceUnavailable, "token_refresh_unavailable");
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(session.Tokens, _host.StoredSession(session.Key)!.Tokens);
        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));
        Assert.Equal("Bearer " + session.Tokens.AccessToken, echo.Header("Authorization"));
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("invalid_target", StringComparison.Ordinal));
    }

    private static string BearerToken(ReceivedRequest echo) =>
        echo.Header("Authorization") is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : string.Empty;

    private async Task<HealthReportEntry> ClientCheckAsync()
    {
        var report = await _host.Gateway.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries["provider_client"];
    }

    private static FormUrlEncodedContent LogoutForm(string token) => new([new("logout_token", token)]);

    private static ResponseMessage Answer(string answer) => answer switch
    {
        "400 without a body" => new ResponseMessage { StatusCode = 400 },
        "400 with a non-JSON body" => Text(400, "text/html", "<html><body>Bad Request</body></html>"),
        "400 invalid_grant" => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" }),
        "401 without a body" => new ResponseMessage { StatusCode = 401 },
        "400 with an unknown error" => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "token_revoked" }),
        "401 invalid_client" => TestIdentityProvider.Json(401, new JsonObject { ["error"] = "invalid_client" }),
        "400 unauthorized_client" => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "unauthorized_client" }),
        "429 with Retry-After" => WithHeader(TestIdentityProvider.Json(429, new JsonObject { ["error"] = "slow_down" }), "Retry-After", "30"),
        "500" => new ResponseMessage { StatusCode = 500 },
        "503" => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" }),
        _ => throw new ArgumentOutOfRangeException(nameof(answer), answer, null),
    };

    private static ResponseMessage Text(int status, string contentType, string body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new WireMockList<string>(contentType) },
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String },
    };

    private static ResponseMessage WithHeader(ResponseMessage response, string name, string value)
    {
        response.Headers![name] = new WireMockList<string>(value);
        return response;
    }
}
