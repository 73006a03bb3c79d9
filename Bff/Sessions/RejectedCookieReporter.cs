using Bff.Observability;

namespace Bff.Sessions;

/// <summary>
/// Counts session cookies that name no session (unknown) or are no session key (malformed), and writes one line per
/// <see cref="Interval"/> that sums them up. Every such cookie is counted in a metric; none writes a line of its own:
/// a client sending forged cookies as fast as it can must not turn each request into a log line (and each log line
/// into disk, shipping and indexing cost).
/// </summary>
internal sealed class RejectedCookieReporter : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly BffMetrics _metrics;
    private readonly ILogger<SessionResolver> _logger;
    private readonly ITimer _timer;
    private long _unknown;
    private long _malformed;
    private int _armed;

    public RejectedCookieReporter(TimeProvider timeProvider, BffMetrics metrics, ILogger<SessionResolver> logger)
    {
        _metrics = metrics;
        _logger = logger;
        _timer = timeProvider.CreateTimer(static state => ((RejectedCookieReporter)state!).Flush(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public void Unknown()
    {
        _metrics.SessionCookieRejected(TelemetryNames.RejectedCookieKinds.Unknown);
        Interlocked.Increment(ref _unknown);
        Arm();
    }

    public void Malformed()
    {
        _metrics.SessionCookieRejected(TelemetryNames.RejectedCookieKinds.Malformed);
        Interlocked.Increment(ref _malformed);
        Arm();
    }

    /// <summary>Writes the line for what was counted since the last one (the timer's callback; also at shutdown).</summary>
    public void Flush()
    {
        // Disarm first: a cookie counted after the swap below arms the next interval.
        Volatile.Write(ref _armed, 0);
        var unknown = Interlocked.Exchange(ref _unknown, 0);
        var malformed = Interlocked.Exchange(ref _malformed, 0);
        if (unknown + malformed > 0)
        {
            BffLog.RejectedSessionCookies(_logger, unknown, malformed, (int)Interval.TotalSeconds);
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        Flush();
    }

    /// <summary>The first rejected cookie of a quiet period starts the interval at whose end its line is written.</summary>
    private void Arm()
    {
        if (Interlocked.CompareExchange(ref _armed, 1, 0) == 0)
        {
            _timer.Change(Interval, Timeout.InfiniteTimeSpan);
        }
    }
}
