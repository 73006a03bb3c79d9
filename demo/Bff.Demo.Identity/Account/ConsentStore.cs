using System.Collections.Concurrent;

namespace Bff.Demo.Identity.Account;

/// <summary>Scopes each user has granted each client, for the lifetime of the process.</summary>
internal sealed class ConsentStore
{
    private readonly ConcurrentDictionary<(string Subject, string ClientId), HashSet<string>> granted = new();

    public bool Covers(string subject, string clientId, IEnumerable<string> scopes)
    {
        if (!granted.TryGetValue((subject, clientId), out var set))
        {
            return false;
        }

        lock (set)
        {
            return scopes.All(set.Contains);
        }
    }

    public void Grant(string subject, string clientId, IEnumerable<string> scopes)
    {
        var set = granted.GetOrAdd((subject, clientId), _ => new HashSet<string>(StringComparer.Ordinal));
        lock (set)
        {
            set.UnionWith(scopes);
        }
    }
}
