using Bff.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Bff.Observability;

/// <summary>
/// Derives ASP.NET Core's forwarded-headers options from <c>Bff:ForwardedHeaders</c>.
/// <list type="bullet">
/// <item>Trust is explicit: ASP.NET Core trusts loopback out of the box; that default is cleared, so with nothing
/// configured every <c>X-Forwarded-*</c> header is ignored, whoever sends it.</item>
/// <item><c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> make the gateway see the client's address and the https
/// the browser used, so redirect URIs are <c>https://…</c> and cookies are issued as they should be.</item>
/// <item><c>X-Forwarded-Host</c> is honoured too, from the same trusted proxies only, because ingresses that rewrite
/// the Host header would otherwise make the gateway build redirect URIs for an internal host name. The trusted proxy
/// must set it itself (overwriting any value the client sent); the provider's list of registered redirect URIs stays
/// the last line of defence.</item>
/// <item>Every hop that is a trusted proxy is unwrapped (no fixed hop limit); the first untrusted address stops it.</item>
/// </list>
/// </summary>
internal sealed class ForwardedHeadersSetup(IOptions<BffOptions> bffOptions) : IConfigureOptions<ForwardedHeadersOptions>
{
    public void Configure(ForwardedHeadersOptions options)
    {
        var settings = bffOptions.Value.ForwardedHeaders;
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
        options.ForwardLimit = null;
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

            options.KnownIPNetworks.Add(network);
            if (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            {
                options.KnownIPNetworks.Add(new System.Net.IPNetwork(network.BaseAddress.MapToIPv6(), network.PrefixLength + 96));
            }
        }
    }
}
