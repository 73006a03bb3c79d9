using Bff.Provider;
namespace Bff.Sessions;

/// <summary>Where sessions live. Expected failures (the store is down) are results, not exceptions.</summary>
internal interface ISessionStore
{
    ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken);

    ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a session whole (sliding expiry, refreshed tokens). A session removed meanwhile is not revived.
    /// Tokens never move backwards: when the stored session's <see cref="TokenSet.Version"/> is newer than the
    /// given one (a sliding-expiry write based on a read from before a refresh), the stored tokens are kept, so a
    /// spent refresh token is never restored.
    /// </summary>
    ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken);

    ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Removes every session of a provider session (<paramref name="providerSessionId"/>) or, when that is null,
    /// of a subject. Used by back-channel logout.
    /// </summary>
    ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the oldest sessions (by creation) of <paramref name="newest"/>'s subject until it holds at most
    /// <paramref name="keep"/>, <paramref name="newest"/> (just created by a sign-in) included and never ended, removing
    /// them as <see cref="RemoveAsync"/> does (every replica forgets them at once). Sessions already expired do not count.
    /// </summary>
    ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken);

    /// <summary>
    /// The live sessions of <paramref name="subject"/>, oldest first, as a list of sessions shows them: never their
    /// tokens, and read without decrypting them. Sessions found gone or expired are dropped from the index on the way.
    /// </summary>
    ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken);

    /// <summary>
    /// Ends sessions of <paramref name="subject"/> (every replica forgets them at once, as after
    /// <see cref="RemoveAsync"/>): only the one whose <see cref="SessionKey.Id"/> id is <paramref name="onlyId"/> when
    /// that is given, never the one whose id is <paramref name="exceptId"/>. A session of another subject is never ended,
    /// whatever id is given. Returns the sessions ended, with their tokens when they could be read (to revoke).
    /// </summary>
    ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken);

    /// <summary>Ends every session of every user ("break glass"). Tokens are not read back: the count only.</summary>
    ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken);
}

/// <summary>One session in a list of a user's sessions: never a token, never the cookie value.</summary>
/// <param name="Id">The session's store id (<see cref="SessionKey.Id"/> of its cookie value); never shown to a browser.</param>
/// <param name="CreatedAt">When the user signed in.</param>
/// <param name="ExpiresAt">When it ends unless used again: the earlier of its idle and absolute limits.</param>
/// <param name="AbsoluteExpiresAt">When it ends however much it is used; null when the store does not know (a session written by an older version).</param>
/// <param name="Device">A coarse description of the browser that signed in ("Firefox on Windows"), or null.</param>
internal sealed record SessionSummary(string Id, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? AbsoluteExpiresAt, string? Device);

internal readonly record struct SubjectSessions(StoreOutcome Outcome, IReadOnlyList<SessionSummary> Sessions)
{
    public static SubjectSessions Unavailable => new(StoreOutcome.Unavailable, []);
}

internal enum StoreOutcome
{
    Ok,

    /// <summary>The session no longer exists (a replace found nothing to replace).</summary>
    NotFound,

    /// <summary>The store could not be reached in time.</summary>
    Unavailable,

    /// <summary>A create refused: the store holds as many sessions as it may (the in-memory store's cap).</summary>
    Full,
}

internal enum SessionLookupStatus
{
    /// <summary>The request carried no usable session cookie.</summary>
    NoCookie,
    Found,
    NotFound,
    Unavailable,
}

internal readonly record struct SessionLookup(SessionLookupStatus Status, UserSession? Session)
{
    public static readonly SessionLookup NoCookie = new(SessionLookupStatus.NoCookie, null);
    public static readonly SessionLookup NotFound = new(SessionLookupStatus.NotFound, null);
    public static readonly SessionLookup Unavailable = new(SessionLookupStatus.Unavailable, null);

    public static SessionLookup Found(UserSession session) => new(SessionLookupStatus.Found, session);
}

internal readonly record struct RemoveManyResult(StoreOutcome Outcome, int Removed);

/// <summary>Sessions a store ended.</summary>
internal readonly record struct EndedSessions(StoreOutcome Outcome, IReadOnlyList<EndedSession> Sessions)
{
    public static readonly EndedSessions None = new(StoreOutcome.Ok, []);
}

/// <summary>A session a store ended: its <see cref="SessionKey.LogId"/>, and its tokens when they could be read (to revoke).</summary>
internal sealed record EndedSession(string LogId, TokenSet? Tokens)
{
    /// <summary>Its store id (<see cref="UserSession.Id"/>), to tell whatever follows that session (an open event stream) that it ended.</summary>
    public string? Id { get; init; }
}
