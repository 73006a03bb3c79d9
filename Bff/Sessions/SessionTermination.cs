using Bff.Observability;
using Bff.Provider;

namespace Bff.Sessions;

/// <summary>Which of a user's sessions to end.</summary>
internal readonly record struct SessionSelection(string? OnlyId, string? ExceptId)
{
    /// <summary>The session with this store id (<see cref="UserSession.Id"/>), if it is the user's.</summary>
    public static SessionSelection One(string id) => new(id, null);

    /// <summary>Every session of the user but this one (the caller's own).</summary>
    public static SessionSelection AllBut(string id) => new(null, id);

    public static SessionSelection All => new(null, null);
}

/// <summary>What ending sessions did.</summary>
internal readonly record struct Termination(StoreOutcome Outcome, int Ended);

/// <summary>
/// The one way session control (a user's "sign out my other devices", the admin API) ends sessions: removed from the
/// store so that every replica answers their next request with 401, one log line (1002, with the reason) and one
/// count in <c>bff.sessions.ended</c> per session, a <c>revoked</c> notice to their pages' event streams, then their refresh tokens revoked at the provider when asked and the
/// provider can (best effort, as at logout: a provider that is down never keeps a session alive).
/// </summary>
internal sealed class SessionTermination(
    ISessionStore store,
    TokenRevoker revoker,
    ISessionEvents events,
    TimeProvider time,
    BffMetrics metrics,
    ILogger<SessionTermination> logger)
{
    /// <summary>Revocations of one call at the provider at once: ending a hundred sessions must not take a hundred round trips in a row, nor open a hundred connections.</summary>
    private const int RevocationConcurrency = 4;

    /// <summary>Ends the chosen sessions of <paramref name="subject"/>; never a session of another user.</summary>
    /// <param name="reason">A <see cref="TelemetryNames.SessionEndReasons"/> value.</param>
    public async Task<Termination> EndAsync(string subject, SessionSelection which, string reason, bool revokeTokens, CancellationToken cancellationToken)
    {
        var ended = await store.EndOfSubjectAsync(subject, which.OnlyId, which.ExceptId, cancellationToken);
        if (ended.Outcome != StoreOutcome.Ok)
        {
            return new Termination(ended.Outcome, 0);
        }

        await EndedAsync(ended, reason, revokeTokens, cancellationToken);
        return new Termination(StoreOutcome.Ok, ended.Sessions.Count);
    }

    /// <summary>
    /// Ends the oldest sessions of <paramref name="newest"/>'s user beyond <paramref name="keep"/> (the per-user cap at
    /// sign-in), as <see cref="EndAsync"/> ends sessions, with the reason <c>cap_evicted</c> and their refresh tokens revoked.
    /// </summary>
    public async Task<EndedSessions> EndOldestAsync(UserSession newest, int keep, CancellationToken cancellationToken)
    {
        var ended = await store.EndOldestOfSubjectAsync(newest, keep, cancellationToken);
        await EndedAsync(ended, TelemetryNames.SessionEndReasons.CapEvicted, revokeTokens: true, cancellationToken);
        return ended;
    }

    /// <summary>What follows every end of sessions of one user, whoever asked: log, count, notify, revoke.</summary>
    private async Task EndedAsync(EndedSessions ended, string reason, bool revokeTokens, CancellationToken cancellationToken)
    {
        if (ended.Sessions.Count == 0)
        {
            return;
        }

        foreach (var session in ended.Sessions)
        {
            BffLog.SessionEnded(logger, session.LogId, reason);
        }

        metrics.SessionEnded(reason, ended.Sessions.Count);

        // The pages of those sessions, in any tab on any replica, learn it at once (their event streams say revoked).
        foreach (var session in ended.Sessions)
        {
            if (session.Id is { } id)
            {
                await events.PublishEndedAsync(id, SessionEndReason.Revoked);
            }
        }

        if (revokeTokens)
        {
            await Parallel.ForEachAsync(
                ended.Sessions.Where(s => s.Tokens is not null),
                new ParallelOptions { MaxDegreeOfParallelism = RevocationConcurrency, CancellationToken = cancellationToken },
                async (session, token) => await revoker.RevokeAsync(session.Tokens!, session.LogId, token));
        }
    }

    /// <summary>
    /// Ends every session of every user ("break glass"), and tells their pages' event streams on every replica with one
    /// <c>revoked</c> notice (not one per session) that names the sessions created before it began: pages signed in
    /// meanwhile keep their streams. Refresh tokens are not revoked one by one (there may be millions): revoke the
    /// client's grants at the provider for that.
    /// </summary>
    public async Task<Termination> EndEveryAsync(string reason, CancellationToken cancellationToken)
    {
        // Read before the store is emptied: every session created earlier is gone once it is.
        var began = time.GetUtcNow();
        var ended = await store.EndAllAsync(cancellationToken);
        if (ended.Outcome != StoreOutcome.Ok)
        {
            return new Termination(ended.Outcome, 0);
        }

        if (ended.Removed > 0)
        {
            metrics.SessionEnded(reason, ended.Removed);
        }

        // Whatever the count: one message, however many streams it ends.
        await events.PublishEndedEveryAsync(began, SessionEndReason.Revoked);

        return new Termination(StoreOutcome.Ok, ended.Removed);
    }
}
