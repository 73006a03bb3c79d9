namespace Bff.Configuration;

/// <summary>
/// The admin API (<c>Bff:Admin</c>): list and end users' sessions, on a port of its own that the public ingress never
/// routes to. Callers present a bearer JWT from the same provider, for <see cref="Audience"/>, carrying
/// <see cref="Role"/> or <see cref="Scope"/>; never the session cookie.
/// </summary>
public sealed class AdminSettings
{
    /// <summary>Whether the admin API answers at all. Off by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The local port the admin API answers on, and only there (the host must listen on it, for example
    /// <c>ASPNETCORE_HTTP_PORTS=8080;9090</c>). No other endpoint answers on it.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>The <c>aud</c> the caller's access token must carry: the admin API's own audience at the provider.</summary>
    public string? Audience { get; set; }

    /// <summary>A value of the token's <c>roles</c> or <c>role</c> claim that admits the caller.</summary>
    public string? Role { get; set; }

    /// <summary>A value of the token's <c>scope</c> or <c>scp</c> claim that admits the caller.</summary>
    public string? Scope { get; set; }
}
