using System.Diagnostics.CodeAnalysis;

namespace Bff.Configuration;

/// <summary>
/// <c>Bff:PublicOrigin</c>, parsed: the scheme, host and port browsers use to reach the gateway. Requests are answered
/// only for this host, and everything the gateway builds from "its own address" (redirect URIs, the post-logout URI,
/// cookie flags, HSTS, the <c>X-Forwarded-Host</c>/<c>-Proto</c> an API receives) comes from here, never from the
/// request's Host header.
/// </summary>
internal sealed class PublicOrigin
{
    public const string Key = "Bff:PublicOrigin";

    private PublicOrigin(string scheme, HostString host)
    {
        Scheme = scheme;
        Host = host;
    }

    /// <summary><c>http</c> or <c>https</c>, lower case.</summary>
    public string Scheme { get; }

    /// <summary>The host (IDN in its ASCII form) with the port only when it is not the scheme's default.</summary>
    public HostString Host { get; }

    public override string ToString() => $"{Scheme}://{Host.Value}";

    /// <summary>
    /// True when the request's Host names this origin's host. The port is not compared: browsers share cookies across
    /// ports anyway, and the gateway never builds anything from the request's port; the ingress or port-forward in front
    /// may present another one.
    /// </summary>
    public bool Matches(HostString requestHost) =>
        requestHost.HasValue && HostName(requestHost.Value).Equals(Host.Host, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The host of a Host header value without its port, as <see cref="HostString.Host"/> reads it (a bracketed IPv6
    /// address keeps its brackets), without allocating a string on every request.
    /// </summary>
    private static ReadOnlySpan<char> HostName(ReadOnlySpan<char> value)
    {
        if (value.StartsWith('['))
        {
            var end = value.IndexOf(']');
            return end < 0 ? value : value[..(end + 1)];
        }

        var colon = value.IndexOf(':');
        return colon >= 0 && value[(colon + 1)..].IndexOf(':') < 0 ? value[..colon] : value;
    }

    /// <summary>An absolute http(s) origin: scheme, host and optional port, nothing else (no path, query, fragment or user).</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out PublicOrigin? origin, out string problem)
    {
        origin = null;
        if (!Uri.TryCreate(value?.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || string.IsNullOrEmpty(uri.Host))
        {
            problem = "it is not an absolute http(s) URL";
            return false;
        }

        if (uri.UserInfo.Length > 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || value!.TrimEnd().EndsWith('?') || value.TrimEnd().EndsWith('#'))
        {
            problem = "an origin has no user, path, query or fragment";
            return false;
        }

        var host = uri.IsDefaultPort ? new HostString(uri.IdnHost) : new HostString(uri.IdnHost, uri.Port);
        origin = new PublicOrigin(uri.Scheme, host);
        problem = string.Empty;
        return true;
    }
}
