using Bff.Sessions;

namespace Bff.Tests.Tokens;

/// <summary>
/// Wraps the gateway's in-memory store: counts reads (so a test knows when every request has looked its session up)
/// and can make writes fail, as a store that went down would.
/// </summary>
internal sealed class ObservedSessionStore(InMemorySessionStore inner) : ISessionStore
{
    private int _finds;
    private int _findsExpected = int.MaxValue;

    public TaskCompletionSource FindsReached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Replaces that change the tokens answer Unavailable.</summary>
    public bool FailTokenWrites { get; set; }

    /// <summary>Removes answer Unavailable.</summary>
    public bool FailRemoves { get; set; }

    public int Finds => Volatile.Read(ref _finds);

    public void SignalAfterFinds(int count)
    {
        Volatile.Write(ref _findsExpected, count);
        if (Finds >= count)
        {
            FindsReached.TrySetResult();
        }
    }

    public ValueTask<SessionLookup> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _finds) >= Volatile.Read(ref _findsExpected))
        {
            FindsReached.TrySetResult();
        }

        return inner.FindAsync(key, cancellationToken);
    }

    public ValueTask<StoreOutcome> CreateAsync(UserSession session, CancellationToken cancellationToken) =>
        inner.CreateAsync(session, cancellationToken);

    public async ValueTask<StoreOutcome> ReplaceAsync(UserSession session, CancellationToken cancellationToken)
    {
        if (FailTokenWrites && (await inner.FindAsync(session.Key, cancellationToken)).Session is { } stored
            && !ReferenceEquals(stored.Tokens, session.Tokens))
        {
            return StoreOutcome.Unavailable;
        }

        return await inner.ReplaceAsync(session, cancellationToken);
    }

    public ValueTask<StoreOutcome> RemoveAsync(string key, CancellationToken cancellationToken) =>
        FailRemoves ? ValueTask.FromResult(StoreOutcome.Unavailable) : inner.RemoveAsync(key, cancellationToken);

    public ValueTask<RemoveManyResult> RemoveByProviderSessionAsync(string? subject, string? providerSessionId, CancellationToken cancellationToken) =>
        inner.RemoveByProviderSessionAsync(subject, providerSessionId, cancellationToken);

    public ValueTask<EndedSessions> EndOldestOfSubjectAsync(UserSession newest, int keep, CancellationToken cancellationToken) =>
        inner.EndOldestOfSubjectAsync(newest, keep, cancellationToken);

    public ValueTask<SubjectSessions> ListOfSubjectAsync(string subject, CancellationToken cancellationToken) =>
        inner.ListOfSubjectAsync(subject, cancellationToken);

    public ValueTask<EndedSessions> EndOfSubjectAsync(string subject, string? onlyId, string? exceptId, CancellationToken cancellationToken) =>
        inner.EndOfSubjectAsync(subject, onlyId, exceptId, cancellationToken);

    public ValueTask<RemoveManyResult> EndAllAsync(CancellationToken cancellationToken) => inner.EndAllAsync(cancellationToken);
}
