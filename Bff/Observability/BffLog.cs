namespace Bff.Observability;

/// <summary>
/// The gateway's log catalogue. Fixed event ids, grouped by feature (1xxx sessions, 2xxx sign-in/out, 3xxx tokens,
/// 4xxx proxy, 5xxx infrastructure). No message takes a token, code, verifier, secret or cookie value: sessions and
/// subjects appear only as hashes.
/// </summary>
internal static partial class BffLog
{
    // Sessions
    [LoggerMessage(1001, LogLevel.Information, "Session {SessionId} created for subject {SubjectHash}.")]
    public static partial void SessionCreated(ILogger logger, string sessionId, string subjectHash);

    [LoggerMessage(1002, LogLevel.Information, "Session {SessionId} ended ({Reason}).")]
    public static partial void SessionEnded(ILogger logger, string sessionId, string reason);

    [LoggerMessage(1003, LogLevel.Debug, "Session {SessionId} expired.")]
    public static partial void SessionExpired(ILogger logger, string sessionId);

    [LoggerMessage(1004, LogLevel.Information, "A request carried session cookie {SessionId}, which names no session (expired, logged out or forged).")]
    public static partial void UnknownSession(ILogger logger, string sessionId);

    [LoggerMessage(1005, LogLevel.Warning, "A request carried a malformed session cookie; it is treated as anonymous.")]
    public static partial void MalformedSessionCookie(ILogger logger);

    [LoggerMessage(1006, LogLevel.Debug, "Removed {Count} expired sessions.")]
    public static partial void ExpiredSessionsRemoved(ILogger logger, int count);

    // 1004 and 1005 are no longer written per request (sending forged cookies must not buy one log line per request): 1007 sums them up.
    [LoggerMessage(1007, LogLevel.Warning, "{Unknown} unknown and {Malformed} malformed session cookies in the last {Seconds} s (treated as anonymous; counted in bff.sessions.rejected_cookies).")]
    public static partial void RejectedSessionCookies(ILogger logger, long unknown, long malformed, int seconds);

    [LoggerMessage(1008, LogLevel.Warning, "Subject {SubjectHash} reached Bff:Session:MaxPerSubject ({Limit}): ended its {Count} oldest session(s) to admit a new sign-in.")]
    public static partial void SessionCapEvicted(ILogger logger, string subjectHash, int limit, int count);

    [LoggerMessage(1009, LogLevel.Warning, "The in-memory store holds Bff:Session:MaxInMemorySessions ({Limit}) sessions: refused {Refused} sign-in(s) with 503 since the previous such line (the latest for subject {SubjectHash}); at most one such line a minute.")]
    public static partial void SessionCapRefused(ILogger logger, int limit, long refused, string subjectHash);

    [LoggerMessage(1050, LogLevel.Warning, "The session store (Redis) failed to {Operation} ({ExceptionType}); the request is answered as unavailable.")]
    public static partial void SessionStoreFailed(ILogger logger, string operation, string exceptionType);

    [LoggerMessage(1051, LogLevel.Warning, "Session {SessionId}'s stored payload cannot be decrypted (the Data Protection key ring was lost or replaced); it is treated as no session.")]
    public static partial void SessionPayloadUnreadable(ILogger logger, string sessionId);

    [LoggerMessage(1052, LogLevel.Debug, "A write of session {SessionId} carrying token version {TokenVersion} was skipped: the store already holds newer tokens.")]
    public static partial void StaleSessionWriteSkipped(ILogger logger, string sessionId, long tokenVersion);

    [LoggerMessage(1053, LogLevel.Warning, "The session cache is bypassed: {Reason}. Every request reads Redis until invalidation messages arrive again.")]
    public static partial void SessionCacheBypassed(ILogger logger, string reason);

    [LoggerMessage(1054, LogLevel.Information, "The session cache is in use: invalidation messages from the other replicas arrive.")]
    public static partial void SessionCacheEnabled(ILogger logger);

    [LoggerMessage(1055, LogLevel.Information, "Session {SessionId}, whose removal failed while Redis was unreachable, is now removed.")]
    public static partial void PendingSessionRemovalCompleted(ILogger logger, string sessionId);

    [LoggerMessage(1056, LogLevel.Warning, "The refresh lock of session {SessionId} is left to expire: the session's spent refresh token is still in Redis until its pending removal runs.")]
    public static partial void RefreshLockKept(ILogger logger, string sessionId);

