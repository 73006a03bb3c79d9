using Bff.Configuration;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

/// <summary>
/// Finds the current request's session once and remembers the answer for the rest of the request.
/// Also slides the idle expiry, at most once per <see cref="TouchInterval"/> so a busy session does not write on every call.
/// </summary>
internal sealed class SessionResolver(
    ISessionStore store,
    SessionCookie cookie,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    BffMetrics metrics,
    RejectedCookieReporter rejectedCookies,
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

        return ResolveCoreAsync(context);
    }

    /// <summary>
    /// A proxied call's lookup: what an earlier step of the request already found (a route's authorization policy),
    /// or a lookup that is not remembered. The proxy is the request's last step, nothing asks again after it, and
    /// remembering costs a request feature and two allocations on every API call.
    /// </summary>
    public ValueTask<SessionLookup> ResolveForProxyAsync(HttpContext context) =>
        context.Features.Get<SessionFeature>() is { } feature ? ValueTask.FromResult(feature.Lookup) : LookupAsync(context);

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

    private async ValueTask<SessionLookup> ResolveCoreAsync(HttpContext context)
    {
        var lookup = await LookupAsync(context);
        context.Features.Set(new SessionFeature { Lookup = lookup });
        return lookup;
    }

    private async ValueTask<SessionLookup> LookupAsync(HttpContext context)
    {
        var key = cookie.Read(context.Request);
        if (key is null)
        {
            if (cookie.IsPresent(context.Request))
            {
                rejectedCookies.Malformed();
            }

            return SessionLookup.NoCookie;
        }

        var lookup = await store.FindAsync(key, context.RequestAborted);
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
            await store.RemoveAsync(key, context.RequestAborted);
            BffLog.SessionExpired(logger, session.LogId);
            metrics.SessionEnded(TelemetryNames.SessionEndReasons.Expired);
            return SessionLookup.NotFound;
        }

        var lastTouched = session.IdleExpiresAt - _settings.IdleTimeout;
        if (now - lastTouched >= TouchInterval)
        {
            var touched = session with { IdleExpiresAt = now + _settings.IdleTimeout };
            var outcome = await store.ReplaceAsync(touched, context.RequestAborted);
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
