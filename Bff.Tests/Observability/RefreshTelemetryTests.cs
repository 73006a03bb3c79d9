using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Bff.Tests.Tokens;
using Bff.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Observability;

/// <summary>
/// What an operator sees of token refreshes: one <c>bff.token.refresh</c> span and one count per refresh flight, with
/// how it ended, however many API calls waited for it; sessions the refresh ended; waits for another replica.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class RefreshTelemetryTests : IAsyncLifetime
{
    private static readonly TimeSpan Expiring = TimeSpan.FromSeconds(30);

    private readonly TelemetryCapture _telemetry = new();
    private readonly HeldElsewhereLock _lock;
    private ProxyTestHost _host = null!;
    private ObservedSessionStore _store = null!;

    public RefreshTelemetryTests() => _lock = new HeldElsewhereLock(() => _store);

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: TelemetryCapture.Settings(), services: services =>
        {
            _telemetry.Register(services);
            services.AddSingleton<ISessionStore>(sp => _store = new ObservedSessionStore(sp.GetRequiredService<InMemorySessionStore>()));
            services.AddSingleton<IRefreshLock>(_lock);
        });
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(5);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_burst_of_calls_on_an_expiring_token_is_one_refreshed_span_and_one_count()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: Expiring);
        using var client = _host.CreateApiClient(session.Key);
        // The provider answers only once all twenty requests (and the flight's own re-read) have read the session.
        _store.SignalAfterFinds(_store.Finds + 21);
        _host.Idp.RefreshBehavior = _ =>
        {
            _store.FindsReached.Task.Wait(TimeSpan.FromSeconds(30));
            return null;
        };

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.GetAsync($"/api/orders/{i}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, _host.Idp.RefreshRequests);
        var refresh = Assert.Single(RefreshSpans(), s => Outcome(s) == Outcomes.Refreshed);
        Assert.Equal(session.LogId, refresh.GetTagItem(Attributes.SessionId));
        Assert.Equal(TokenGrants.RefreshToken, refresh.GetTagItem(Attributes.TokenGrant));
        Assert.Equal(ActivityStatusCode.Unset, refresh.Status);
        // The provider call nests under the flight's span.
        Assert.Contains(_telemetry.Spans, s => s.Source.Name == "System.Net.Http" && s.ParentSpanId == refresh.SpanId);
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.Outcome, Outcomes.Refreshed), (Attributes.TokenGrant, TokenGrants.RefreshToken)));
        Assert.Equal(1, _telemetry.HistogramCount(Instruments.RefreshDuration, (Attributes.Outcome, Outcomes.Refreshed)));
        // Every flight is one span and one count (a request that read the session just as the flight ended may start
        // a second one, which finds the new tokens): never one per request.
        Assert.Equal(RefreshSpans().Count(), _telemetry.CounterValue(Instruments.Refreshes));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.RefreshLockWaits));
    }

    [Fact]
    public async Task A_rejected_refresh_token_is_a_rejected_flight_and_a_session_ended_by_refresh_rejection()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: Expiring);
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(400, new JsonObject { ["error"] = "invalid_grant" });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var refresh = Assert.Single(RefreshSpans());
        Assert.Equal(Outcomes.Rejected, Outcome(refresh));
        Assert.Equal(RefreshErrors.InvalidGrant, refresh.GetTagItem(Attributes.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, refresh.Status);
        Assert.Equal(session.LogId, refresh.GetTagItem(Attributes.SessionId));
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.Outcome, Outcomes.Rejected)));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsEnded, (Attributes.SessionEndReason, SessionEndReasons.RefreshRejected)));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsEnded));
    }

    [Theory]
    [InlineData("mallory", false, "id_token_mismatch")]
    [InlineData("alice", true, "id_token_invalid")]
    public async Task A_refused_refreshed_id_token_is_a_rejected_flight_and_a_session_ended_by_refresh_rejection(
        string subject, bool forged, string errorType)
    {
        var (browser, _) = await _host.SignedInBrowserAsync(tokenLifetime: Expiring);
        var idToken = _host.Idp.CreateIdToken(new IdTokenShape
        {
            Subject = subject,
            SigningKeyOverride = forged ? new RsaSecurityKey(RSA.Create(2048)) { KeyId = "key-never-published" } : null,
        });
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(200, new JsonObject
        {
            ["access_token"] = "at.alice.untrusted",
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["id_token"] = idToken,
        });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var refresh = Assert.Single(RefreshSpans());
        Assert.Equal(Outcomes.Rejected, Outcome(refresh));
        Assert.Equal(errorType, refresh.GetTagItem(Attributes.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, refresh.Status);
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.Outcome, Outcomes.Rejected)));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsEnded, (Attributes.SessionEndReason, SessionEndReasons.RefreshRejected)));
    }

    [Fact]
    public async Task A_provider_outage_is_a_failed_flight_that_keeps_the_session()
    {
        var (browser, _) = await _host.SignedInBrowserAsync(tokenLifetime: Expiring);
        _host.Time.Advance(Expiring + TimeSpan.FromSeconds(1));
        _host.Idp.RefreshBehavior = _ => TestIdentityProvider.Json(503, new JsonObject { ["error"] = "temporarily_unavailable" });

        var response = await browser.GetWithCsrfAsync("/api/orders");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var refresh = Assert.Single(RefreshSpans());
        Assert.Equal(Outcomes.ProviderUnavailable, Outcome(refresh));
        Assert.Equal(RefreshErrors.Unavailable, refresh.GetTagItem(Attributes.ErrorType));
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.Outcome, Outcomes.ProviderUnavailable)));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.SessionsEnded));
    }

    [Fact]
    public async Task A_flight_that_waits_for_another_replicas_refresh_counts_a_lock_wait_and_uses_its_tokens()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(tokenLifetime: Expiring);
        // Only an expired token waits for another replica's refresh.
        _host.Time.Advance(Expiring);
        // The other replica, holding the lock, saves its refreshed tokens while this one waits.
        _lock.HoldElsewhere(async () =>
        {
            var stored = _host.StoredSession(session.Key)!;
            var renewed = stored.Tokens with
            {
                AccessToken = "at.alice.from-another-replica",
                AccessTokenExpiresAt = _host.Time.GetUtcNow().AddMinutes(5),
                Version = stored.Tokens.Version + 1,
            };
            await _host.Store.ReplaceAsync(stored with { Tokens = renewed }, CancellationToken.None);
        });

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer at.alice.from-another-replica", echo.Header("Authorization"));
        Assert.Equal(0, _host.Idp.RefreshRequests);
        var refresh = Assert.Single(RefreshSpans());
        Assert.Equal(Outcomes.RefreshedElsewhere, Outcome(refresh));
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.RefreshLockWaits));
        Assert.Equal(1, _telemetry.HistogramCount(Instruments.RefreshLockWaitDuration));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.Outcome, Outcomes.RefreshedElsewhere)));
    }

    [Fact]
    public async Task Client_credentials_requests_are_counted_apart_by_their_grant()
    {
        using var browser = _host.CreateBrowser();

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/reports"));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/client-api/reports"));

        var request = Assert.Single(RefreshSpans());
        Assert.Equal(TokenGrants.ClientCredentials, request.GetTagItem(Attributes.TokenGrant));
        Assert.Equal(Outcomes.Refreshed, Outcome(request));
        Assert.Null(request.GetTagItem(Attributes.SessionId));
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.TokenGrant, TokenGrants.ClientCredentials), (Attributes.Outcome, Outcomes.Refreshed)));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.Refreshes, (Attributes.TokenGrant, TokenGrants.RefreshToken)));
    }

    [Fact]
    public async Task Calls_with_a_token_outside_the_refresh_window_record_no_refresh()
    {
        var (browser, _) = await _host.SignedInBrowserAsync();

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Empty(RefreshSpans());
        TelemetryCapture.FlushMetrics(_host.Gateway.Services);
        Assert.Equal(0, _telemetry.CounterValue(Instruments.Refreshes));
    }

    private IEnumerable<Activity> RefreshSpans() =>
        _telemetry.Spans.Where(s => s.Source.Name == ActivitySourceName && s.OperationName == Spans.Refresh);

    private static string? Outcome(Activity span) => span.GetTagItem(Attributes.Outcome) as string;

    /// <summary>
    /// The refresh lock as it looks while another replica holds it: after <see cref="HoldElsewhere"/>, the next attempt
    /// to take it fails and the next wait runs the other replica's refresh. Otherwise it grants every flight, as the
    /// single-process lock does.
    /// </summary>
    private sealed class HeldElsewhereLock(Func<ISessionStore> store) : IRefreshLock
    {
        private int _heldElsewhere;
        private Func<Task>? _otherReplicaRefresh;

        public void HoldElsewhere(Func<Task> otherReplicaRefresh)
        {
            _otherReplicaRefresh = otherReplicaRefresh;
            Volatile.Write(ref _heldElsewhere, 1);
        }

        public ValueTask<IRefreshLease?> TryAcquireAsync(string sessionId, TimeSpan ttl, CancellationToken cancellationToken) =>
            Interlocked.Exchange(ref _heldElsewhere, 0) == 1
                ? ValueTask.FromResult<IRefreshLease?>(null)
                : ValueTask.FromResult<IRefreshLease?>(new Lease(store()));

        public RefreshAnnouncement Listen(string sessionId) =>
            Interlocked.Exchange(ref _otherReplicaRefresh, null) is { } otherReplicaRefresh
                ? new RefreshAnnouncement(otherReplicaRefresh())
                : RefreshAnnouncement.Never;

        private sealed class Lease(ISessionStore store) : IRefreshLease
        {
            public bool IsHeld => true;

            public ValueTask<LeasedSave> SaveAsync(UserSession session) => InProcessRefreshLock.SaveAsync(store, session);

            public void Keep()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