    // Sign-in and sign-out
    [LoggerMessage(2001, LogLevel.Warning, "Sign-in failed: {Reason}")]
    public static partial void LoginFailed(ILogger logger, string reason);

    [LoggerMessage(2002, LogLevel.Information, "The provider refused sign-in with error '{ProviderError}'.")]
    public static partial void LoginRejectedByProvider(ILogger logger, string providerError);

    [LoggerMessage(2003, LogLevel.Warning, "Sign-in could not create a session: the session store is unavailable.")]
    public static partial void LoginStoreUnavailable(ILogger logger);

    [LoggerMessage(2004, LogLevel.Information, "A stale sign-in callback arrived for a signed-in user; sent on to the return URL.")]
    public static partial void StaleCallbackSignedIn(ILogger logger);

    [LoggerMessage(2005, LogLevel.Information, "A sign-in callback arrived without its correlation data; sign-in restarts.")]
    public static partial void StaleCallbackRestarted(ILogger logger);

    [LoggerMessage(2006, LogLevel.Warning, "Rejected an ID token from issuer '{Issuer}', which is not the configured authority.")]
    public static partial void IdTokenIssuerRejected(ILogger logger, string issuer);

    [LoggerMessage(2008, LogLevel.Warning, "Rejected an ID token signed with algorithm '{Algorithm}'.")]
    public static partial void IdTokenAlgorithmRejected(ILogger logger, string algorithm);

    [LoggerMessage(2007, LogLevel.Warning, "Logout for session {SessionId} refused: the request did not carry the session's id.")]
    public static partial void LogoutRejected(ILogger logger, string sessionId);

    [LoggerMessage(2012, LogLevel.Information, "An ID token named an unknown signing key; fetched the provider's key set again ({KeyCount} keys).")]
    public static partial void SigningKeysRefetched(ILogger logger, int keyCount);

    [LoggerMessage(2013, LogLevel.Warning, "Fetching the provider's key set again failed ({ExceptionType}).")]
    public static partial void SigningKeysRefetchFailed(ILogger logger, string exceptionType);

    [LoggerMessage(2020, LogLevel.Warning, "Refused {Count} sign-in start(s) and callback(s) of clients over the rate limit since the previous such line (at most one a minute).")]
    public static partial void SignInRateLimited(ILogger logger, long count);

    [LoggerMessage(2021, LogLevel.Warning, "A sign-in callback presented a state that was already used; refused without calling the provider.")]
    public static partial void SignInStateReplayed(ILogger logger);

    [LoggerMessage(2022, LogLevel.Information, "A sign-in callback arrived after its attempt expired; sign-in restarts.")]
    public static partial void SignInAttemptExpired(ILogger logger);

    [LoggerMessage(2030, LogLevel.Warning, "The provider refused the resources this sign-in named ({Resources}) with 'invalid_target': register them for the client at the provider, or set Bff:Tokens:RequestResourcesAtSignIn to false (routes with these Bff.Resource values then need the provider to grant them at refresh without it).")]
    public static partial void SignInResourcesRefused(ILogger logger, string resources);

    [LoggerMessage(2031, LogLevel.Warning, "The provider refused the pushed authorization request naming resources ({Resources}): HTTP {StatusCode}, error '{ProviderError}'. If it refuses the resources, register them for the client at the provider, or set Bff:Tokens:RequestResourcesAtSignIn to false.")]
    public static partial void PushedAuthorizationRefused(ILogger logger, int statusCode, string providerError, string resources);

    [LoggerMessage(2010, LogLevel.Error, "The provider's metadata is unavailable ({ExceptionType}: {Reason}).")]
    public static partial void ProviderMetadataUnavailable(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(2011, LogLevel.Error, "The provider's metadata names issuer '{Issuer}', but Bff:Authority is '{Authority}'; refusing to sign in against it.")]
    public static partial void ProviderIssuerMismatch(ILogger logger, string? issuer, string authority);

    [LoggerMessage(2050, LogLevel.Information, "Back-channel logout ended {Count} session(s) (provider session {ProviderSessionHash}, subject {SubjectHash}).")]
    public static partial void BackchannelLogoutCompleted(ILogger logger, int count, string providerSessionHash, string subjectHash);

    [LoggerMessage(2051, LogLevel.Warning, "Back-channel logout refused: {Reason}.")]
    public static partial void BackchannelLogoutRejected(ILogger logger, string reason);

