namespace Bff.Configuration;

/// <summary>Authorization policies declared in configuration (<c>Bff:Authorization</c>).</summary>
public sealed class AuthorizationSettings
{
    /// <summary>Policies by name, usable as a route's <c>AuthorizationPolicy</c> or with <c>RequireAuthorization(name)</c>.</summary>
    public IDictionary<string, AuthorizationPolicySettings> Policies { get; set; } =
        new Dictionary<string, AuthorizationPolicySettings>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a <c>403 forbidden</c> names the policy that refused the call (in its <c>detail</c>). Off by default:
    /// the name tells a caller what to aim for; turn it on where the SPA shows users which access they lack.
    /// </summary>
    public bool ShowPolicyName { get; set; }
}

/// <summary>Claims copied from where providers nest them, and from userinfo (<c>Bff:Claims</c>).</summary>
public sealed class ClaimsSettings
{
    /// <summary>
    /// Claim type → paths in the ID token (or userinfo) whose values become claims of that type at sign-in: a top-level
    /// claim's whole name, or dot-separated steps into a JSON claim (<c>realm_access.roles</c>).
    /// </summary>
    public IDictionary<string, IList<string>> Map { get; set; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

    /// <summary>Whether sign-in also reads the userinfo endpoint and adds its claims (its <c>sub</c> must match the ID token's).</summary>
    public bool FromUserInfo { get; set; }

    /// <summary>
    /// Whether every refresh of the session's tokens also reads userinfo again (with the new access token) and
    /// rebuilds the session's claims, the claim mapping re-applied; its <c>sub</c> must still be the session's. Needs
    /// <see cref="FromUserInfo"/>.
    /// </summary>
    public bool RefreshUserInfo { get; set; }
}

/// <summary>What <c>/bff/user</c> shows page script (<c>Bff:UserEndpoint</c>).</summary>
public sealed class UserEndpointSettings
{
    /// <summary>
    /// The claim types <c>/bff/user</c> shares; empty: every claim the session keeps. Claims the gateway holds for
    /// authorization (group ids, tenant ids) need not reach page script.
    /// </summary>
    public IList<string> Claims { get; set; } = [];
}

/// <summary>
/// One policy (<c>Bff:Authorization:Policies:&lt;name&gt;</c>): every requirement given must hold, and the user must be
/// signed in.
/// </summary>
public sealed class AuthorizationPolicySettings
{
    /// <summary>Claim type → accepted values: the user has a claim of each type with one of its values.</summary>
    public IDictionary<string, IList<string>> RequireClaims { get; set; } = new Dictionary<string, IList<string>>(StringComparer.Ordinal);

    /// <summary>Scopes that must all have been granted to the session's access token.</summary>
    public IList<string> RequireScopes { get; set; } = [];

    /// <summary>Roles, one of which the user must have (the session's <c>role</c> claims).</summary>
    public IList<string> RequireRole { get; set; } = [];

    /// <summary>A list setting's entries, each also read as a comma-separated list.</summary>
    internal static IEnumerable<string> Entries(IEnumerable<string>? values) =>
        (values ?? []).SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.TrimEntries));
}
