namespace Bff.Observability;

// Step-up (a stronger or more recent sign-in for some calls): event ids 2150-2199 (sign-in side) and 6100-6149
// (calls refused or translated). Never a token nor a header value an API sent; acr values are class names such as
// "mfa", which say how the user signed in, not who they are.
internal static partial class BffLog
{
    [LoggerMessage(2150, LogLevel.Warning, "A sign-in that asked for {Required} got {Obtained}; no session was created or upgraded, the browser's session (if any) is kept, and the callback answered 403 step_up_failed.")]
    public static partial void StepUpSignInInsufficient(ILogger logger, string required, string obtained);

    [LoggerMessage(6100, LogLevel.Information, "Refused {Method} on {Endpoint}: the session's sign-in does not meet {Required} (asked by the {Source}); answered 401 step_up_required with a login URL.")]
    public static partial void StepUpRequired(ILogger logger, string method, string endpoint, string required, string source);

    [LoggerMessage(6101, LogLevel.Warning, "The API behind route {RouteId} answered 401 with an insufficient_user_authentication challenge the gateway cannot use ({Problem}); passed through as a plain 401.")]
    public static partial void UnusableStepUpChallenge(ILogger logger, string routeId, string problem);
}
