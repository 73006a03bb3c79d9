using Bff.Configuration;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

/// <summary>
/// Finds the current request's session once and remembers the answer for the rest of the request.
/// Also slides the idle expiry, at most once per <see cref="TouchInterval"/> so a busy session does not write on every call,
/// unless the caller only looks (<see cref="ResolveWithoutSlidingAsync"/>: <c>/bff/user?slide=false</c>, the event stream).
/// </summary>
internal sealed class SessionResolver(
    ISessionStore store,
    SessionCookie cookie,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    BffMetrics metrics,
    RejectedCookieReporter rejectedCookies,
    ISessionEvents events,
    ILogger<SessionResolver> logger)
{
    private readonly SessionSettings _settings = options.Value.Session;

    private TimeSpan TouchInterval => TimeSpan.FromTicks(Math.Min(_settings.IdleTimeout.Ticks / 10, TimeSpan.FromMinutes(1).Ticks));

    public ValueTask<SessionLookup> ResolveAsync(HttpContext context)
    {
        var feature = context.Features.Get<SessionFeature>();
        if (feature is not null)
        {
            return ValueTask.FromResult(feature.Lookup);
        }

        return ResolveCoreAsync(context, slide: true);
    }

    /// <summary>
    /// As <see cref="ResolveAsync"/>, without extending the idle timeout: a page that checks whether it is still signed
    /// in must not keep itself signed in by checking. Remembered like <see cref="ResolveAsync"/>, so the rest of the
    /// request does not slide it either.
    /// </summary>
    public ValueTask<SessionLookup> ResolveWithoutSlidingAsync(HttpContext context)
    {
        var feature = context.Features.Get<SessionFeature>();
        if (feature is not null)
        {
            return ValueTask.FromResult(feature.Lookup);
        }

        return ResolveCoreAsync(context, slide: false);
    }

    /// <summary>A session by its cookie value, without sliding it: an open event stream reading its session again.</summary>
    public ValueTask<SessionLookup> FindWithoutSlidingAsync(string key, CancellationToken cancellationToken) =>
        FindAsync(key, slide: false, cancellationToken);

    /// <summary>
    /// A proxied call's lookup: what an earlier step of the request already found (a route's authorization policy),
    /// or a lookup that is not remembered. The proxy is the request's last step, nothing asks again after it, and
    /// remembering costs a request feature and two allocations on every API call.
    /// </summary>
    public ValueTask<SessionLookup> ResolveForProxyAsync(HttpContext context) =>
        context.Features.Get<SessionFeature>() is { } feature ? ValueTask.FromResult(feature.Lookup) : LookupAsync(context, slide: true);

    /// <summary>Replaces what this request knows of its session (after a refresh or logout).</summary>
    public static void Remember(HttpContext context, SessionLookup lookup)
    {
        var feature = context.Features.Get<SessionFeature>();
        if (feature is null)
        {
            context.Features.Set(new SessionFeature { Lookup = lookup });
        }
        else
        {
            feature.Lookup = lookup;
        }
    }

    private async ValueTask<SessionLookup> ResolveCoreAsync(HttpContext context, bool slide)
    {
        var lookup = await LookupAsync(context, slide);
        context.Features.Set(new SessionFeature { Lookup = lookup });
        return lookup;
    }

    private ValueTask<SessionLookup> LookupAsync(HttpContext context, bool slide)
    {
        var key = cookie.Read(context.Request);
        if (key is null)
        {
            if (cookie.IsPresent(context.Request))
            {
                rejectedCookies.Malformed();
            }

            return ValueTask.FromResult(SessionLookup.NoCookie);
        }

        return FindAsync(key, slide, context.RequestAborted);
    }

    private async ValueTask<SessionLookup> FindAsync(string key, bool slide, CancellationToken cancellationToken)
    {
        var lookup = await store.FindAsync(key, cancellationToken);
        if (lookup.Status != SessionLookupStatus.Found)
        {
            if (lookup.Status == SessionLookupStatus.NotFound)
            {
                rejectedCookies.Unknown();
            }

            return lookup;
        }

        var session = lookup.Session!;
        var now = timeProvider.GetUtcNow();
        if (session.IsExpired(now))
        {
            if (await store.RemoveAsync(key, cancellationToken) == StoreOutcome.Ok)
            {
                await events.PublishEndedAsync(SessionKey.Id(key), SessionEndReason.Expired);
            }

            BffLog.SessionExpired(logger, session.LogId);
            metrics.SessionEnded(TelemetryNames.SessionEndReasons.Expired);
            return SessionLookup.NotFound;
        }

        var lastTouched = session.IdleExpiresAt - _settings.IdleTimeout;
        if (slide && now - lastTouched >= TouchInterval)
        {
            var touched = session with { IdleExpiresAt = now + _settings.IdleTimeout };
            var outcome = await store.ReplaceAsync(touched, cancellationToken);
            switch (outcome)
            {
                case StoreOutcome.Ok:
                    session = touched;
                    break;
                case StoreOutcome.NotFound:
                    return SessionLookup.NotFound;
                default:
                    // Serve the request on the session we read; the next request slides it.
                    break;
            }
        }

        return SessionLookup.Found(session);
    }

    private sealed class SessionFeature
    {
        public SessionLookup Lookup { get; set; }
    }
}
