namespace Bff.Admin;

/// <summary>The admin API's log lines (event ids 7001-7006). The caller is named by the client id or subject its token carries, never by the token.</summary>
internal static partial class AdminLog
{
    [LoggerMessage(7001, LogLevel.Information, "Admin {Caller}: {Action} for subject {SubjectHash} ({Count} session(s)).")]
    public static partial void Acted(ILogger logger, string caller, string action, string subjectHash, int count);

    [LoggerMessage(7002, LogLevel.Warning, "Admin {Caller}: ended every session of every user ({Count} session(s)).")]
    public static partial void EndedEverySession(ILogger logger, string caller, int count);

    [LoggerMessage(7003, LogLevel.Warning, "Admin API call refused ({Error}): {Reason}; caller {Caller}.")]
    public static partial void Refused(ILogger logger, string error, string reason, string caller);

    [LoggerMessage(7004, LogLevel.Warning, "Admin {Caller}: {Action} failed, the session store is unavailable.")]
    public static partial void StoreUnavailable(ILogger logger, string caller, string action);

    [LoggerMessage(7005, LogLevel.Information, "The admin API answers on port {Port} only.")]
    public static partial void Listening(ILogger logger, int port);

    [LoggerMessage(7006, LogLevel.Error, "Bff:Admin:Enabled is true, but the host does not listen on Bff:Admin:Port ({Port}); it listens on {Addresses}. Add the port to the host's listeners (for example ASPNETCORE_HTTP_PORTS=8080;{Port}).")]
    public static partial void PortNotListened(ILogger logger, int port, string addresses);
}
