using Bff.Configuration;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Observability;

/// <summary>What an operator sees in traces and metrics for the gateway's own operations.</summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class TelemetryTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();
    private readonly TelemetryCapture _telemetry = new();
    private readonly GatewayFactory _gateway;

    public TelemetryTests() => _gateway = new GatewayFactory(_idp, TelemetryCapture.Settings(), services: _telemetry.Register);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task Sign_in_is_traced_with_the_code_redemption_nested_under_the_callback()
    {
        using var browser = _gateway.CreateBrowser();

        await browser.SignInAsync(_idp);

        var login = Assert.Single(BffSpans(Spans.Login));
        Assert.Equal(Outcomes.Success, login.GetTagItem(Attributes.Outcome));
        var callback = Assert.Single(BffSpans(Spans.Callback));
        Assert.Equal(Outcomes.Success, callback.GetTagItem(Attributes.Outcome));
        Assert.Equal(SessionKey.LogId(browser.CookieValue("__Host-bff")!), callback.GetTagItem(Attributes.SessionId));
        var tokenCall = Assert.Single(_telemetry.Spans, s => s.Source.Name == "System.Net.Http" && s.GetTagItem("url.full") is string url && url.EndsWith("/token", StringComparison.Ordinal));
        Assert.Equal(callback.SpanId, tokenCall.ParentSpanId);
        var create = Assert.Single(BffSpans(Spans.SessionStorePrefix + SessionStoreOperations.Create));
        Assert.Equal(callback.SpanId, create.ParentSpanId);
        Assert.Equal("in_memory", create.GetTagItem(Attributes.SessionStoreKind));
    }

    [Fact]
    public async Task A_failed_callback_is_an_error_span_and_a_counted_sign_in_failure()
    {
        using var browser = _gateway.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_idp);

        var callback = await browser.GetAsync(BrowserClient.CallbackUrl("code-the-provider-never-issued", authorize.State));

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        var span = Assert.Single(BffSpans(Spans.Callback));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("login_failed", span.GetTagItem(Attributes.ErrorType));
        TelemetryCapture.FlushMetrics(_gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SignInFailures, (Attributes.ErrorType, "login_failed")));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.SessionsStarted));
    }

    [Fact]
    public async Task Logout_is_traced_and_sessions_are_counted_from_start_to_end()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        TelemetryCapture.FlushMetrics(_gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsStarted));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsActive));

        var logout = await browser.GetAsync(await LogoutUrlAsync(browser));

        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        var span = Assert.Single(BffSpans(Spans.Logout));
        Assert.Equal(Outcomes.Success, span.GetTagItem(Attributes.Outcome));
        Assert.Contains(BffSpans(Spans.SessionStorePrefix + SessionStoreOperations.Remove), s => s.ParentSpanId == span.SpanId);
        TelemetryCapture.FlushMetrics(_gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.SessionsEnded, (Attributes.SessionEndReason, SessionEndReasons.Logout)));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.SessionsActive));
    }

    [Fact]
    public async Task Back_channel_logouts_record_their_outcome_and_the_sessions_they_ended()
    {
        using var laptop = _gateway.CreateBrowser();
        using var phone = _gateway.CreateBrowser();
        await laptop.SignInAsync(_idp, subject: "alice");
        await phone.SignInAsync(_idp, subject: "alice");
        using var provider = _gateway.CreateClient();

        var refused = await provider.PostAsync("/bff/backchannel", LogoutForm("not-a-jwt"));
        var accepted = await provider.PostAsync("/bff/backchannel", LogoutForm(_idp.CreateLogoutToken("alice", providerSessionId: null)));

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetWithCsrfAsync("/bff/user")).StatusCode);
        var spans = BffSpans(Spans.BackchannelLogout).OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, spans.Count);
        Assert.Equal(Outcomes.Failure, spans[0].GetTagItem(Attributes.Outcome));
        Assert.Equal("invalid_logout_token", spans[0].GetTagItem(Attributes.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, spans[0].Status);
        Assert.Equal(Outcomes.Success, spans[1].GetTagItem(Attributes.Outcome));
        Assert.Equal(2, spans[1].GetTagItem(Attributes.SessionsRemoved));
        TelemetryCapture.FlushMetrics(_gateway.Services);
        Assert.Equal(1, _telemetry.CounterValue(Instruments.BackchannelLogouts, (Attributes.Outcome, Outcomes.Success)));
        Assert.Equal(1, _telemetry.CounterValue(Instruments.BackchannelLogouts, (Attributes.Outcome, Outcomes.InvalidToken)));
        Assert.Equal(2, _telemetry.CounterValue(Instruments.SessionsEnded, (Attributes.SessionEndReason, SessionEndReasons.Backchannel)));
        Assert.Equal(0, _telemetry.CounterValue(Instruments.SessionsActive));
    }

    [Fact]
    public async Task Session_store_calls_are_measured_by_operation_and_outcome()
    {
        using var browser = _gateway.CreateBrowser();
        await browser.SignInAsync(_idp);
        await browser.GetWithCsrfAsync("/bff/user");
        browser.PutCookie("__Host-bff", new string('x', 43));
        await browser.GetWithCsrfAsync("/bff/user");

        TelemetryCapture.FlushMetrics(_gateway.Services);

        Assert.Equal(1, _telemetry.HistogramCount(Instruments.SessionStoreDuration, (Attributes.SessionStoreOperation, "create"), (Attributes.Outcome, Outcomes.Success)));
        Assert.Equal(1, _telemetry.HistogramCount(Instruments.SessionStoreDuration, (Attributes.SessionStoreOperation, "find"), (Attributes.Outcome, Outcomes.Found)));
        Assert.Equal(1, _telemetry.HistogramCount(Instruments.SessionStoreDuration, (Attributes.SessionStoreOperation, "find"), (Attributes.Outcome, Outcomes.NotFound), (Attributes.SessionStoreKind, "in_memory")));
    }

    [Fact]
    public async Task Requests_without_the_csrf_header_are_counted()
    {
        using var browser = _gateway.CreateBrowser();

        await browser.GetAsync("/bff/user");
        await browser.GetAsync("/bff/user");

        TelemetryCapture.FlushMetrics(_gateway.Services);
        Assert.Equal(2, _telemetry.CounterValue(Instruments.CsrfRejections, (Attributes.Endpoint, "/bff/user")));
    }

    [Fact]
    public void The_session_store_is_instrumented_whatever_store_is_configured()
    {
        var store = _gateway.Services.GetRequiredService<ISessionStore>();

        var instrumented = Assert.IsType<InstrumentedSessionStore>(store);
        Assert.IsType<InMemorySessionStore>(instrumented.Inner);
    }

    [Fact]
    public void Yarp_spans_are_exported()
    {
        _ = _gateway.Services;
        using var yarp = new ActivitySource(YarpActivitySourceName);

        using (yarp.StartActivity("proxy.forwarder"))
        {
        }

        Assert.Contains(_telemetry.Spans, s => s.Source.Name == YarpActivitySourceName);
    }

    [Fact]
    public async Task Health_probes_are_not_traced()
    {
        using var browser = _gateway.CreateBrowser();

        await browser.GetAsync("/health/live");
        await browser.GetAsync("/health/ready");

        Assert.DoesNotContain(_telemetry.Spans, s => s.GetTagItem("url.path") is string path && path.StartsWith("/health", StringComparison.Ordinal));
    }

    private IEnumerable<Activity> BffSpans(string name) =>
        _telemetry.Spans.Where(s => s.Source.Name == ActivitySourceName && s.OperationName == name);

    private static FormUrlEncodedContent LogoutForm(string logoutToken) => new([new("logout_token", logoutToken)]);

    private static async Task<string> LogoutUrlAsync(BrowserClient browser)
    {
        var user = await browser.GetWithCsrfAsync("/bff/user");
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("logoutUrl").GetString()!;
    }
}
