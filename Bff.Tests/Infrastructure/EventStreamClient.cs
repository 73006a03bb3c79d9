using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// Reads <c>GET /bff/events</c> as a page's streamed <c>fetch</c> does: the session cookie and <c>X-CSRF: 1</c>, one
/// Server-Sent Event at a time. Every read is bounded (<see cref="ReadBound"/>) so that a stream that never sends fails
/// the test instead of hanging it; a test waits for events, never for time.
/// </summary>
public sealed class EventStreamClient : IDisposable
{
    /// <summary>How long one read may wait before the test fails: a guard against hanging, not a deadline the gateway must meet.</summary>
    public static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private EventStreamClient(HttpClient http, HttpResponseMessage response, StreamReader reader)
    {
        _http = http;
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens the stream with the browser's session cookie; a refusal is returned as the response alone.</summary>
    public static async Task<(HttpResponseMessage Response, EventStreamClient? Stream)> OpenAsync(
        HttpMessageHandler handler, Uri baseAddress, string? sessionCookie, IDictionary<string, string>? headers = null, bool csrf = true)
    {
        var http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/bff/events");
        if (sessionCookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", "__Host-bff=" + sessionCookie);
        }

        if (csrf)
        {
            request.Headers.Add("X-CSRF", "1");
        }

        request.Headers.Add("Accept", "text/event-stream");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(ReadBound);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await response.Content.LoadIntoBufferAsync();
            http.Dispose();
            return (response, null);
        }

        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
        return (response, new EventStreamClient(http, response, reader));
    }

    /// <summary>
    /// Opens the stream of <paramref name="browser"/>'s session on <paramref name="replica"/>, as a same-origin page
    /// does, and reads its <c>ready</c>: from then on the stream listens, and no notice sent later can be missed.
    /// </summary>
    public static async Task<EventStreamClient> OpenReadyAsync(GatewayReplica replica, BrowserClient browser)
    {
        var (response, stream) = await OpenAsync(
            new SocketsHttpHandler { UseCookies = false }, replica.BaseAddress, browser.CookieValue("__Host-bff"),
            new Dictionary<string, string> { ["Sec-Fetch-Site"] = "same-origin" });
        if (stream is null)
        {
            throw new InvalidOperationException($"/bff/events answered {(int)response.StatusCode}");
        }

        var ready = await stream.NextEventAsync();
        if (ready?.Name != "ready")
        {
            stream.Dispose();
            throw new InvalidOperationException($"/bff/events began with {ready?.Name ?? "its end"}, not ready");
        }

        return stream;
    }

    /// <summary>The next event or comment (<see cref="ServerSentEvent.IsComment"/>); null when the gateway closed the stream.</summary>
    public async Task<ServerSentEvent?> NextAsync()
    {
        string? name = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync().WaitAsync(ReadBound);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                if (name is not null || data.Length > 0)
                {
                    return new ServerSentEvent(name ?? "message", data.ToString());
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                // Only a comment on its own (between events) is reported.
                if (name is null && data.Length == 0)
                {
                    await _reader.ReadLineAsync().WaitAsync(ReadBound);
                    return new ServerSentEvent(":", line[1..].Trim());
                }

                continue;
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line["event:".Length..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line["data:".Length..].TrimStart());
            }
        }
    }

    /// <summary>The next event that is not a heartbeat comment.</summary>
    public async Task<ServerSentEvent?> NextEventAsync()
    {
        while (true)
        {
            var next = await NextAsync();
            if (next is null || !next.IsComment)
            {
                return next;
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
    }
}

public sealed record ServerSentEvent(string Name, string Data)
{
    public bool IsComment => Name == ":";

    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
}

/// <summary>
/// A fake clock that reports every timer the gateway starts with a due time the test names, so a test advances the
/// clock once the event stream waits on it (rather than guessing when it will).
/// </summary>
public sealed class TimerReportingClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    /// <summary>Waits until a timer due within <paramref name="dueTime"/> (exactly) has been started, skipping others.</summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime)
    {
        using var bound = new CancellationTokenSource(EventStreamClient.ReadBound);
        while (await _timers.Reader.ReadAsync(bound.Token) != dueTime)
        {
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            _timers.Writer.TryWrite(dueTime);
        }

        return timer;
    }
}