    [LoggerMessage(2052, LogLevel.Warning, "Back-channel logout could not be performed: {Reason}.")]
    public static partial void BackchannelLogoutFailed(ILogger logger, string reason);

    // Tokens
    [LoggerMessage(3001, LogLevel.Information, "Revoked the {TokenKind} of session {SessionId}.")]
    public static partial void TokenRevoked(ILogger logger, string sessionId, string tokenKind);

    [LoggerMessage(3002, LogLevel.Warning, "Token revocation for session {SessionId} failed ({ErrorType}, HTTP {StatusCode}); logout continues.")]
    public static partial void RevocationFailed(ILogger logger, string sessionId, string errorType, int statusCode);

    [LoggerMessage(3003, LogLevel.Information, "Token revocation for session {SessionId} skipped: {Reason}.")]
    public static partial void RevocationSkipped(ILogger logger, string sessionId, string reason);

    [LoggerMessage(3010, LogLevel.Information, "Refreshed the tokens of session {SessionId} (version {Version}, for {Target}).")]
    public static partial void TokensRefreshed(ILogger logger, string sessionId, long version, string target);

    [LoggerMessage(3011, LogLevel.Information, "The provider rejected the refresh token of session {SessionId} (invalid_grant).")]
    public static partial void RefreshRejected(ILogger logger, string sessionId);

    [LoggerMessage(3012, LogLevel.Warning, "Token request ({Grant}) failed: the provider is unavailable ({Reason}, HTTP {StatusCode}).")]
    public static partial void TokenEndpointUnavailable(ILogger logger, string grant, string reason, int statusCode);

    [LoggerMessage(3013, LogLevel.Error, "Token request ({Grant}) refused by the provider with error '{ProviderError}' (HTTP {StatusCode}); check the client's registration.")]
    public static partial void TokenEndpointRefused(ILogger logger, string grant, string providerError, int statusCode);

    [LoggerMessage(3014, LogLevel.Warning, "Token requests pause for {Seconds} s after the provider failed.")]
    public static partial void TokenCallsPaused(ILogger logger, int seconds);

    // 3015 (new tokens not saved, so the session was ended) became 3030 to 3032: the tokens are kept and saved later.

    [LoggerMessage(3016, LogLevel.Debug, "Session {SessionId} was refreshed by another request or replica; its tokens are used as they are.")]
    public static partial void RefreshedElsewhere(ILogger logger, string sessionId);

    [LoggerMessage(3018, LogLevel.Warning, "Early refresh of session {SessionId} failed; its access token is still valid and is used meanwhile.")]
    public static partial void RefreshDeferred(ILogger logger, string sessionId);

    [LoggerMessage(3019, LogLevel.Warning, "Refreshing session {SessionId} did not finish within its time budget.")]
    public static partial void RefreshTimedOut(ILogger logger, string sessionId);

    [LoggerMessage(3020, LogLevel.Warning, "Waited for another replica to refresh session {SessionId}, but its tokens did not change; trying again.")]
    public static partial void RefreshLockWaitExpired(ILogger logger, string sessionId);

    [LoggerMessage(3021, LogLevel.Information, "Obtained a client-credentials token for {Target}, valid for {Seconds} s.")]
    public static partial void ClientTokenObtained(ILogger logger, string target, int seconds);

    [LoggerMessage(3022, LogLevel.Error, "The provider refused the gateway's client credentials with error '{ProviderError}' (HTTP {StatusCode}, {Grant} grant). Token requests back off for every session and readiness reports not ready until one succeeds; check Bff:ClientId, Bff:ClientAuthentication (and Bff:ClientSecret with the secret methods) and the client's registration.")]
    public static partial void ClientCredentialsRejected(ILogger logger, string grant, string providerError, int statusCode);

    [LoggerMessage(3023, LogLevel.Information, "The provider's access tokens live {LifetimeSeconds} s: they are refreshed {WindowSeconds} s before they expire (half their lifetime) instead of Bff:Tokens:RefreshBeforeExpiry's {ConfiguredSeconds} s.")]
    public static partial void RefreshWindowShortened(ILogger logger, int lifetimeSeconds, double windowSeconds, double configuredSeconds);

