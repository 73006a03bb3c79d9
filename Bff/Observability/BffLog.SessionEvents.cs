namespace Bff.Observability;

/// <summary>The session event stream (<c>GET /bff/events</c>) and its notices: event ids 7100–7199.</summary>
internal static partial class BffLog
{
    [LoggerMessage(7100, LogLevel.Debug, "Event stream opened for session {SessionId}.")]
    public static partial void EventStreamOpened(ILogger logger, string sessionId);

    [LoggerMessage(7101, LogLevel.Debug, "Event stream of session {SessionId} closed: {Reason}.")]
    public static partial void EventStreamClosed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(7102, LogLevel.Information, "Refused {Count} event stream requests from other sites (Sec-Fetch-Site not same-origin) since the last such line (at most one a minute).")]
    public static partial void EventStreamCrossSiteRefused(ILogger logger, long count);

    [LoggerMessage(7103, LogLevel.Warning, "A session-ended notice ({Reason}) could not be sent to other replicas ({ExceptionType}); their event streams notice when they next read the session.")]
    public static partial void SessionEndedNoticeNotSent(ILogger logger, string reason, string exceptionType);
}
