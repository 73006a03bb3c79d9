namespace Bff.Configuration;

/// <summary>Limits on what anonymous clients can make the gateway do (<c>Bff:RateLimits</c>).</summary>
public sealed class RateLimitSettings
{
    /// <summary>The limit on sign-in starts and callbacks per client address.</summary>
    public SignInRateLimitSettings SignIn { get; set; } = new();
}

/// <summary>
/// Sign-in starts (<c>/bff/login</c>, each one a pushed authorization request when the provider offers PAR) and
/// sign-in callbacks (each one a token request), counted apart, per client address (an IPv6 client per /64) as seen
/// through the trusted proxies of <c>Bff:ForwardedHeaders</c>.
/// </summary>
public sealed class SignInRateLimitSettings
{
    /// <summary>Whether the limit applies.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many sign-in starts, and how many callbacks, one client may make per <see cref="Window"/>.</summary>
    public int PermitLimit { get; set; } = 20;

    /// <summary>The span the limit counts over.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
