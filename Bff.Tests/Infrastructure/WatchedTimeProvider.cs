using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells a test when the gateway starts a short timer (a retry delay), so the
/// test advances the clock once that timer exists instead of guessing when it will.
/// </summary>
public sealed class WatchedTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    /// <summary>Timers due within this are reported; longer ones (timeouts, budgets) are not.</summary>
    public static readonly TimeSpan ShortTimer = TimeSpan.FromSeconds(2);

    private TaskCompletionSource<TimeSpan>? _next;

    /// <summary>Completes with the due time of the next short timer started from now on.</summary>
    public Task<TimeSpan> NextShortTimerAsync() => WatchNextShortTimer().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>
    /// Runs <paramref name="work"/> and advances the clock past every short timer (a retry delay) it starts, until it
    /// completes: for calls whose retries would otherwise wait for a clock nobody moves.
    /// </summary>
    public async Task<T> RunThroughShortTimersAsync<T>(Func<Task<T>> work)
    {
        var timer = WatchNextShortTimer();
        var task = work();
        while (await Task.WhenAny(task, timer) != task)
        {
            var due = await timer;
            timer = WatchNextShortTimer(); // before advancing: the timer's callback may start the next one
            Advance(due);
        }

        return await task;
    }

    private Task<TimeSpan> WatchNextShortTimer()
    {
        var next = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _next, next);
        return next.Task;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime <= ShortTimer)
        {
            Interlocked.Exchange(ref _next, null)?.TrySetResult(dueTime);
        }

        return timer;
    }
}
