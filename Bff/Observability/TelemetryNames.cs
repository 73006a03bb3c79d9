using Bff.Configuration;
namespace Bff.Observability;

/// <summary>
/// Every name the gateway's telemetry uses: its ActivitySource and Meter, span names, instrument names and attribute
/// keys and values. Dashboards and alerts depend on these, so they change only deliberately.
/// Values are low-cardinality on purpose: no user, URL or token ever becomes an attribute value; sessions appear only
/// as <c>SessionKey.LogId</c> hashes.
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
        public const string RefreshesUnsaved = "bff.token.refresh.unsaved";
        public const string CsrfRejections = "bff.csrf.rejections";
        public const string ProxyErrors = "bff.proxy.errors";
        public const string SessionStoreDuration = "bff.session_store.operation.duration";
        public const string BackchannelLogouts = "bff.backchannel_logouts";
        public const string SignInRateLimited = "bff.sign_in.rate_limited";
        public const string RejectedSessionCookies = "bff.sessions.rejected_cookies";
        public const string SessionCapEvictions = "bff.sessions.cap_evictions";
        public const string SessionCapRefusals = "bff.sessions.cap_refusals";
        public const string AdminActions = "bff.admin.actions";
        public const string AuthorizationRefusals = "bff.authorization.refusals";
        public const string StepUpRequired = "bff.step_up.required";
        public const string EventStreams = "bff.events.streams";
        public const string ClientCertificateTimeLeft = "bff.client_auth.certificate.time_left";
        public const string EventsSent = "bff.events.sent";
    }

    public static class Attributes
    {
        /// <summary>How an operation ended (span and metric attribute); see <see cref="Outcomes"/>.</summary>
        public const string Outcome = "bff.outcome";

        /// <summary>OpenTelemetry's standard attribute for the kind of failure; the gateway puts its stable error code here.</summary>
        public const string ErrorType = "error.type";

        /// <summary>A session's one-way hash (<c>SessionKey.LogId</c>), never its key.</summary>
        public const string SessionId = "bff.session.id";

        public const string SessionEndReason = "bff.session.end_reason";

        /// <summary>Which event a session's event stream sent: <c>expiring</c>, <c>extended</c> or <c>ended</c>.</summary>
        public const string Event = "bff.event";
        public const string SessionStoreOperation = "bff.session_store.operation";
        public const string SessionStoreKind = "bff.session_store.kind";

        /// <summary>Which gateway endpoint or proxy route refused a request without the CSRF header.</summary>
        public const string Endpoint = "bff.endpoint";

        /// <summary>The YARP route id of a proxied request.</summary>
        public const string Route = "bff.route";

        /// <summary>How many sessions a back-channel logout ended (span attribute).</summary>
        public const string SessionsRemoved = "bff.sessions.removed";

        /// <summary>Which token a <see cref="Spans.Refresh"/> flight obtained; see <see cref="TokenGrants"/>.</summary>
        public const string TokenGrant = "bff.token.grant";

        /// <summary>Why a session cookie named no session; see <see cref="RejectedCookieKinds"/>.</summary>
        public const string RejectedCookieKind = "bff.session.cookie_rejection";

        /// <summary>Which session cap acted; see <see cref="SessionCaps"/>.</summary>
        public const string SessionCap = "bff.session.cap";

        /// <summary>The admin API operation: one of <see cref="AdminActions"/>.</summary>
        public const string AdminAction = "bff.admin.action";

        /// <summary>What asked for a step-up; see <see cref="StepUpSources"/>.</summary>
        public const string StepUpSource = "bff.step_up.source";
    }

    /// <summary>Values of <see cref="Attributes.StepUpSource"/>.</summary>
    public static class StepUpSources
    {
        /// <summary>The route's <c>Bff.Acr</c> / <c>Bff.MaxAge</c>, or a local endpoint's <c>RequireStepUp</c>.</summary>
        public const string Endpoint = "endpoint";

        /// <summary>The API answered with an RFC 9470 <c>insufficient_user_authentication</c> challenge.</summary>
        public const string Upstream = "upstream";
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

        /// <summary>A create refused by the in-memory store's cap (Bff:Session:MaxInMemorySessions).</summary>
        public const string Full = "full";

        // Sign-in callback
        public const string Restarted = "restarted";
        public const string AlreadySignedIn = "already_signed_in";

        /// <summary>A <c>prompt=none</c> sign-in the provider answered "interaction required": back to the SPA, no session.</summary>
        public const string NoProviderSession = "no_provider_session";

        // Token refresh: one value per flight (requests that wait for a flight are not counted), see RefreshErrors
        // for the error.type of the failed ones. A flight that found its session gone records NotFound.

        /// <summary>The provider issued new tokens (and they were saved).</summary>
        public const string Refreshed = "refreshed";

        /// <summary>
        /// The flight found the tokens already renewed, by another replica (or by a flight of this replica that had
        /// just finished), and used them without calling the provider.
        /// </summary>
        public const string RefreshedElsewhere = "refreshed_elsewhere";

        /// <summary>
        /// Another replica holds the session's refresh lock and the access token has not expired: it was used without
        /// waiting for that replica.
        /// </summary>
        public const string LockedElsewhere = "locked_elsewhere";

        /// <summary>The refresh token can no longer be used (see <see cref="RefreshErrors"/>): the session ends.</summary>
        public const string Rejected = "rejected";

        /// <summary>The session has no refresh token: its access token is used until it expires, then the session ends.</summary>
        public const string NoRefreshToken = "no_refresh_token";

        /// <summary>The provider could not be reached, timed out or refused the client; the session is kept, try again later.</summary>
        public const string ProviderUnavailable = "provider_unavailable";

        /// <summary>The session store failed while the flight read the session or saved the new tokens.</summary>
        public const string StoreUnavailable = "store_unavailable";

        // Back-channel logout
        /// <summary>The logout token was invalid (signature, audience, events claim, …).</summary>
        public const string InvalidToken = "invalid_token";
    }

    /// <summary>Values of <see cref="Attributes.SessionEndReason"/>.</summary>
    public static class SessionEndReasons
    {
        public const string Logout = "logout";

        /// <summary>Past its idle or absolute timeout, or its access token expired with no refresh token to renew it.</summary>
        public const string Expired = "expired";

        public const string Backchannel = "backchannel";

        /// <summary>
        /// Its refresh token can no longer be used: the provider refused it (invalid_grant), the refreshed ID token was
        /// refused (another user, or not validated), or a refresh spent it and its successor could not be saved.
        /// </summary>
        public const string RefreshRejected = "refresh_rejected";

        /// <summary>A newer sign-in of the same user went over Bff:Session:MaxPerSubject and this was the oldest session.</summary>
        public const string CapEvicted = "cap_evicted";

        /// <summary>Ended by its user from another session ("sign out my other devices").</summary>
        public const string Revoked = "revoked";

        /// <summary>Ended through the admin API, one session or all of a user's.</summary>
        public const string AdminRevoked = "admin_revoked";

        /// <summary>Ended through the admin API's "end every session".</summary>
        public const string BreakGlass = "break_glass";
    }

    /// <summary>Values of <see cref="Attributes.TokenGrant"/> (the OAuth grant types of the token-endpoint calls).</summary>
    public static class TokenGrants
    {
        /// <summary>A user session's refresh.</summary>
        public const string RefreshToken = "refresh_token";

        /// <summary>The gateway's own token for <c>Bff.Token: Client</c> routes.</summary>
        public const string ClientCredentials = "client_credentials";
    }

    /// <summary>Values of <see cref="Attributes.ErrorType"/> on a failed <see cref="Spans.Refresh"/> flight.</summary>
    public static class RefreshErrors
    {
        // Outcome rejected
        public const string InvalidGrant = "invalid_grant";
        public const string IdTokenMismatch = "id_token_mismatch";

        /// <summary>Bff:Claims:RefreshUserInfo: userinfo read with the refreshed access token named another subject.</summary>
        public const string UserInfoMismatch = "userinfo_mismatch";

        /// <summary>An earlier refresh spent the refresh token but could not save its successor.</summary>
        public const string RefreshTokenSpent = "refresh_token_spent";

        /// <summary>
        /// The refreshed ID token did not validate as at sign-in (signature, algorithm, iss, aud, exp, iat); a valid one
        /// naming another user or sign-in (sub, iss, auth_time) is <see cref="IdTokenMismatch"/>.
        /// </summary>
        public const string IdTokenInvalid = "id_token_invalid";

        // Outcome provider_unavailable
        /// <summary>Unreachable, 5xx, timed out, or within the cool-down after such a failure.</summary>
        public const string Unavailable = "unavailable";

        /// <summary>An OAuth error other than invalid_grant (the client or scope is misconfigured).</summary>
        public const string Refused = "refused";

        /// <summary>The whole flight (lock, store, provider) did not finish within its time budget.</summary>
        public const string Timeout = "timeout";

        // Outcome store_unavailable
        public const string ReadFailed = "read_failed";
        public const string SaveFailed = "save_failed";

        // Outcome provider_unavailable
        /// <summary>The provider refused the gateway's client credentials (invalid_client, unauthorized_client), or the back-off that follows.</summary>
        public const string ClientRejected = "client_rejected";
    }

    /// <summary>Values of <see cref="Attributes.AdminAction"/>.</summary>
    public static class AdminActions
    {
        public const string ListSessions = "list_sessions";
        public const string EndSession = "end_session";
        public const string EndUserSessions = "end_user_sessions";
        public const string EndEverySession = "end_every_session";

        /// <summary>A request that named no operation (unknown path or method).</summary>
        public const string Unknown = "unknown";
    }

    /// <summary>Values of <see cref="Attributes.SessionStoreOperation"/>.</summary>
    public static class SessionStoreOperations
    {
        public const string Find = "find";
        public const string Create = "create";
        public const string Replace = "replace";
        public const string Remove = "remove";
        public const string RemoveByProviderSession = "remove_by_provider_session";
        public const string EndOldestOfSubject = "end_oldest_of_subject";
        public const string ListOfSubject = "list_of_subject";
        public const string EndOfSubject = "end_of_subject";
        public const string EndAll = "end_all";
    }

    /// <summary>Values of <see cref="Attributes.RejectedCookieKind"/>.</summary>
    public static class RejectedCookieKinds
    {
        /// <summary>Well-formed, but no session has that key (expired, logged out, or guessed).</summary>
        public const string Unknown = "unknown";

        /// <summary>Not a session key at all (wrong length or alphabet).</summary>
        public const string Malformed = "malformed";
    }

    /// <summary>Values of <see cref="Attributes.SessionCap"/>.</summary>
    public static class SessionCaps
    {
        /// <summary><c>Bff:Session:MaxPerSubject</c>: one user's sessions.</summary>
        public const string PerSubject = "per_subject";

        /// <summary><c>Bff:Session:MaxInMemorySessions</c>: every session the in-memory store holds.</summary>
        public const string InMemoryTotal = "in_memory_total";
    }
}
