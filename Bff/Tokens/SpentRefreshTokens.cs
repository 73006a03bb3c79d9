using System.Collections.Concurrent;

namespace Bff.Tokens;

/// <summary>
/// Sessions whose refresh token was redeemed (or rejected) but whose removal from the store failed, with the token
/// version concerned: that refresh token is never sent to the provider again, because replaying a redeemed refresh
/// token looks like token theft to the provider, which may revoke the whole grant.
/// </summary>
internal sealed class SpentRefreshTokens
{
    private readonly ConcurrentDictionary<string, long> _spent = new(StringComparer.Ordinal);

    public void Remember(string sessionKey, long tokenVersion) => _spent[sessionKey] = tokenVersion;

    public bool IsSpent(string sessionKey, long tokenVersion) =>
        _spent.TryGetValue(sessionKey, out var spent) && spent == tokenVersion;

    /// <summary>The session is gone from the store: nothing can present its refresh token any more.</summary>
    public void Forget(string sessionKey, long tokenVersion) =>
        _spent.TryRemove(new KeyValuePair<string, long>(sessionKey, tokenVersion));
}
