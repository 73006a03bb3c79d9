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

    [LoggerMessage(2007, LogLevel.Warning, "Logout for session {SessionId} refused: the request did not carry the session's id.")]
    public static partial void LogoutRejected(ILogger logger, string sessionId);

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
}
