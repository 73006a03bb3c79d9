namespace Bff.Observability;

// Step-up (a stronger or more recent sign-in for some calls): event ids 2150-2199 (sign-in side) and 6100-6149
// (calls refused or translated). Never a token nor a header value an API sent; acr values are class names such as
// "mfa", which say how the user signed in, not who they are.
internal static partial class BffLog
{
    [LoggerMessage(2150, LogLevel.Warning, "A sign-in that asked for {Required} got {Obtained}; no session was created or upgraded, the browser's session (if any) is kept, and the callback answered 403 step_up_failed.")]
    public static partial void StepUpSignInInsufficient(ILogger logger, string required, string obtained);

    // Bff:Claims:RefreshUserInfo (issue 18), in this helper's range.
    [LoggerMessage(2160, LogLevel.Information, "Session {SessionId}: claims re-read from userinfo after a refresh ({Count} claims).")]
    public static partial void UserInfoReread(ILogger logger, string sessionId, int count);

    [LoggerMessage(2161, LogLevel.Warning, "Session {SessionId}: userinfo could not be read after a refresh ({Problem}); the session keeps its claims.")]
    public static partial void UserInfoRereadFailed(ILogger logger, string sessionId, string problem);

    [LoggerMessage(2162, LogLevel.Error, "Session {SessionId}: userinfo read with the refreshed access token names another subject; the refreshed tokens are not used and the session ends.")]
    public static partial void UserInfoSubjectMismatch(ILogger logger, string sessionId);

    [LoggerMessage(6100, LogLevel.Information, "Refused {Method} on {Endpoint}: the session's sign-in does not meet {Required} (asked by the {Source}); answered 401 step_up_required with a login URL.")]
    public static partial void StepUpRequired(ILogger logger, string method, string endpoint, string required, string source);

    [LoggerMessage(6101, LogLevel.Warning, "The API behind route {RouteId} answered 401 with an insufficient_user_authentication challenge the gateway cannot use ({Problem}); passed through as a plain 401.")]
    public static partial void UnusableStepUpChallenge(ILogger logger, string routeId, string problem);
}
