using Bff.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bff.DPoP;

internal static class DPoPExtensions
{
    /// <summary>
    /// The DPoP keys, the nonces servers handed out, and the handlers the provider's HttpClients use (token requests, calls with a bound token)
    /// (<c>ProviderHttp</c>). Registered always; nothing happens unless <c>Bff:DPoP:Enabled</c> is true, and the key is
    /// loaded or generated at the first request that needs it, never while services are composed.
    /// </summary>
    public static IServiceCollection AddBffDPoP(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddDataProtection();
        services.TryAddSingleton<DPoPKeys>();
        services.TryAddSingleton<DPoPNonces>();
        services.TryAddTransient<DPoPTokenRequestHandler>();
        services.TryAddTransient<DPoPBoundTokenHandler>();
        services.TryAddKeyedSingleton<IDPoPKeyStore, InMemoryDPoPKeyStore>(SessionStoreKind.InMemory);
        return services;
    }
}
