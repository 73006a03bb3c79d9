using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Bff.Tests.Browser;

/// <summary>Keeps the body of every non-redirect response a browser context received, to look for leaked tokens.</summary>
public sealed partial class BrowserRecorder
{
    private readonly ConcurrentQueue<Task<RecordedResponse?>> _responses = new();

    public BrowserRecorder(IBrowserContext context) =>
        context.Response += (_, response) => _responses.Enqueue(ReadAsync(response));

    /// <summary>A JWS or JWE in compact form, e.g. an access, refresh or ID token from the provider.</summary>
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")]
    public static partial Regex CompactJwt();

    public async Task<IReadOnlyList<RecordedResponse>> ResponsesAsync() =>
        (await Task.WhenAll(_responses)).OfType<RecordedResponse>().ToArray();

    private static async Task<RecordedResponse?> ReadAsync(IResponse response)
    {
        if (response.Status is >= 300 and < 400)
        {
            return null; // no body; the authorization code rides in a redirect URL by design (single use, PKCE-bound)
        }

        if (response.Headers.TryGetValue("content-type", out var type) && type.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            // The session's event stream lasts as long as the page: its body never completes to be read here. What it
            // may carry (times and a reason, never a token) is checked by the gateway's EventsEndpointTests.
            return null;
        }

        try
        {
            return new RecordedResponse(response.Url, response.Status, await response.TextAsync().WaitAsync(TimeSpan.FromSeconds(5)));
        }
        catch (PlaywrightException)
        {
            return new RecordedResponse(response.Url, response.Status, Body: "", Read: false); // discarded by a navigation
        }
        catch (TimeoutException)
        {
            // Chromium sometimes never hands over the body of a small error response; it is not counted as checked.
            return new RecordedResponse(response.Url, response.Status, Body: "", Read: false);
        }
    }
}

public sealed record RecordedResponse(string Url, int Status, string Body, bool Read = true);
