namespace Bff.Sessions;

/// <summary>
/// This replica's open event streams, by session: where <see cref="ISessionEvents"/> notices (this replica's own, and
/// other replicas' through Redis) reach the streams of the sessions they name. Streams are few per replica (one per
/// open tab), and back-channel notices rare, so a notice for a user scans that user's streams only; a notice about
/// every session (break glass, rarer still) scans them all.
/// </summary>
internal sealed class SessionEventHub
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Subscription>> _bySession = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Subscription>> _bySubject = new(StringComparer.Ordinal);

    /// <summary>How many streams listen right now.</summary>
    public int Count { get; private set; }

    /// <summary>Listens for the end of <paramref name="session"/> until the subscription is disposed.</summary>
    public Subscription Subscribe(UserSession session)
    {
        var subscription = new Subscription(this, session.Id, SessionKey.Hash(session.Subject),
            session.ProviderSessionId is null ? null : SessionKey.Hash(session.ProviderSessionId), session.CreatedAt.ToUnixTimeMilliseconds());
        lock (_lock)
        {
            Add(_bySession, subscription.SessionId, subscription);
            Add(_bySubject, subscription.SubjectHash, subscription);
            Count++;
        }

        return subscription;
    }

    /// <summary>Ends the streams a notice names (none when no stream of theirs is open on this replica).</summary>
    public void Deliver(SessionEndedNotice notice)
    {
        Subscription[] ended;
        lock (_lock)
        {
            ended = [.. Named(notice)];
        }

        foreach (var subscription in ended)
        {
            subscription.End(notice.Reason);
        }
    }

    /// <summary>
    /// One session's streams; or, as <see cref="ISessionStore.RemoveByProviderSessionAsync"/> matches, a provider
    /// session's (of one subject, when both are named) or else every session's of a subject; or the streams of every
    /// session created before a time (break glass: sessions signed in since keep theirs). Called under the lock.
    /// </summary>
    private IEnumerable<Subscription> Named(SessionEndedNotice notice)
    {
        if (notice.CreatedBefore is { } createdBefore)
        {
            return _bySession.Values.SelectMany(streams => streams).Where(s => s.CreatedAt < createdBefore);
        }

        if (notice.SessionId is { } sessionId)
        {
            return _bySession.TryGetValue(sessionId, out var ofSession) ? ofSession : [];
        }

        var candidates = notice.SubjectHash switch
        {
            { } subject => _bySubject.TryGetValue(subject, out var ofSubject) ? ofSubject : [],
            null when notice.ProviderSessionHash is not null => _bySession.Values.SelectMany(streams => streams),
            _ => [],
        };
        return notice.ProviderSessionHash is { } providerSession
            ? candidates.Where(s => string.Equals(s.ProviderSessionHash, providerSession, StringComparison.Ordinal))
            : candidates;
    }

    private void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            if (RemoveFrom(_bySession, subscription.SessionId, subscription))
            {
                RemoveFrom(_bySubject, subscription.SubjectHash, subscription);
                Count--;
            }
        }
    }

    private static void Add(Dictionary<string, List<Subscription>> index, string key, Subscription subscription)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }

        list.Add(subscription);
    }

    private static bool RemoveFrom(Dictionary<string, List<Subscription>> index, string key, Subscription subscription)
    {
        if (!index.TryGetValue(key, out var list) || !list.Remove(subscription))
        {
            return false;
        }

        if (list.Count == 0)
        {
            index.Remove(key);
        }

        return true;
    }

    /// <summary>One stream's interest in its session; <see cref="Ended"/> completes with the reason when a notice names it.</summary>
    internal sealed class Subscription(SessionEventHub hub, string sessionId, string subjectHash, string? providerSessionHash, long createdAt) : IDisposable
    {
        private readonly TaskCompletionSource<SessionEndReason> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string SessionId => sessionId;

        public string SubjectHash => subjectHash;

        public string? ProviderSessionHash => providerSessionHash;

        /// <summary>When the session was created, in Unix milliseconds (the store's precision).</summary>
        public long CreatedAt => createdAt;

        public Task<SessionEndReason> Ended => _ended.Task;

        public void End(SessionEndReason reason) => _ended.TrySetResult(reason);

        public void Dispose() => hub.Remove(this);
    }
}
