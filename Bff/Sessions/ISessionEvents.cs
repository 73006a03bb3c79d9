namespace Bff.Sessions;

/// <summary>
/// Tells the pages of a session that it ended, on every replica (the <c>ended</c> event of <c>GET /bff/events</c>).
/// Call it after the store removed the session: the event is a notice, the store stays the truth, and a page that
/// missed one still finds its session gone when its stream next reads it. Never throws; a notice that cannot reach other
/// replicas (Redis down) is dropped, and their streams find out on their next read.
/// </summary>
internal interface ISessionEvents
{
    /// <summary>One session ended.</summary>
    /// <param name="sessionId">
    /// The session's store id, <see cref="SessionKey.Id"/> of its cookie value (what Redis keys and the per-user
    /// index hold; never the cookie value itself).
    /// </param>
    /// <param name="reason">Why, as the page will be told.</param>
    ValueTask PublishEndedAsync(string sessionId, SessionEndReason reason);

    /// <summary>
    /// Every session of a provider session (<paramref name="providerSessionId"/>) or, when that is null, of a subject,
    /// matched as <see cref="ISessionStore.RemoveByProviderSessionAsync"/> removes them (back-channel logout).
    /// </summary>
    ValueTask PublishEndedForUserAsync(string? subject, string? providerSessionId, SessionEndReason reason);

    /// <summary>
    /// Every session created before <paramref name="createdBefore"/> (break glass): one notice, whatever the number of
    /// sessions, that ends the streams of those sessions on every replica and leaves the streams of sessions signed in
    /// since then open.
    /// </summary>
    /// <param name="createdBefore">
    /// When ending them began, read before the store was emptied: every session created earlier was removed. Compared in
    /// whole milliseconds (the store's precision), strictly, so that a session of the same millisecond is never told it
    /// ended; such a stream finds its session gone at its next read instead. Other replicas compare it with creation
    /// times read from their own clocks: one whose clock lags could tell a session signed in there within that lag after
    /// the break glass began that it ended (a false alarm on the safe side: the session itself is kept).
    /// </param>
    ValueTask PublishEndedEveryAsync(DateTimeOffset createdBefore, SessionEndReason reason);
}

/// <summary>Why a session ended, as <c>GET /bff/events</c> tells the page (<see cref="SessionEndReasonNames.Name"/>).</summary>
internal enum SessionEndReason
{
    /// <summary>The reason is not known: the stream found its session gone without a notice (one lost while Redis was unreachable, or a newer sign-in in the same browser).</summary>
    Unknown,

    /// <summary><c>/bff/logout</c>, in this tab or another.</summary>
    Logout,

    /// <summary>The provider's back-channel logout.</summary>
    Backchannel,

    /// <summary>Ended by an administrator, or by the user from another device or session.</summary>
    Revoked,

    /// <summary>The refresh token can no longer be used.</summary>
    RefreshRejected,

    /// <summary>Past its idle or absolute timeout.</summary>
    Expired,
}

internal static class SessionEndReasonNames
{
    /// <summary>The reason's name on the wire (the event's <c>reason</c>, and the Redis message).</summary>
    public static string Name(SessionEndReason reason) => reason switch
    {
        SessionEndReason.Logout => "logout",
        SessionEndReason.Backchannel => "backchannel",
        SessionEndReason.Revoked => "revoked",
        SessionEndReason.RefreshRejected => "refresh_rejected",
        SessionEndReason.Expired => "expired",
        _ => "unknown",
    };

    public static SessionEndReason Parse(ReadOnlySpan<char> name) => name switch
    {
        "logout" => SessionEndReason.Logout,
        "backchannel" => SessionEndReason.Backchannel,
        "revoked" => SessionEndReason.Revoked,
        "refresh_rejected" => SessionEndReason.RefreshRejected,
        "expired" => SessionEndReason.Expired,
        _ => SessionEndReason.Unknown,
    };
}

/// <summary>
/// A session-ended notice as it travels between replicas: either one session (<see cref="SessionId"/>), or the sessions
/// of a subject or provider session (<see cref="SubjectHash"/>, <see cref="ProviderSessionHash"/>), or every session
/// created before a time (<see cref="CreatedBefore"/>, in Unix milliseconds). Only hashes: a notice carries no subject,
/// no provider session id and no cookie value.
/// </summary>
internal sealed record SessionEndedNotice(string? SessionId, string? SubjectHash, string? ProviderSessionHash, SessionEndReason Reason)
{
    /// <summary>Set for a notice about every session: those created before this Unix time in milliseconds.</summary>
    public long? CreatedBefore { get; init; }

    public static SessionEndedNotice ForSession(string sessionId, SessionEndReason reason) => new(sessionId, null, null, reason);

    public static SessionEndedNotice ForUser(string? subject, string? providerSessionId, SessionEndReason reason) =>
        new(null, subject is null ? null : SessionKey.Hash(subject), providerSessionId is null ? null : SessionKey.Hash(providerSessionId), reason);

    public static SessionEndedNotice ForEvery(DateTimeOffset createdBefore, SessionEndReason reason) =>
        new(null, null, null, reason) { CreatedBefore = createdBefore.ToUnixTimeMilliseconds() };
}

/// <summary>The configured store's <see cref="ISessionEvents"/>, chosen at the first call (see <see cref="InstrumentedSessionStore"/> for why).</summary>
internal sealed class ConfiguredSessionEvents(Func<ISessionEvents> select) : ISessionEvents
{
    private ISessionEvents? _selected;

    private ISessionEvents Selected => _selected ??= select();

    public ValueTask PublishEndedAsync(string sessionId, SessionEndReason reason) => Selected.PublishEndedAsync(sessionId, reason);

    public ValueTask PublishEndedForUserAsync(string? subject, string? providerSessionId, SessionEndReason reason) =>
        Selected.PublishEndedForUserAsync(subject, providerSessionId, reason);

    public ValueTask PublishEndedEveryAsync(DateTimeOffset createdBefore, SessionEndReason reason) =>
        Selected.PublishEndedEveryAsync(createdBefore, reason);
}

/// <summary>With in-memory sessions there is one replica: notices go straight to its streams.</summary>
internal sealed class InProcessSessionEvents(SessionEventHub hub) : ISessionEvents
{
    public ValueTask PublishEndedAsync(string sessionId, SessionEndReason reason)
    {
        hub.Deliver(SessionEndedNotice.ForSession(sessionId, reason));
        return ValueTask.CompletedTask;
    }

    public ValueTask PublishEndedForUserAsync(string? subject, string? providerSessionId, SessionEndReason reason)
    {
        if (subject is not null || providerSessionId is not null)
        {
            hub.Deliver(SessionEndedNotice.ForUser(subject, providerSessionId, reason));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask PublishEndedEveryAsync(DateTimeOffset createdBefore, SessionEndReason reason)
    {
        hub.Deliver(SessionEndedNotice.ForEvery(createdBefore, reason));
        return ValueTask.CompletedTask;
    }
}
