using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Bff.Authorization;

internal static class AuthorizationExtensions
{
    /// <summary>
    /// ASP.NET Core authorization over the session's claims: the policies of <c>Bff:Authorization:Policies</c> next to
    /// any a library user adds in code, and refusals answered as <c>403 forbidden</c> Problem Details and counted.
    /// </summary>
    public static IServiceCollection AddBffAuthorization(this IServiceCollection services)
    {
        services.AddAuthorization();
        services.ConfigureOptions<ConfiguredPolicies>();
        services.AddSingleton<IAuthorizationHandler, GrantedScopesHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, RefusalAnswer>();
        services.AddHostedService<PolicyNameCheck>();
        return services;
    }
}
