using System.Collections.Concurrent;

namespace Bff.Tokens;

/// <summary>An access token with its ready-made <c>Authorization</c> header value.</summary>
internal sealed record CachedToken(string Authorization, DateTimeOffset ExpiresAt)
{
    public bool IsUsable(DateTimeOffset now, TimeSpan refreshBeforeExpiry) => ExpiresAt - refreshBeforeExpiry > now;
}

/// <summary>
/// Resource-specific user tokens (routes with <c>Bff.Scope</c> / <c>Bff.Resource</c>), per session and target, in this
/// process. They are derived data: the session in the store keeps the refresh token that can always mint them again,
/// so another replica (or a restart) simply obtains its own. Expired entries are swept once a minute.
/// </summary>
internal sealed class ResourceTokenCache : IDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string SessionKey, TokenTarget Target), CachedToken> _tokens = new();
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _sweep;

    public ResourceTokenCache(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _sweep = timeProvider.CreateTimer(static state => ((ResourceTokenCache)state!).RemoveExpired(), this, SweepInterval, SweepInterval);
    }

    public int Count => _tokens.Count;

    public bool TryGet(string sessionKey, TokenTarget target, DateTimeOffset now, TimeSpan refreshBeforeExpiry, out string authorization)
    {
        if (_tokens.TryGetValue((sessionKey, target), out var token) && token.IsUsable(now, refreshBeforeExpiry))
        {
            authorization = token.Authorization;
            return true;
        }

        authorization = string.Empty;
        return false;
    }

    public void Set(string sessionKey, TokenTarget target, CachedToken token) => _tokens[(sessionKey, target)] = token;

    public void RemoveSession(string sessionKey)
    {
        foreach (var entry in _tokens)
        {
            if (string.Equals(entry.Key.SessionKey, sessionKey, StringComparison.Ordinal))
            {
                _tokens.TryRemove(entry);
            }
        }
    }

    public void RemoveExpired()
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var entry in _tokens)
        {
            if (entry.Value.ExpiresAt <= now)
            {
                _tokens.TryRemove(entry);
            }
        }
    }

    public void Dispose() => _sweep.Dispose();
}
