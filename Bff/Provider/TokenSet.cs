namespace Bff.Provider;

/// <summary>
/// The provider's tokens for one session. Immutable: a refresh produces a new set that replaces the old one whole,
/// so a reader never sees a new access token paired with a stale refresh token.
/// </summary>
internal sealed record TokenSet
{
    private readonly string _accessToken = string.Empty;
    private string? _authorization;

    public required string AccessToken
    {
        get => _accessToken;
        init
        {
            _accessToken = value;
            _authorization = null; // a `with` that changes the token must not keep the old header
        }
    }

    /// <summary>
    /// <c>Bearer {AccessToken}</c>, built at the first proxied call and reused by every later one: the token is about a
    /// kilobyte, and concatenating it on every call was the largest allocation of the hot path.
    /// </summary>
    public string AuthorizationHeader => _authorization ??= (DPoPKeyThumbprint is null ? "Bearer " : "DPoP ") + _accessToken;

    /// <summary>
    /// The thumbprint (RFC 7638) of the gateway's DPoP key the access token is bound to (the provider answered
    /// <c>token_type=DPoP</c>): every call with it carries a proof signed by that key. Null for a bearer token.
    /// </summary>
    public string? DPoPKeyThumbprint
    {
        get;
        init
        {
            field = value;
            _authorization = null;
        }
    }

    public required DateTimeOffset AccessTokenExpiresAt { get; init; }

    /// <summary>
    /// How long the access token was issued for (its <c>expires_in</c>), which bounds the refresh window
    /// (<c>RefreshWindow</c>); null when unknown (sessions saved before it was recorded).
    /// </summary>
    public TimeSpan? AccessTokenLifetime { get; init; }

    public string? RefreshToken { get; init; }

    public string? IdToken { get; init; }

    /// <summary>
    /// The scopes the provider granted to the access token (its token response's <c>scope</c>), space-separated; null
    /// when it did not say, which RFC 6749 §5.1 lets it do when it granted what was requested.
    /// </summary>
    public string? Scope { get; init; }

    /// <summary>Incremented by every refresh; lets concurrent writers detect that someone else already refreshed.</summary>
    public long Version { get; init; }

    /// <summary>Value equality over the tokens, not over whether the header was built yet.</summary>
    public bool Equals(TokenSet? other) =>
        ReferenceEquals(this, other)
        || (other is not null
            && string.Equals(_accessToken, other._accessToken, StringComparison.Ordinal)
            && AccessTokenExpiresAt == other.AccessTokenExpiresAt
            && AccessTokenLifetime == other.AccessTokenLifetime
            && string.Equals(RefreshToken, other.RefreshToken, StringComparison.Ordinal)
            && string.Equals(IdToken, other.IdToken, StringComparison.Ordinal)
            && string.Equals(Scope, other.Scope, StringComparison.Ordinal)
            && string.Equals(DPoPKeyThumbprint, other.DPoPKeyThumbprint, StringComparison.Ordinal)
            && Version == other.Version);

    public override int GetHashCode() => HashCode.Combine(_accessToken, AccessTokenExpiresAt, Version);
}
