namespace Bff.Errors;

/// <summary>
/// A failure the gateway reports to its caller: a stable machine-readable code, the HTTP status and a human title.
/// The code is the contract: SPAs switch on it, so it never changes once shipped. A temporary failure also says
/// when to try again (<see cref="RetryAfter"/>), so that every place answering it sends the same <c>Retry-After</c>.
/// </summary>
internal sealed record BffError(string Code, int Status, string Title)
{
    public static readonly BffError Unauthenticated = new("unauthenticated", StatusCodes.Status401Unauthorized, "Sign-in required.");
    public static readonly BffError CsrfHeaderMissing = new("csrf_header_missing", StatusCodes.Status401Unauthorized, "The request must carry the header 'X-CSRF: 1'.");
    public static readonly BffError SessionExpired = new("session_expired", StatusCodes.Status401Unauthorized, "The session has ended; sign in again.");
    public static readonly BffError Forbidden = new("forbidden", StatusCodes.Status403Forbidden, "Access denied.");
    public static readonly BffError InvalidReturnUrl = new("invalid_return_url", StatusCodes.Status400BadRequest, "The returnUrl must be a local path such as '/account'.");
    public static readonly BffError InvalidLogoutRequest = new("invalid_logout_request", StatusCodes.Status400BadRequest, "The logout request does not carry this session's id.");
    public static readonly BffError LoginFailed = new("login_failed", StatusCodes.Status400BadRequest, "Sign-in did not complete.");
    public static readonly BffError LoginDenied = new("login_denied", StatusCodes.Status400BadRequest, "The provider did not grant sign-in.");
    public static readonly BffError LoginExpired = new("login_expired", StatusCodes.Status400BadRequest, "The sign-in attempt expired or was already used; start again.");
    public static readonly BffError ProviderUnavailable = new("provider_unavailable", StatusCodes.Status503ServiceUnavailable, "The identity provider cannot be reached right now.") { RetryAfter = TimeSpan.FromSeconds(5) };
    public static readonly BffError ProviderMisconfigured = new("provider_misconfigured", StatusCodes.Status502BadGateway, "The identity provider's metadata does not match the configured authority.");
    public static readonly BffError SessionStoreUnavailable = new("session_store_unavailable", StatusCodes.Status503ServiceUnavailable, "Sessions are temporarily unavailable.") { RetryAfter = TimeSpan.FromSeconds(5) };
    public static readonly BffError TokenRefreshUnavailable = new("token_refresh_unavailable", StatusCodes.Status503ServiceUnavailable, "The access token could not be renewed right now.") { RetryAfter = TimeSpan.FromSeconds(5) };
    public static readonly BffError OriginMismatch = new("origin_mismatch", StatusCodes.Status403Forbidden, "The request's Origin is not this gateway.");
    public static readonly BffError AmbiguousPath = new("ambiguous_path", StatusCodes.Status400BadRequest, "The path contains encoded separators or dot segments.");
    public static readonly BffError UpstreamUnreachable = new("upstream_unreachable", StatusCodes.Status502BadGateway, "The API could not be reached.");
    public static readonly BffError DPoPUnavailable = new("dpop_unavailable", StatusCodes.Status502BadGateway, "The API needs a proof-of-possession token the gateway cannot provide.");
    public static readonly BffError UpstreamTimeout = new("upstream_timeout", StatusCodes.Status504GatewayTimeout, "The API did not answer in time.");
    public static readonly BffError NotFound = new("not_found", StatusCodes.Status404NotFound, "Not found.");
    public static readonly BffError MethodNotAllowed = new("method_not_allowed", StatusCodes.Status405MethodNotAllowed, "Method not allowed.");
    public static readonly BffError InvalidLogoutToken = new("invalid_logout_token", StatusCodes.Status400BadRequest, "The logout token is not valid.");
    public static readonly BffError RequestTooLarge = new("request_too_large", StatusCodes.Status413PayloadTooLarge, "The request body is too large.");
    public static readonly BffError InternalError = new("internal_error", StatusCodes.Status500InternalServerError, "The gateway failed to handle the request.");
    public static readonly BffError TooManyRequests = new("too_many_requests", StatusCodes.Status429TooManyRequests, "Too many sign-in attempts from this address; try again later.");
    public static readonly BffError InvalidHost = new("invalid_host", StatusCodes.Status400BadRequest, "The request's Host is not this gateway's public origin.");
    public static readonly BffError SessionCapacityReached = new("session_capacity_reached", StatusCodes.Status503ServiceUnavailable, "The gateway holds as many sessions as it may; try again later.") { RetryAfter = TimeSpan.FromSeconds(60) };
    public static readonly BffError SessionNotFound = new("session_not_found", StatusCodes.Status404NotFound, "No session of yours has this handle.");
    public static readonly BffError CurrentSession = new("current_session", StatusCodes.Status409Conflict, "This is the session of this request; end it with the logout URL.");
    public static readonly BffError AdminUnauthenticated = new("admin_unauthenticated", StatusCodes.Status401Unauthorized, "The admin API needs a valid bearer token from the identity provider.");
    public static readonly BffError AdminForbidden = new("admin_forbidden", StatusCodes.Status403Forbidden, "The token does not carry the role or scope the admin API requires.");
    public static readonly BffError InvalidAdminRequest = new("invalid_admin_request", StatusCodes.Status400BadRequest, "The admin request is malformed.");
    public static readonly BffError ConfirmationRequired = new("confirmation_required", StatusCodes.Status400BadRequest, "Ending every session needs the parameter confirm=end-every-session.");
    public static readonly BffError InvalidParameter = new("invalid_parameter", StatusCodes.Status400BadRequest, "A query parameter has a value this endpoint does not accept.");
    public static readonly BffError CrossSiteRequest = new("cross_site_request", StatusCodes.Status403Forbidden, "The request came from another site (Sec-Fetch-Site).");
    public static readonly BffError InvalidLoginParameter = new("invalid_login_parameter", StatusCodes.Status400BadRequest, "A sign-in option is malformed or not supported by the identity provider.");

    public static readonly BffError StepUpRequired = new("step_up_required", StatusCodes.Status401Unauthorized, "This call needs a stronger or more recent sign-in.");
    public static readonly BffError StepUpFailed = new("step_up_failed", StatusCodes.Status403Forbidden, "The identity provider did not authenticate the user as strongly or as recently as the sign-in asked.");

    public string Type => "urn:bff:error:" + Code;

    /// <summary>
    /// The <c>Retry-After</c> answered with this error when the failure itself gives none (a provider's own
    /// <c>Retry-After</c>, a rate limiter's window); null for errors that retrying soon cannot fix.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }
}
