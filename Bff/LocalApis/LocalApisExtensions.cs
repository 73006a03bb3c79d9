using Bff.DPoP;

namespace Bff.LocalApis;

internal static class LocalApisExtensions
{
    /// <summary>The guard of <c>RequireBffSession</c> endpoints and the token service they call APIs with.</summary>
    public static IServiceCollection AddBffLocalApis(this IServiceCollection services)
    {
        services.AddSingleton<LocalApiGuard>();
        services.AddSingleton<IBffAccessTokens, BffAccessTokens>();
        services.AddBffDPoP();
        return services;
    }
}
