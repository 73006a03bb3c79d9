using Microsoft.AspNetCore.Http;

namespace Bff.Configuration;

/// <summary>
/// The gateway's settings, bound from the <c>Bff</c> configuration section and validated at start-up
/// by <see cref="BffOptionsValidator"/>.
/// </summary>
public sealed class BffOptions
{
    public const string SectionName = "Bff";

    /// <summary>The OpenID provider's issuer URL (discovery is read from <c>{Authority}/.well-known/openid-configuration</c>).</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>Space-separated scopes requested at sign-in.</summary>
    public string Scopes { get; set; } = "openid profile offline_access";

    /// <summary>
    /// Null when not configured: an <c>http</c> authority is then accepted only in Development.
    /// Setting it to <c>false</c> explicitly is the opt-in for plain-http metadata elsewhere.
    /// </summary>
    public bool? RequireHttpsMetadata { get; set; }

    public string CallbackPath { get; set; } = "/signin-oidc";

    public string SignedOutCallbackPath { get; set; } = "/signout-callback-oidc";

    public SessionSettings Session { get; set; } = new();

    public CookieSettings Cookie { get; set; } = new();

    public TokenSettings Tokens { get; set; } = new();

    public IEnumerable<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

public enum SessionStoreKind
{
    InMemory,
    Redis,
}

public sealed class SessionSettings
{
    /// <summary>A session unused for this long ends.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after sign-in, however active it is.</summary>
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(8);

    public SessionStoreKind Store { get; set; } = SessionStoreKind.InMemory;
}

public sealed class CookieSettings
{
    public const string DefaultName = "__Host-bff";

    public string Name { get; set; } = DefaultName;

    public SameSiteMode SameSite { get; set; } = SameSiteMode.Strict;
}

public sealed class TokenSettings
{
    /// <summary>An access token that expires within this window is refreshed before it is forwarded.</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(1);
}
