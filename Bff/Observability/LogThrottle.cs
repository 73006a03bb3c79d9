namespace Bff.Observability;

/// <summary>
/// For events an anonymous client can cause as fast as it can send requests (refused sign-ins, foreign Host headers):
/// each is counted, but a line is written only for the first event of each interval, with the number of events since
/// the previous line, so a flood of requests never becomes a flood of log lines.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private long _unlogged;
    private long _nextLineTicks = long.MinValue;

    /// <summary>Counts one event; true when a line is due, with the events it reports (this one included).</summary>
    public bool Count(out long events)
    {
        Interlocked.Increment(ref _unlogged);
        var now = time.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref _nextLineTicks);
        if (now < due || Interlocked.CompareExchange(ref _nextLineTicks, now + interval.Ticks, due) != due)
        {
            events = 0;
            return false;
        }

        events = Interlocked.Exchange(ref _unlogged, 0);
        return events > 0;
    }
}
