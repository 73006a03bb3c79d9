using Bff.Configuration;
using Bff.Csrf;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Bff.Endpoints;

/// <summary>
/// <c>GET /bff/events</c> with <c>X-CSRF: 1</c>: a Server-Sent Events stream (<c>text/event-stream</c>) that tells the
/// page about its own session, and nothing else: <c>expiring</c> ahead of its idle or absolute end
/// (<c>Bff:Session:WarnBefore</c>), <c>extended</c> when another tab or call slid it after that, and <c>ended</c> with
/// the reason, after which the stream closes. Read with a streamed <c>fetch</c> (which can send the header), not
/// <c>EventSource</c> (which cannot). Opening it and keeping it open never slides the session.
/// <para>
/// Cross-site use is refused three ways: the <c>X-CSRF</c> header, which another site's script cannot add without a
/// CORS preflight the gateway never grants; a <c>Sec-Fetch-Site</c> other than <c>same-origin</c> (browsers set it and
/// page script cannot); and no CORS headers at all, so no other origin could read the stream even if it were sent.
/// </para>
/// </summary>
internal static class EventsEndpoint
{
    public const string Path = "/bff/events";

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult, RetryAfterProblem>> HandleAsync(
        HttpContext context,
        SessionResolver resolver,
        SessionEventHub hub,
        IOptions<BffOptions> options,
        TimeProvider timeProvider,
        IHostApplicationLifetime lifetime,
        BffMetrics metrics,
        CrossSiteRefusals crossSite,
        ILoggerFactory loggerFactory)
    {
        var request = context.Request;
        if (request.Headers["Sec-Fetch-Site"] is { Count: > 0 } site && !(site.Count == 1 && site[0] == "same-origin"))
        {
            crossSite.Count();
            return BffProblem.Result(BffError.CrossSiteRequest);
        }

        if (!CsrfHeader.IsPresent(request))
        {
            metrics.CsrfRejected(Path);
            return BffProblem.Result(BffError.CsrfHeaderMissing);
        }

        var lookup = await resolver.ResolveWithoutSlidingAsync(context);
        switch (lookup.Status)
        {
            case SessionLookupStatus.Unavailable:
                return BffProblem.WithRetryAfter(BffError.SessionStoreUnavailable);
            case not SessionLookupStatus.Found:
                return BffProblem.Result(BffError.Unauthenticated);
        }

        var session = lookup.Session!;
        var logger = loggerFactory.CreateLogger(typeof(EventsEndpoint));

        // Listening before the first byte is sent: a page that has read the first event misses no notice after it.
        using var subscription = hub.Subscribe(session);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        // Proxies (nginx) must pass each event on at once.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        metrics.EventStreamChanged(1);
        BffLog.EventStreamOpened(logger, session.LogId);
        var stream = new SessionEventStream(response, resolver, timeProvider, options.Value.Session.WarnBefore, metrics);
        var closed = "the client went away";
        try
        {
            closed = await stream.RunAsync(session, subscription.Ended, stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            closed = lifetime.ApplicationStopping.IsCancellationRequested ? "the gateway is stopping" : "the client went away";
        }
        finally
        {
            metrics.EventStreamChanged(-1);
            BffLog.EventStreamClosed(logger, session.LogId, closed);
        }

        return TypedResults.Empty;
    }
}

/// <summary>Refusals of cross-site stream requests: counted in <c>bff.csrf.rejections</c>, logged at most once a minute.</summary>
internal sealed class CrossSiteRefusals(TimeProvider time, BffMetrics metrics, ILogger<CrossSiteRefusals> logger)
{
    private readonly LogThrottle _throttle = new(time, TimeSpan.FromMinutes(1));

    public void Count()
    {
        metrics.CsrfRejected(EventsEndpoint.Path);
        if (_throttle.Count(out var refusals))
        {
            BffLog.EventStreamCrossSiteRefused(logger, refusals);
        }
    }
}
