using Bff.Configuration;
using Bff.Observability;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Bff.Hosting;

/// <summary>
/// Derives ASP.NET Core's forwarded-headers options from <c>Bff:ForwardedHeaders</c>.
/// <list type="bullet">
/// <item>Trust is explicit. ASP.NET Core trusts loopback out of the box, and with both of its lists emptied it trusts
/// every address; so with nothing configured the headers are switched off altogether (ignored, whoever sends them),
/// and with something configured the defaults are replaced by exactly that.</item>
/// <item><c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> make the gateway see the client's address and the https
/// the browser used, so redirect URIs are <c>https://…</c> and cookies are issued as they should be.</item>
/// <item><c>X-Forwarded-Host</c> is honoured too, from the same trusted proxies only, because ingresses that rewrite
/// the Host header would otherwise make the gateway build redirect URIs for an internal host name. The trusted proxy
/// must set it itself (overwriting any value the client sent); the provider's list of registered redirect URIs stays
/// the last line of defence.</item>
/// <item>Every hop that is a trusted proxy is unwrapped (no fixed hop limit); the first untrusted address stops it.</item>
/// </list>
/// </summary>
internal sealed class ForwardedHeadersSetup(IOptions<BffOptions> bffOptions, ILogger<ForwardedHeadersSetup> logger) : IConfigureOptions<ForwardedHeadersOptions>
{
    public void Configure(ForwardedHeadersOptions options)
    {
        var settings = bffOptions.Value.ForwardedHeaders;
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();

        foreach (var proxy in ForwardedHeadersSettings.Entries(settings.KnownProxies))
        {
            if (!ForwardedHeadersSettings.TryParseAddress(proxy, out var address))
            {
                continue; // Refused at start-up by BffOptionsValidator.
            }

            options.KnownProxies.Add(address);
            if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            {
                // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d.
                options.KnownProxies.Add(address.MapToIPv6());
            }
        }

        foreach (var entry in ForwardedHeadersSettings.Entries(settings.KnownNetworks))
        {
            if (!ForwardedHeadersSettings.TryParseNetwork(entry, out var network))
            {
                continue; // Refused at start-up by BffOptionsValidator.
            }

            if (ForwardedHeadersSettings.IsVeryBroad(network))
            {
                BffLog.ForwardedNetworkVeryBroad(logger, entry);
            }

            options.KnownIPNetworks.Add(network);
            if (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            {
                options.KnownIPNetworks.Add(new System.Net.IPNetwork(network.BaseAddress.MapToIPv6(), network.PrefixLength + 96));
            }
        }

        // Empty lists would make the middleware trust everyone: no trusted proxy means no forwarded headers at all.
        var anyTrusted = options.KnownProxies.Count > 0 || options.KnownIPNetworks.Count > 0;
        options.ForwardedHeaders = anyTrusted
            ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost
            : ForwardedHeaders.None;
        options.ForwardLimit = null;
    }
}
