using Bff.Observability;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bff.Tokens;

internal static class TokensExtensions
{
    /// <summary>
    /// Token acquisition for proxied calls. <see cref="IRefreshLock"/> is registered with TryAdd: a shared session
    /// store registers its distributed lock before or after this, and that one is used.
    /// </summary>
    public static IServiceCollection AddBffTokens(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRefreshLock, InProcessRefreshLock>();
        services.AddSingleton<TokenEndpointClient>();
        services.AddSingleton<RefreshWindow>();
        services.AddSingleton<ResourceTokenCache>();
        services.AddSingleton<SpentRefreshTokens>();
        services.AddSingleton<UnsavedRefreshes>();
        services.AddSingleton<SessionRefresher>();
        services.AddSingleton<ReplicaRefreshWait>();
        services.AddSingleton<RefreshCoordinator>();
        services.AddSingleton<UserTokenProvider>();
        services.AddSingleton<ClientTokenCache>();
        services.AddHealthChecks().AddCheck<ProviderClientHealthCheck>(ProviderClientHealthCheck.Name, tags: [BffHealth.ReadyTag]);
        return services;
    }
}
