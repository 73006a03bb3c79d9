namespace Bff.Tokens;

/// <summary>
/// Listening for word from the replica that holds a session's refresh lock: <see cref="Heard"/> completes when that
/// replica announces a save or a release of the session. Listening starts before the waiter re-reads the session, so
/// an announcement made between that read and the wait is not missed. Disposing stops listening.
/// </summary>
internal sealed class RefreshAnnouncement(Task heard, Action? stop = null) : IDisposable
{
    /// <summary>For a lock that is never held elsewhere: nothing is ever announced.</summary>
    public static RefreshAnnouncement Never { get; } = new(new TaskCompletionSource().Task);

    public Task Heard => heard;

    public void Dispose() => stop?.Invoke();
}
