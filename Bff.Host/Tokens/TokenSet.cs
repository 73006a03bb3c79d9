namespace Bff.Tokens;

/// <summary>
/// The provider's tokens for one session. Immutable: a refresh produces a new set that replaces the old one whole,
/// so a reader never sees a new access token paired with a stale refresh token.
/// </summary>
internal sealed record TokenSet
{
    public required string AccessToken { get; init; }

    public required DateTimeOffset AccessTokenExpiresAt { get; init; }

    public string? RefreshToken { get; init; }

    public string? IdToken { get; init; }

    /// <summary>Incremented by every refresh; lets concurrent writers detect that someone else already refreshed.</summary>
    public long Version { get; init; }

    public bool ExpiresWithin(TimeSpan window, DateTimeOffset now) => AccessTokenExpiresAt - window <= now;
}
