using Bff.Provider;
using Bff.Sessions;
using System.Collections.Concurrent;

namespace Bff.Tokens;

/// <summary>An access token with its ready-made <c>Authorization</c> header value and the lifetime it was issued for.</summary>
internal sealed record CachedToken(string Authorization, DateTimeOffset ExpiresAt, TimeSpan? Lifetime = null, string? DPoPThumbprint = null);

/// <summary>
/// Resource-specific user tokens (routes with <c>Bff.Scope</c> / <c>Bff.Resource</c>), per session and target, in this
/// process. They are derived data: the session in the store keeps the refresh token that can always mint them again,
/// so another replica (or a restart) simply obtains its own. Expired entries are swept once a minute.
/// </summary>
internal sealed class ResourceTokenCache : IDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(string SessionKey, TokenTarget Target), CachedToken> _tokens = new();

    /// <summary>Targets the provider refused for a session (say <c>invalid_target</c>), until when not to ask again.</summary>
    private readonly ConcurrentDictionary<(string SessionKey, TokenTarget Target), DateTimeOffset> _refusals = new();
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _sweep;

    public ResourceTokenCache(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _sweep = timeProvider.CreateTimer(static state => ((ResourceTokenCache)state!).RemoveExpired(), this, SweepInterval, SweepInterval);
    }

    public int Count => _tokens.Count;

    public bool TryGet(string sessionKey, TokenTarget target, DateTimeOffset now, RefreshWindow window, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CachedToken? token) =>
        _tokens.TryGetValue((sessionKey, target), out token) && window.IsUsable(token, now);

    public void Set(string sessionKey, TokenTarget target, CachedToken token) => _tokens[(sessionKey, target)] = token;

    /// <summary>Remembers that the provider refused <paramref name="target"/> for the session until <paramref name="until"/>.</summary>
    public void Refuse(string sessionKey, TokenTarget target, DateTimeOffset until) => _refusals[(sessionKey, target)] = until;

    /// <summary>How long the session must still wait before asking the provider for <paramref name="target"/> again.</summary>
    public TimeSpan RefusedFor(string sessionKey, TokenTarget target, DateTimeOffset now) =>
        _refusals.TryGetValue((sessionKey, target), out var until) && until > now ? until - now : TimeSpan.Zero;

    public void RemoveSession(string sessionKey)
    {
        foreach (var entry in _tokens)
        {
            if (string.Equals(entry.Key.SessionKey, sessionKey, StringComparison.Ordinal))
            {
                _tokens.TryRemove(entry);
            }
        }

        foreach (var refusal in _refusals)
        {
            if (string.Equals(refusal.Key.SessionKey, sessionKey, StringComparison.Ordinal))
            {
                _refusals.TryRemove(refusal);
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

        foreach (var refusal in _refusals)
        {
            if (refusal.Value <= now)
            {
                _refusals.TryRemove(refusal);
            }
        }
    }

    public void Dispose() => _sweep.Dispose();
}
