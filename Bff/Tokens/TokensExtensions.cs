using Bff.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Bff.Tokens;

internal static class TokensExtensions
{
    /// <summary>
    /// Token acquisition for proxied calls and local APIs. The <see cref="IRefreshLock"/> is the one the session
    /// store's kind registers under its key (Redis: across replicas), else the in-process one.
    /// </summary>
    public static IServiceCollection AddBffTokens(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<InProcessRefreshLock>();
        services.AddSingleton<IRefreshLock>(static sp =>
            sp.GetKeyedService<IRefreshLock>(sp.GetRequiredService<IOptions<BffOptions>>().Value.Session.Store)
            ?? sp.GetRequiredService<InProcessRefreshLock>());
        services.AddSingleton<RefreshWindow>();
        services.AddSingleton<ResourceTokenCache>();
        services.AddSingleton<SpentRefreshTokens>();
        services.AddSingleton<UnsavedRefreshes>();
        services.AddSingleton<SessionRefresher>();
        services.AddSingleton<ReplicaRefreshWait>();
        services.AddSingleton<RefreshCoordinator>();
        services.AddSingleton<UserTokenProvider>();
        services.AddSingleton<ClientTokenCache>();
        return services;
    }
}
