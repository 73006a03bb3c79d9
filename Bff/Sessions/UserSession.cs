using Bff.Provider;
using System.Security.Claims;

namespace Bff.Sessions;

/// <summary>A claim kept in the session: only what <c>/bff/user</c> shows and what back-channel logout matches on.</summary>
internal sealed record SessionClaim(string Type, string Value);

/// <summary>
/// One signed-in browser session, kept on the server. Immutable: changes (sliding expiry, new tokens) produce a new
/// instance that the store swaps in whole.
/// </summary>
internal sealed record UserSession
{
    public const string AuthenticationType = "bff-session";

    private ClaimsPrincipal? _principal;
    private IReadOnlyList<SessionClaim> _claims = [];

    /// <summary>The cookie value. Never logged: use <see cref="LogId"/>.</summary>
    public required string Key { get; init; }

    /// <summary>Shown to page script in the logout URL, so logout cannot be forced cross-site without reading it first.</summary>
    public required string PublicId { get; init; }

    public required string Subject { get; init; }

    /// <summary>The provider's <c>sid</c> claim, when it issues one (back-channel logout matches on it).</summary>
    public string? ProviderSessionId { get; init; }

    /// <summary>Setting them (also in a <c>with</c> copy) drops the <see cref="Principal"/> built from the old ones.</summary>
    public required IReadOnlyList<SessionClaim> Claims
    {
        get => _claims;
        init
        {
            _claims = value;
            _principal = null;
        }
    }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset AbsoluteExpiresAt { get; init; }

    public required DateTimeOffset IdleExpiresAt { get; init; }

    public required TokenSet Tokens { get; init; }

    /// <summary>
    /// A coarse description of the browser that signed in (<see cref="DeviceDescription"/>), for lists of a user's
    /// sessions. Kept by the store beside the session, not in its token payload: a session read back from Redis has none.
    /// </summary>
    public string? Device { get; init; }

    public string LogId => SessionKey.LogId(Key);

    /// <summary>The store id: <see cref="SessionKey.Id"/> of the cookie value (its hash and the subject's slot tag).</summary>
    public string Id => SessionKey.Id(Key);

    /// <summary>When the session ends if nothing else happens: the earlier of its idle and absolute limits.</summary>
    public DateTimeOffset ExpiresAt => IdleExpiresAt < AbsoluteExpiresAt ? IdleExpiresAt : AbsoluteExpiresAt;

    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>The sign-in's <c>acr</c>, from its ID token (<see cref="SignInStrength"/>); null when it had none.</summary>
    public string? Acr => Claim(SignInStrength.AcrClaim);

    /// <summary>When the user last authenticated at the provider (<c>auth_time</c> of the ID token); null when unknown.</summary>
    public DateTimeOffset? AuthTime =>
        long.TryParse(Claim(SignInStrength.AuthTimeClaim), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? new SignInStrength(null, seconds).AuthenticatedAt
            : null;

    private string? Claim(string type)
    {
        foreach (var claim in Claims)
        {
            if (string.Equals(claim.Type, type, StringComparison.Ordinal))
            {
                return claim.Value;
            }
        }

        return null;
    }

    /// <summary>Built once per session instance, not per request.</summary>
    public ClaimsPrincipal Principal => _principal ??= new ClaimsPrincipal(
        new ClaimsIdentity(Claims.Select(c => new Claim(c.Type, c.Value)), AuthenticationType, "name", "role"));
}
