using Bff.Configuration;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using static Bff.Observability.TelemetryNames;

namespace Bff.Observability;

/// <summary>
/// The gateway's metrics (Meter <c>"Bff"</c>). A singleton: take <c>BffMetrics metrics</c> in a constructor or a
/// minimal-API handler and call the method for what happened. Pass the constants of <see cref="TelemetryNames"/>
/// as outcomes and reasons, never free text, so the number of series stays small.
/// <code>
/// metrics.RefreshCompleted(TelemetryNames.Outcomes.Refreshed, elapsed);   // once per refresh flight, see Outcomes
/// metrics.RefreshLockWaited(waited);                                     // a flight waited for another replica's refresh of its session
/// metrics.ProxyError(BffError.UpstreamUnreachable.Code, routeId);        // kind: the BffError code answered, or YARP's ForwarderError name
/// metrics.CsrfRejected(routeId);                                          // the route or endpoint that refused the request
/// metrics.SessionEnded(TelemetryNames.SessionEndReasons.Backchannel);    // one call per session removed
/// metrics.BackchannelLogout(TelemetryNames.Outcomes.Success);            // or Outcomes.InvalidToken / Outcomes.Unavailable
/// metrics.SessionStoreOperation(...)                                     // recorded by InstrumentedSessionStore for every store
/// </code>
/// Durations are seconds (OpenTelemetry convention). The Meter comes from <see cref="IMeterFactory"/>, so each host
/// (and each test host) has its own instruments.
/// </summary>
internal sealed class BffMetrics
{
    private static readonly InstrumentAdvice<double> StoreLatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    };

    private static readonly InstrumentAdvice<double> ProviderCallBuckets = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    private readonly Counter<long> _sessionsStarted;
    private readonly Counter<long> _sessionsEnded;
    private readonly Counter<long> _signInFailures;
    private readonly Counter<long> _refreshes;
    private readonly Histogram<double> _refreshDuration;
    private readonly Counter<long> _refreshLockWaits;
    private readonly Counter<long> _refreshesUnsaved;
    private readonly Histogram<double> _refreshLockWaitDuration;
    private readonly Counter<long> _csrfRejections;
    private readonly Counter<long> _proxyErrors;
    private readonly Histogram<double> _storeDuration;
    private readonly Counter<long> _backchannelLogouts;
    private readonly Counter<long> _signInRateLimited;
    private readonly Counter<long> _rejectedSessionCookies;
    private readonly Counter<long> _sessionCapEvictions;
    private readonly Counter<long> _sessionCapRefusals;
    private readonly Counter<long> _authorizationRefusals;
    private readonly Counter<long> _adminActions;
    private readonly Counter<long> _stepUpRequired;
    private readonly UpDownCounter<long> _eventStreams;
    private readonly Counter<long> _eventsSent;

    /// <param name="meterFactory">The host's meter factory.</param>
    /// <param name="activeSessions">Counts the sessions held right now, when the store can say cheaply (the in-memory store).</param>
    public BffMetrics(IMeterFactory meterFactory, Func<long>? activeSessions = null)
    {
        Meter = meterFactory.Create(MeterName, typeof(BffMetrics).Assembly.GetName().Version?.ToString());

        _sessionsStarted = Meter.CreateCounter<long>(Instruments.SessionsStarted, "{session}", "Sessions created by a completed sign-in.");
        _sessionsEnded = Meter.CreateCounter<long>(Instruments.SessionsEnded, "{session}", "Sessions ended, by reason (logout, expired, backchannel, refresh_rejected).");
        _signInFailures = Meter.CreateCounter<long>(Instruments.SignInFailures, "{failure}", "Sign-ins that did not create a session, by error code.");
        _refreshes = Meter.CreateCounter<long>(Instruments.Refreshes, "{refresh}", "Token refresh flights (one per session or client target, however many requests wait), by grant and outcome.");
        _refreshDuration = Meter.CreateHistogram(Instruments.RefreshDuration, "s", "Duration of token refresh flights, by grant and outcome.", advice: ProviderCallBuckets);
        _refreshLockWaits = Meter.CreateCounter<long>(Instruments.RefreshLockWaits, "{wait}", "Refresh flights that waited for another replica's refresh of the same session.");
        _refreshesUnsaved = Meter.CreateCounter<long>(Instruments.RefreshesUnsaved, "{refresh}", "Refreshed tokens dropped unsaved because their holder lost the refresh lock before the session store could save them.");
        _refreshLockWaitDuration = Meter.CreateHistogram(Instruments.RefreshLockWaitDuration, "s", "How long refresh flights waited for another replica's refresh.", advice: ProviderCallBuckets);
        _csrfRejections = Meter.CreateCounter<long>(Instruments.CsrfRejections, "{request}", "Requests refused for lack of the X-CSRF header, by endpoint or route.");
        _proxyErrors = Meter.CreateCounter<long>(Instruments.ProxyErrors, "{error}", "Proxied requests the gateway could not forward or complete (API unreachable, timed out, failed mid-way) or refused for an ambiguous path, by kind and route.");
        _storeDuration = Meter.CreateHistogram(Instruments.SessionStoreDuration, "s", "Duration of session store operations, by operation, store and outcome.", advice: StoreLatencyBuckets);
        _backchannelLogouts = Meter.CreateCounter<long>(Instruments.BackchannelLogouts, "{request}", "Back-channel logout requests, by outcome.");
        _signInRateLimited = Meter.CreateCounter<long>(Instruments.SignInRateLimited, "{request}", "Sign-in starts and callbacks refused with 429 because their client was over the limit, by endpoint.");
        _rejectedSessionCookies = Meter.CreateCounter<long>(Instruments.RejectedSessionCookies, "{cookie}", "Requests whose session cookie named no session (unknown) or was not a session key (malformed), by kind.");
        _sessionCapEvictions = Meter.CreateCounter<long>(Instruments.SessionCapEvictions, "{session}", "Sessions ended because a new sign-in took their user over Bff:Session:MaxPerSubject, by cap.");
        _sessionCapRefusals = Meter.CreateCounter<long>(Instruments.SessionCapRefusals, "{sign_in}", "Sign-ins refused because the in-memory store held Bff:Session:MaxInMemorySessions sessions, by cap.");
        _authorizationRefusals = Meter.CreateCounter<long>(Instruments.AuthorizationRefusals, "{request}", "Requests of signed-in users refused with 403 by an authorization policy (never forwarded), by route or local endpoint.");
        _adminActions = Meter.CreateCounter<long>(Instruments.AdminActions, "{request}", "Admin API requests, by operation and outcome (success, or the error code that refused it).");
        _stepUpRequired = Meter.CreateCounter<long>(Instruments.StepUpRequired, "{request}", "Calls answered 401 step_up_required (a stronger or more recent sign-in needed), by route or local endpoint and by source (endpoint: its metadata, never forwarded; upstream: the API's RFC 9470 challenge).");
        _eventStreams = Meter.CreateUpDownCounter<long>(Instruments.EventStreams, "{stream}", "Session event streams (GET /bff/events) open on this replica.");
        _eventsSent = Meter.CreateCounter<long>(Instruments.EventsSent, "{event}", "Events sent on session event streams, by event (and end reason for ended).");

        if (activeSessions is not null)
        {
            Meter.CreateObservableUpDownCounter(Instruments.SessionsActive, activeSessions, "{session}", "Sessions held by this replica's in-memory store (expired ones until the next sweep).");
        }
    }

    /// <summary>
    /// Reports <c>bff.sessions.active</c> from <paramref name="count"/>: called by a store that can count its sessions
    /// cheaply (the in-memory one) when it is created, so a gateway whose sessions are elsewhere has no such gauge.
    /// </summary>
    public void ObserveActiveSessions(Func<long> count) =>
        Meter.CreateObservableUpDownCounter(Instruments.SessionsActive, count, "{session}", "Sessions held by this replica's in-memory store (expired ones until the next sweep).");

    /// <summary>
    /// Reports <c>bff.client_auth.certificate.time_left</c>: seconds until each client certificate in use expires
    /// (negative once expired), tagged <c>certificate</c> (<c>tls</c>, or <c>key:</c> and the key id), for alerting.
    /// </summary>
    public void ObserveClientCertificates(Func<IEnumerable<Measurement<double>>> timeLeft) =>
        Meter.CreateObservableGauge(Instruments.ClientCertificateTimeLeft, timeLeft, "s", "Seconds until each client certificate in use (TLS client authentication, or a signing key's certificate) expires, by certificate.");

    /// <summary>The Meter behind the instruments (tests listen to exactly this one).</summary>
    public Meter Meter { get; }

    public void SessionStarted() => _sessionsStarted.Add(1);

    /// <param name="reason">One of <see cref="SessionEndReasons"/>.</param>
    public void SessionEnded(string reason, int count = 1)
    {
        if (count > 0)
        {
            _sessionsEnded.Add(count, new KeyValuePair<string, object?>(Attributes.SessionEndReason, reason));
        }
    }

    /// <param name="errorCode">The <c>BffError.Code</c> the browser was answered with.</param>
    public void SignInFailed(string errorCode) =>
        _signInFailures.Add(1, new KeyValuePair<string, object?>(Attributes.ErrorType, errorCode));

    /// <param name="outcome">One of the refresh values of <see cref="Outcomes"/>.</param>
    /// <param name="duration">The whole flight: lock, store reads and writes, provider calls.</param>
    /// <param name="grant">One of <see cref="TokenGrants"/>.</param>
    public void RefreshCompleted(string outcome, TimeSpan duration, string grant = TokenGrants.RefreshToken)
    {
        var tags = new TagList
        {
            { Attributes.TokenGrant, grant },
            { Attributes.Outcome, outcome },
        };
        _refreshes.Add(1, tags);
        _refreshDuration.Record(duration.TotalSeconds, tags);
    }

    public void RefreshLockWaited(TimeSpan waited)
    {
        _refreshLockWaits.Add(1);
        _refreshLockWaitDuration.Record(waited.TotalSeconds);
    }

    public void RefreshUnsaved() => _refreshesUnsaved.Add(1);

    /// <param name="endpoint">The gateway endpoint path (e.g. <c>/bff/user</c>) or the proxy route id.</param>
    public void CsrfRejected(string endpoint) =>
        _csrfRejections.Add(1, new KeyValuePair<string, object?>(Attributes.Endpoint, endpoint));

    /// <param name="kind">
    /// The <c>BffError.Code</c> of the gateway's answer (<c>upstream_unreachable</c>, <c>upstream_timeout</c>,
    /// <c>ambiguous_path</c>), or YARP's <c>ForwarderError</c> name for other forwarding failures.
    /// </param>
    /// <param name="routeId">The YARP route id, when known.</param>
    public void ProxyError(string kind, string? routeId) =>
        _proxyErrors.Add(1,
            new KeyValuePair<string, object?>(Attributes.ErrorType, kind),
            new KeyValuePair<string, object?>(Attributes.Route, routeId ?? "unknown"));

    /// <summary>Whether anything listens to session-store durations: without a listener, callers need not time the call.</summary>
    public bool SessionStoreOperationsMeasured => _storeDuration.Enabled;

    /// <param name="operation">One of <see cref="SessionStoreOperations"/>.</param>
    /// <param name="kind"><c>in_memory</c> or <c>redis</c>.</param>
    /// <param name="outcome"><see cref="Outcomes.Success"/>, <see cref="Outcomes.Found"/>, <see cref="Outcomes.NotFound"/>, <see cref="Outcomes.Unavailable"/> or <see cref="Outcomes.Failure"/>.</param>
    public void SessionStoreOperation(string operation, string kind, string outcome, TimeSpan duration)
    {
        if (!_storeDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { Attributes.SessionStoreOperation, operation },
            { Attributes.SessionStoreKind, kind },
            { Attributes.Outcome, outcome },
        };
        _storeDuration.Record(duration.TotalSeconds, tags);
    }

    /// <param name="outcome"><see cref="Outcomes.Success"/>, <see cref="Outcomes.InvalidToken"/> or <see cref="Outcomes.Unavailable"/>.</param>
    public void BackchannelLogout(string outcome) =>
        _backchannelLogouts.Add(1, new KeyValuePair<string, object?>(Attributes.Outcome, outcome));

    /// <param name="endpoint"><c>/bff/login</c> or the configured callback path.</param>
    public void SignInRateLimited(string endpoint) =>
        _signInRateLimited.Add(1, new KeyValuePair<string, object?>(Attributes.Endpoint, endpoint));
    /// <param name="kind">One of <see cref="RejectedCookieKinds"/>.</param>
    public void SessionCookieRejected(string kind) =>
        _rejectedSessionCookies.Add(1, new KeyValuePair<string, object?>(Attributes.RejectedCookieKind, kind));

    /// <param name="cap">One of <see cref="SessionCaps"/>.</param>
    public void SessionCapEvicted(string cap, int count = 1)
    {
        if (count > 0)
        {
            _sessionCapEvictions.Add(count, new KeyValuePair<string, object?>(Attributes.SessionCap, cap));
        }
    }

    /// <param name="cap">One of <see cref="SessionCaps"/>.</param>
    public void SessionCapRefused(string cap) =>
        _sessionCapRefusals.Add(1, new KeyValuePair<string, object?>(Attributes.SessionCap, cap));

    /// <param name="route">The YARP route id, or the local endpoint's route template.</param>
    public void AuthorizationRefused(string route) =>
        _authorizationRefusals.Add(1, new KeyValuePair<string, object?>(Attributes.Route, route));

    /// <param name="action">One of <see cref="AdminActions"/>.</param>
    /// <param name="outcome"><c>success</c>, or the error code of the refusal.</param>
    public void AdminAction(string action, string outcome) =>
        _adminActions.Add(1, new KeyValuePair<string, object?>(Attributes.AdminAction, action), new KeyValuePair<string, object?>(Attributes.Outcome, outcome));

    /// <param name="route">The YARP route id, or the local endpoint's route template.</param>
    /// <param name="source">One of <see cref="StepUpSources"/>.</param>
    public void StepUpRequired(string route, string source) =>
        _stepUpRequired.Add(1, new KeyValuePair<string, object?>(Attributes.Route, route), new KeyValuePair<string, object?>(Attributes.StepUpSource, source));

    /// <summary>A session event stream opened (+1) or closed (-1).</summary>
    public void EventStreamChanged(int delta) => _eventStreams.Add(delta);

    /// <param name="eventName">expiring, extended or ended.</param>
    /// <param name="endReason">For ended: the reason the page was told.</param>
    public void EventSent(string eventName, string? endReason = null)
    {
        if (endReason is null)
        {
            _eventsSent.Add(1, new KeyValuePair<string, object?>(Attributes.Event, eventName));
        }
        else
        {
            _eventsSent.Add(1, new KeyValuePair<string, object?>(Attributes.Event, eventName), new KeyValuePair<string, object?>(Attributes.SessionEndReason, endReason));
        }
    }
}