    [LoggerMessage(3024, LogLevel.Debug, "Token request ({Grant}) still refused with error '{ProviderError}'; backing off {Seconds} s.")]
    public static partial void ClientCredentialsStillRejected(ILogger logger, string grant, string providerError, int seconds);

    [LoggerMessage(3025, LogLevel.Information, "The provider accepts the gateway's client credentials again.")]
    public static partial void ClientCredentialsAccepted(ILogger logger);

    [LoggerMessage(3026, LogLevel.Information, "The provider answered a refresh with HTTP {StatusCode} and error '{ProviderError}': the refresh token is no longer valid (RFC 6749 section 5.2).")]
    public static partial void RefreshTokenRefused(ILogger logger, int statusCode, string providerError);

    // 3017 (a refreshed ID token that named another user, a warning) became 3027, which covers every refused one.
    [LoggerMessage(3027, LogLevel.Error, "The refreshed ID token of session {SessionId} was refused ({Reason}): the provider's whole token response is discarded, nothing of it is forwarded, and the session ends.")]
    public static partial void RefreshedIdTokenRefused(ILogger logger, string sessionId, string reason);

    [LoggerMessage(3028, LogLevel.Debug, "Session {SessionId} waits for the refresh another replica holds the lock for.")]
    public static partial void RefreshWaiting(ILogger logger, string sessionId);

    [LoggerMessage(3029, LogLevel.Debug, "No word from the replica refreshing session {SessionId} within {Seconds} s: reading the session again.")]
    public static partial void RefreshWaitRechecked(ILogger logger, string sessionId, double seconds);

    [LoggerMessage(3030, LogLevel.Warning, "Session {SessionId} was refreshed but the session store could not save the new tokens: they are kept in memory under the refresh lock and saved as soon as the store answers; its calls get 503 meanwhile.")]
    public static partial void RefreshSaveDeferred(ILogger logger, string sessionId);

    [LoggerMessage(3031, LogLevel.Information, "The new tokens of session {SessionId} were saved after {Attempts} attempt(s).")]
    public static partial void RefreshSaveCompleted(ILogger logger, string sessionId, int attempts);

    [LoggerMessage(3032, LogLevel.Error, "The new tokens of session {SessionId} were dropped unsaved: {Reason}. Its stored refresh token is spent; the session ends at its next refresh.")]
    public static partial void RefreshedTokensDropped(ILogger logger, string sessionId, string reason);

    [LoggerMessage(3033, LogLevel.Debug, "Another replica is refreshing session {SessionId}; its access token has not expired and is used meanwhile.")]
    public static partial void RefreshLockedElsewhere(ILogger logger, string sessionId);

    // Proxy
    [LoggerMessage(4001, LogLevel.Information, "Refused {Method} on route {RouteId}: the request has no 'X-CSRF: 1' header ({Refusals} such refusals since the previous line; at most one line a minute).")]
    public static partial void CsrfHeaderMissing(ILogger logger, string method, string routeId, long refusals);

    [LoggerMessage(4002, LogLevel.Warning, "Refused a WebSocket upgrade on route {RouteId}: its Origin is not this gateway's ({Refusals} such refusals since the previous line; at most one line a minute).")]
    public static partial void UpgradeOriginRejected(ILogger logger, string routeId, long refusals);

    [LoggerMessage(4003, LogLevel.Warning, "Forwarding on route {RouteId} failed ({ForwarderError}: {ExceptionType}); answering {StatusCode}.")]
    public static partial void UpstreamFailed(ILogger logger, string routeId, string forwarderError, string exceptionType, int statusCode);

    [LoggerMessage(4004, LogLevel.Warning, "Refused a request on route {RouteId}: its path carries encoded separators or dot segments that the API could read differently.")]
    public static partial void AmbiguousPathRejected(ILogger logger, string routeId);

    [LoggerMessage(4005, LogLevel.Warning, "Dropped a Set-Cookie for the session cookie, a sign-in cookie or another name a browser would read as the gateway's (or a nameless or malformed one) from the API's response on route {RouteId}.")]
    public static partial void UpstreamSessionCookieDropped(ILogger logger, string routeId);

    [LoggerMessage(4006, LogLevel.Critical, "The proxy configuration is not usable: {Problem}")]
    public static partial void ProxyConfigurationRejected(ILogger logger, string problem);

