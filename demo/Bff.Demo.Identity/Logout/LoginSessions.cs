using System.Collections.Concurrent;

namespace Bff.Demo.Identity.Logout;

/// <summary>
/// Which clients received tokens in which provider login session (<c>sid</c>), so ending that session can
/// notify each of them through back-channel logout.
/// </summary>
internal sealed class LoginSessions
{
    private readonly ConcurrentDictionary<string, LoginSession> sessions = new(StringComparer.Ordinal);

    public void RecordClient(string sessionId, string subject, string clientId)
    {
        var session = sessions.GetOrAdd(sessionId, _ => new LoginSession(subject));
        session.Clients.TryAdd(clientId, 0);
    }

    /// <summary>Ends the session and returns the clients that took part in it (each only once).</summary>
    public IReadOnlyCollection<string> End(string sessionId) =>
        sessions.TryRemove(sessionId, out var session) ? session.Clients.Keys.ToArray() : [];

    private sealed class LoginSession(string subject)
    {
        public string Subject { get; } = subject;

        public ConcurrentDictionary<string, byte> Clients { get; } = new(StringComparer.Ordinal);
    }
}
