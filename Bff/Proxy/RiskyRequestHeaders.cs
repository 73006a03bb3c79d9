using System.Buffers;
using System.Collections.Frozen;

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

    /// <summary>Every name of <see cref="Names"/>, matched as header names are: without regard to case.</summary>
    public static readonly FrozenSet<string> All = Names.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The first characters of <see cref="Names"/>, in both cases: most headers a browser sends start otherwise.</summary>
    private static readonly SearchValues<char> FirstCharacters = SearchValues.Create(
        string.Concat(Names.Select(n => $"{char.ToLowerInvariant(n[0])}{char.ToUpperInvariant(n[0])}")));

    private static readonly int ShortestName = Names.Min(n => n.Length);

    /// <summary>
    /// <see cref="Names"/> without the comma-separated <paramref name="keep"/>; <paramref name="unknown"/> is the first
    /// kept name that is not in the list (a typo would otherwise keep nothing without a word).
    /// </summary>
    public static FrozenSet<string> Except(string? keep, out string? unknown)
    {
        unknown = null;
        var kept = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in (keep ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!All.Contains(part))
            {
                unknown ??= part;
            }

            kept.Add(part);
        }

        if (unknown is null && kept.Count == 0)
        {
            unknown = keep ?? string.Empty;
        }

        return Names.Where(n => !kept.Contains(n)).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Removes from <paramref name="headers"/> those named in <paramref name="names"/>. One pass over the headers the
    /// request carries (a handful, most of them ruled out by their first character) rather than a removal per listed
    /// name: Kestrel knows none of these names, so each removal was a case-insensitive dictionary lookup on every
    /// proxied call.
    /// </summary>
    public static void Strip(IHeaderDictionary headers, FrozenSet<string> names)
    {
        if (names.Count == 0)
        {
            return;
        }

        string? first = null;
        List<string>? more = null;
        foreach (var header in headers)
        {
            var name = header.Key;
            if (name.Length >= ShortestName && FirstCharacters.Contains(name[0]) && names.Contains(name))
            {
                if (first is null)
                {
                    first = name;
                }
                else
                {
                    (more ??= []).Add(name);
                }
            }
        }

        if (first is null)
        {
            return;
        }

        headers.Remove(first);
        foreach (var name in more ?? [])
        {
            headers.Remove(name);
        }
    }
}