    [LoggerMessage(4007, LogLevel.Debug, "Dropped {Count} Set-Cookie header(s) from the API's response on route {RouteId}: the route does not allow the API to set cookies (Bff.SetCookie).")]
    public static partial void UpstreamCookiesDropped(ILogger logger, string routeId, int count);

    [LoggerMessage(4008, LogLevel.Warning, "Dropped {Count} Set-Cookie header(s) from the API's response on route {RouteId}: more than {MaxPerResponse} cookies or a header over {MaxLength} characters.")]
    public static partial void UpstreamCookiesOverLimit(ILogger logger, string routeId, int count, int maxPerResponse, int maxLength);

    [LoggerMessage(4009, LogLevel.Warning, "Route {RouteId} attaches a token ({Token}) without the CSRF check (Bff.Csrf false, acknowledged by Bff.CsrfOff): a cross-site form can send requests on it with the user's session.")]
    public static partial void CsrfOffAcknowledged(ILogger logger, string routeId, string token);

    [LoggerMessage(4010, LogLevel.Warning, "Dropped a Clear-Site-Data header from the API's response on route {RouteId}: it could make the browser delete the gateway's cookies.")]
    public static partial void UpstreamClearSiteDataDropped(ILogger logger, string routeId);

    // Infrastructure
    [LoggerMessage(5001, LogLevel.Error, "Unhandled exception while serving {Method} {Path}.")]
    public static partial void UnhandledException(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(5050, LogLevel.Information, "Sessions are kept in Redis at {EndPoints} (key prefix '{KeyPrefix}'), shared by every replica, and so is the Data Protection key ring.")]
    public static partial void RedisSessionsInUse(ILogger logger, string endPoints, string keyPrefix);

    [LoggerMessage(5051, LogLevel.Information, "Connected to Redis at {EndPoints}.")]
    public static partial void RedisConnected(ILogger logger, string endPoints);

    [LoggerMessage(5052, LogLevel.Error, "Redis at {EndPoints} cannot be reached; the gateway starts anyway, answers signed-in requests with 503 and keeps reconnecting.")]
    public static partial void RedisNotConnectedAtStart(ILogger logger, string endPoints);

    [LoggerMessage(5053, LogLevel.Error, "Lost the Redis {ConnectionType} connection ({FailureType}); reconnecting.")]
    public static partial void RedisConnectionFailed(ILogger logger, string connectionType, string failureType);

    [LoggerMessage(5054, LogLevel.Information, "Redis {ConnectionType} connection restored.")]
    public static partial void RedisConnectionRestored(ILogger logger, string connectionType);

    [LoggerMessage(5002, LogLevel.Warning, "Sessions are kept in this process's memory: run a single replica, or set Bff:Session:Store=Redis to run several.")]
    public static partial void InMemorySessionsSingleReplica(ILogger logger);

    [LoggerMessage(5060, LogLevel.Information, "Refused {Count} requests for hosts that are not the configured Bff:PublicOrigin since the last such line (at most one a minute), the latest for '{Host}'.")]
    public static partial void HostRejected(ILogger logger, long count, string host);

    [LoggerMessage(5061, LogLevel.Warning, "Bff:ForwardedHeaders:KnownNetworks trusts {Network}, a very broad network: every client in it can set X-Forwarded-For/-Proto/-Host. List only the ingress controller's network.")]
    public static partial void ForwardedNetworkVeryBroad(ILogger logger, string network);

    [LoggerMessage(2060, LogLevel.Warning, "Refused a sign-in callback whose 'iss' {Problem} (RFC 9207 mix-up defence; the provider advertises the parameter: {Advertised}); its code was not redeemed.")]
    public static partial void AuthorizationResponseIssuerRejected(ILogger logger, string problem, bool advertised);

    // Authorization
    [LoggerMessage(6001, LogLevel.Information, "Refused {Method} on {Endpoint}: the signed-in user does not meet its authorization policy ({FailedRequirements}); answered 403 and nothing was forwarded.")]
    public static partial void AuthorizationRefused(ILogger logger, string method, string endpoint, string failedRequirements);

    [LoggerMessage(6002, LogLevel.Warning, "A group policy on {Endpoint} cannot be evaluated: the provider left this user's groups out of the ID token because there are too many (Entra ID groups overage, '_claim_names'), and the gateway does not look them up; refused with 403. Use app roles ('roles'), or have the provider emit only the application's groups.")]
    public static partial void GroupPolicyNotEvaluable(ILogger logger, string endpoint);
}
