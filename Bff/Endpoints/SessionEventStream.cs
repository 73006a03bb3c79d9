using System.Globalization;
using Bff.Observability;
using Bff.Sessions;

namespace Bff.Endpoints;

/// <summary>
/// One page's view of its session, written as Server-Sent Events until the session ends, the page goes away or the
/// gateway stops. The stream reads its session again (never sliding it) at every wake-up: a heartbeat every
/// <see cref="HeartbeatInterval"/>, the warning time and the end. A notice (<see cref="ISessionEvents"/>) ends it at
/// once with its reason; a session found gone without one ended for a reason the stream does not know (<c>expired</c>
/// when past its end). Events carry times and reasons only: never a token, a claim or another session's data.
/// </summary>
internal sealed class SessionEventStream(
    HttpResponse response,
    SessionResolver resolver,
    TimeProvider time,
    TimeSpan warnBefore,
    BffMetrics metrics)
{
    /// <summary>
    /// How often a comment line keeps the connection alive through proxies that close idle ones (many do at 60 s), and
    /// how soon the stream notices a session that slid or ended without a notice.
    /// </summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>Runs until the session ends (returns why the stream closed) or <paramref name="stopping"/> is cancelled (throws).</summary>
    public async Task<string> RunAsync(UserSession session, Task<SessionEndReason> ended, CancellationToken stopping)
    {
        // Tells a page that the stream is live (and a proxy, that the response has started).
        await WriteAsync("ready", Times(session), stopping);
        var lastWrite = time.GetUtcNow();
        DateTimeOffset? warnedFor = null;
        var reread = false;
        while (true)
        {
            if (reread)
            {
                var lookup = await resolver.FindWithoutSlidingAsync(session.Key, stopping);
                if (ended.IsCompleted)
                {
                    return await EndAsync(ended.Result, stopping);
                }

                switch (lookup.Status)
                {
                    case SessionLookupStatus.Found:
                        var current = lookup.Session!;
                        if (warnedFor is { } warned && current.ExpiresAt > warned)
                        {
                            // Another tab (or an API call) slid it since the warning: the pages can take their banner down.
                            metrics.EventSent("extended");
                            await WriteAsync("extended", Times(current), stopping);
                            lastWrite = time.GetUtcNow();
                            warnedFor = null;
                        }

                        session = current;
                        break;
                    case SessionLookupStatus.Unavailable:
                        // The store cannot say: keep what the stream knows, and ask again at the next wake-up.
                        break;
                    default:
                        return await EndAsync(time.GetUtcNow() >= session.ExpiresAt ? SessionEndReason.Expired : SessionEndReason.Unknown, stopping);
                }
            }

            reread = true;
            var now = time.GetUtcNow();
            var expiresAt = session.ExpiresAt;
            var warnAt = expiresAt - warnBefore;
            if (now >= warnAt && now < expiresAt && warnedFor != expiresAt)
            {
                metrics.EventSent("expiring");
                await WriteAsync("expiring", Expiring(session, now), stopping);
                lastWrite = now;
                warnedFor = expiresAt;
            }
            else if (now - lastWrite >= HeartbeatInterval)
            {
                await WriteCommentAsync(stopping);
                lastWrite = now;
            }

            var wake = lastWrite + HeartbeatInterval;
            if (warnedFor != expiresAt && warnAt > now && warnAt < wake)
            {
                wake = warnAt;
            }

            if (expiresAt > now && expiresAt < wake)
            {
                wake = expiresAt;
            }

            if (await WaitAsync(ended, wake - now, stopping) is { } reason)
            {
                return await EndAsync(reason, stopping);
            }
        }
    }

    private async Task<string> EndAsync(SessionEndReason reason, CancellationToken stopping)
    {
        var name = SessionEndReasonNames.Name(reason);
        metrics.EventSent("ended", name);
        await WriteAsync("ended", $$"""{"reason":"{{name}}"}""", stopping);
        return "the session ended (" + name + ")";
    }

    /// <summary>The end reason when a notice arrives first; null when the wait ran out.</summary>
    private async Task<SessionEndReason?> WaitAsync(Task<SessionEndReason> ended, TimeSpan wait, CancellationToken stopping)
    {
        if (ended.IsCompleted)
        {
            return ended.Result;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var delay = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time, timer.Token);
        var first = await Task.WhenAny(ended, delay);
        await timer.CancelAsync();
        stopping.ThrowIfCancellationRequested();
        return first == ended ? ended.Result : null;
    }

    private static string Times(UserSession session) =>
        $$"""{"expiresAt":"{{Iso(session.ExpiresAt)}}","absoluteExpiresAt":"{{Iso(session.AbsoluteExpiresAt)}}"}""";

    private static string Expiring(UserSession session, DateTimeOffset now)
    {
        // The absolute limit cannot be extended; the idle one can, by any ordinary call.
        var absolute = session.AbsoluteExpiresAt <= session.IdleExpiresAt;
        var secondsLeft = (long)Math.Ceiling((session.ExpiresAt - now).TotalSeconds);
        return $$"""{"kind":"{{(absolute ? "absolute" : "idle")}}","secondsLeft":{{secondsLeft.ToString(CultureInfo.InvariantCulture)}},"expiresAt":"{{Iso(session.ExpiresAt)}}","canExtend":{{(absolute ? "false" : "true")}}}""";
    }

    private static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private async Task WriteAsync(string name, string data, CancellationToken cancellationToken)
    {
        await response.WriteAsync("event: " + name + "\ndata: " + data + "\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private async Task WriteCommentAsync(CancellationToken cancellationToken)
    {
        await response.WriteAsync(": heartbeat\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
