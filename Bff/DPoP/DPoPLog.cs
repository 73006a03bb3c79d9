namespace Bff.DPoP;

/// <summary>
/// DPoP's log lines (event ids 8000–8099). Keys appear only as their public thumbprint; no private key, proof, nonce
/// or token is ever a parameter.
/// </summary>
internal static partial class DPoPLog
{
    [LoggerMessage(8001, LogLevel.Information, "DPoP key {Thumbprint} ({Algorithm}) is used for new tokens ({Source}).")]
    public static partial void KeyInUse(ILogger logger, string thumbprint, string algorithm, string source);

    [LoggerMessage(8002, LogLevel.Information, "Generated DPoP key {Thumbprint} ({Algorithm}); the previous key {Previous} stays usable for tokens bound to it.")]
    public static partial void KeyGenerated(ILogger logger, string thumbprint, string algorithm, string previous);

    [LoggerMessage(8003, LogLevel.Warning, "The DPoP key store could not be read ({ExceptionType}); {Consequence}.")]
    public static partial void KeyStoreUnavailable(ILogger logger, string exceptionType, string consequence);

    [LoggerMessage(8004, LogLevel.Warning, "A stored DPoP key could not be decrypted or read ({ExceptionType}); it is ignored (was the Data Protection key ring replaced?).")]
    public static partial void StoredKeyUnreadable(ILogger logger, string exceptionType);

    [LoggerMessage(8010, LogLevel.Debug, "The provider asked for a DPoP nonce at {Endpoint}; the request is sent once more with it.")]
    public static partial void TokenEndpointNonceRetry(ILogger logger, string endpoint);

    [LoggerMessage(8011, LogLevel.Warning, "The provider asked for a DPoP nonce at {Endpoint}, but the request carries a client assertion that cannot be renewed here; the failure is passed on (the nonce is kept for the next request).")]
    public static partial void TokenEndpointNonceNotRetried(ILogger logger, string endpoint);

    [LoggerMessage(8012, LogLevel.Warning, "Bff:DPoP is enabled, but the provider answered a proved sign-in with a token of type {TokenType}: it does not bind tokens (or not for this client), so they are used as bearer tokens. Logged once.")]
    public static partial void TokenNotBound(ILogger logger, string tokenType);

    [LoggerMessage(8020, LogLevel.Debug, "Route {RouteId}: the API asked for a DPoP nonce; the request is sent once more with it.")]
    public static partial void UpstreamNonceRetry(ILogger logger, string routeId);

    [LoggerMessage(8021, LogLevel.Information, "Route {RouteId}: the API asked for a DPoP nonce, but the request's body cannot be sent twice; its 401 is passed on (the nonce is kept for the next request).")]
    public static partial void UpstreamNonceNotRetried(ILogger logger, string routeId);

    [LoggerMessage(8022, LogLevel.Warning, "Route {RouteId}: the session's token is bound to DPoP key {Thumbprint}, which this replica does not know; the call is refused.")]
    public static partial void BoundKeyUnknown(ILogger logger, string routeId, string thumbprint);

    [LoggerMessage(8023, LogLevel.Warning, "Route {RouteId} requires DPoP (Bff.DPoP=Require), but the token is a bearer token; the call is refused.")]
    public static partial void BearerRefused(ILogger logger, string routeId);

    [LoggerMessage(8024, LogLevel.Debug, "The provider asked for a DPoP nonce at {Endpoint}; the request with the bound access token is sent once more with it.")]
    public static partial void ProviderNonceRetry(ILogger logger, string endpoint);

    [LoggerMessage(8025, LogLevel.Information, "The provider asked for a DPoP nonce at {Endpoint}, but the request's body cannot be sent twice; its 401 is passed on (the nonce is kept for the next request).")]
    public static partial void ProviderNonceNotRetried(ILogger logger, string endpoint);

    [LoggerMessage(8026, LogLevel.Warning, "The access token for the provider's userinfo endpoint is bound to DPoP key {Thumbprint}, which this replica does not know; userinfo is not read.")]
    public static partial void UserInfoKeyUnknown(ILogger logger, string thumbprint);
}
