using Bff.Sessions;
using System.Net;
using Bff.Observability;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Sessions;

/// <summary>
/// A client that sends forged or garbled session cookies as fast as it can gets 401s and a counter that moves; it does
/// not get one log line per request.
/// </summary>
public sealed class RejectedCookieLoggingTests : IDisposable
{
    private const int RejectedLineEvent = 1007;

    private readonly TestIdentityProvider _idp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly GatewayFactory _gateway;

    public RejectedCookieLoggingTests() => _gateway = new GatewayFactory(_idp, time: _time);

    public void Dispose()
    {
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task A_thousand_forged_cookies_make_one_summary_line_per_minute_and_a_count_of_a_thousand()
    {
        using var browser = _gateway.CreateBrowser();
        using var counters = new CounterTotals(_gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.RejectedCookieKind);
        var before = _gateway.Logs.Lines.Count;

        for (var i = 0; i < 1000; i++)
        {
            // 700 well-formed keys that name no session, 300 values that are no key at all.
            browser.PutCookie("__Host-bff", i < 700 ? $"{i:D6}" + new string('A', 37) : "forged-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        }

        Assert.Equal(700, counters[Instruments.RejectedSessionCookies, RejectedCookieKinds.Unknown]);
        Assert.Equal(300, counters[Instruments.RejectedSessionCookies, RejectedCookieKinds.Malformed]);
        var during = _gateway.Logs.Lines.Skip(before).ToArray();
        Assert.DoesNotContain(during, l => l.Category.StartsWith("Bff", StringComparison.Ordinal) && l.Level >= Microsoft.Extensions.Logging.LogLevel.Information);

        _time.Advance(RejectedCookieReporterInterval);

        var summary = Assert.Single(_gateway.Logs.Lines, l => l.EventId.Id == RejectedLineEvent);
        Assert.StartsWith("700 unknown and 300 malformed session cookies in the last 60 s", summary.Message, StringComparison.Ordinal);

        // The next minute's cookies make the next minute's line; a quiet minute makes none.
        browser.PutCookie("__Host-bff", "forged-again");
        await browser.GetWithCsrfAsync("/bff/user");
        _time.Advance(RejectedCookieReporterInterval);
        _time.Advance(RejectedCookieReporterInterval);
        var lines = _gateway.Logs.Lines.Where(l => l.EventId.Id == RejectedLineEvent).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("0 unknown and 1 malformed", lines[1].Message, StringComparison.Ordinal);
        Assert.Equal(301, counters[Instruments.RejectedSessionCookies, RejectedCookieKinds.Malformed]);
    }

    private static TimeSpan RejectedCookieReporterInterval => Bff.Sessions.RejectedCookieReporter.Interval;
}
