using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bff.Csrf;

internal static class CsrfExtensions
{
    /// <summary>The anti-forgery check that proxied routes, local APIs and <c>/bff/user</c> share.</summary>
    public static IServiceCollection AddBffCsrf(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ForgeryCheck>();
        return services;
    }
}
