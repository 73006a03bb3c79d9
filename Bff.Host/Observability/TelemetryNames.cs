namespace Bff.Observability;

/// <summary>
/// Every name the gateway's telemetry uses: its ActivitySource and Meter, span names, instrument names and attribute
/// keys and values. Dashboards and alerts depend on these, so they change only deliberately.
/// Values are low-cardinality on purpose: no user, URL or token ever becomes an attribute value; sessions appear only
/// as <see cref="Sessions.SessionKey.LogId"/> hashes.
/// </summary>
internal static class TelemetryNames
{
    /// <summary>The gateway's own <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string ActivitySourceName = "Bff";

    public const string MeterName = "Bff";

    /// <summary>YARP's own ActivitySource (its forwarder spans).</summary>
    public const string YarpActivitySourceName = "Yarp.ReverseProxy";

    /// <summary>Used as <c>service.name</c> when <c>OTEL_SERVICE_NAME</c> is not set.</summary>
    public const string DefaultServiceName = "bff-gateway";

    public static class Spans
    {
        public const string Login = "bff.login";
        public const string Callback = "bff.callback";
        public const string Logout = "bff.logout";
        public const string SignedOutCallback = "bff.signed_out_callback";
        public const string BackchannelLogout = "bff.backchannel_logout";
        public const string Refresh = "bff.token.refresh";

        /// <summary>Prefix of the session store spans: <c>bff.session_store.find</c>, <c>bff.session_store.create</c>, …</summary>
        public const string SessionStorePrefix = "bff.session_store.";
    }

    public static class Instruments
    {
        public const string SessionsStarted = "bff.sessions.started";
        public const string SessionsEnded = "bff.sessions.ended";
        public const string SessionsActive = "bff.sessions.active";
        public const string SignInFailures = "bff.sign_in.failures";
        public const string Refreshes = "bff.token.refreshes";
        public const string RefreshDuration = "bff.token.refresh.duration";
        public const string RefreshLockWaits = "bff.token.refresh.lock_waits";
        public const string RefreshLockWaitDuration = "bff.token.refresh.lock_wait.duration";
        public const string CsrfRejections = "bff.csrf.rejections";
        public const string ProxyErrors = "bff.proxy.errors";
        public const string SessionStoreDuration = "bff.session_store.operation.duration";
        public const string BackchannelLogouts = "bff.backchannel_logouts";
    }

    public static class Attributes
    {
        /// <summary>How an operation ended (span and metric attribute); see <see cref="Outcomes"/>.</summary>
        public const string Outcome = "bff.outcome";

        /// <summary>OpenTelemetry's standard attribute for the kind of failure; the gateway puts its stable error code here.</summary>
        public const string ErrorType = "error.type";

        /// <summary>A session's one-way hash (<see cref="Sessions.SessionKey.LogId"/>), never its key.</summary>
        public const string SessionId = "bff.session.id";

        public const string SessionEndReason = "bff.session.end_reason";
        public const string SessionStoreOperation = "bff.session_store.operation";
        public const string SessionStoreKind = "bff.session_store.kind";

        /// <summary>Which gateway endpoint or proxy route refused a request without the CSRF header.</summary>
        public const string Endpoint = "bff.endpoint";

        /// <summary>The YARP route id of a proxied request.</summary>
        public const string Route = "bff.route";

        public const string SessionsRemoved = "bff.sessions.removed";
    }

    /// <summary>Values of <see cref="Attributes.Outcome"/>. Failures also carry <see cref="Attributes.ErrorType"/>.</summary>
    public static class Outcomes
    {
        public const string Success = "success";

        /// <summary>The request failed; <see cref="Attributes.ErrorType"/> says how.</summary>
        public const string Failure = "failure";

        // Session store calls
        public const string Found = "found";
        public const string NotFound = "not_found";
        public const string Unavailable = "unavailable";

        // Sign-in callback
        public const string Restarted = "restarted";
        public const string AlreadySignedIn = "already_signed_in";

        // Token refresh
        /// <summary>The provider issued new tokens.</summary>
        public const string Refreshed = "refreshed";

        /// <summary>Another request refreshed the same session meanwhile; its tokens were used.</summary>
        public const string Joined = "joined";

        /// <summary>The provider refused the refresh token (invalid_grant): the session ends.</summary>
        public const string Rejected = "rejected";

        /// <summary>The session has no refresh token.</summary>
        public const string NoRefreshToken = "no_refresh_token";

        /// <summary>The provider could not be reached or answered with an error; try again later.</summary>
        public const string ProviderUnavailable = "provider_unavailable";

        // Back-channel logout
        /// <summary>The logout token was invalid (signature, audience, events claim, …).</summary>
        public const string InvalidToken = "invalid_token";
    }

    /// <summary>Values of <see cref="Attributes.SessionEndReason"/>.</summary>
    public static class SessionEndReasons
    {
        public const string Logout = "logout";
        public const string Expired = "expired";
        public const string Backchannel = "backchannel";

        /// <summary>The provider refused to refresh the session's tokens.</summary>
        public const string RefreshRejected = "refresh_rejected";
    }

    /// <summary>Values of <see cref="Attributes.SessionStoreOperation"/>.</summary>
    public static class SessionStoreOperations
    {
        public const string Find = "find";
        public const string Create = "create";
        public const string Replace = "replace";
        public const string Remove = "remove";
        public const string RemoveByProviderSession = "remove_by_provider_session";
    }
}
