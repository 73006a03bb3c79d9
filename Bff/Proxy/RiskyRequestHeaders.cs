namespace Bff.Proxy;

/// <summary>
/// Request headers that some servers, frameworks or proxies in front of an API trust to rewrite the URL or method, or
/// to name the client's address or the original host. A browser (or a script) can send any of them, so the gateway
/// removes them from proxied requests unless a route keeps them (<c>Bff.KeepRequestHeaders</c>). <c>X-Forwarded-For/
/// Host/Proto/Prefix</c> and <c>Forwarded</c> are not here: YARP's forwarded transforms overwrite or remove those.
/// </summary>
internal static class RiskyRequestHeaders
{
    public static readonly string[] Names =
    [
        // URL and method rewriting (IIS URL Rewrite, Symfony, Zend, Laravel, Spring's HiddenHttpMethodFilter cousins).
        "X-Original-URL",
        "X-Rewrite-URL",
        "X-HTTP-Method-Override",
        "X-HTTP-Method",
        "X-Method-Override",
        "X-Original-Method",

        // The client's address, as CDNs and load balancers would state it.
        "X-Real-IP",
        "X-Client-IP",
        "True-Client-IP",
        "X-Cluster-Client-IP",
        "CF-Connecting-IP",
        "Fastly-Client-IP",
        "X-ProxyUser-Ip",
        "Client-IP",
        "X-Originating-IP",
        "X-Remote-IP",
        "X-Remote-Addr",

        // The original host, port or scheme, beside the X-Forwarded-* headers the gateway sets itself.
        "X-Forwarded-Server",
        "X-Forwarded-Port",
        "X-Forwarded-Scheme",
        "X-Forwarded-Ssl",
        "X-Host",
        "X-Original-Host",
    ];

    /// <summary>
    /// <see cref="Names"/> without the comma-separated <paramref name="keep"/>; <paramref name="unknown"/> is the first
    /// kept name that is not in the list (a typo would otherwise keep nothing without a word).
    /// </summary>
    public static string[] Except(string? keep, out string? unknown)
    {
        unknown = null;
        var kept = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in (keep ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (Array.FindIndex(Names, n => string.Equals(n, part, StringComparison.OrdinalIgnoreCase)) < 0)
            {
                unknown ??= part;
            }

            kept.Add(part);
        }

        if (unknown is null && kept.Count == 0)
        {
            unknown = keep ?? string.Empty;
        }

        return Array.FindAll(Names, n => !kept.Contains(n));
    }
}
