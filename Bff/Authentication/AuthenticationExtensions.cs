using Bff.Sessions;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bff.Authentication;

internal static class AuthenticationExtensions
{
    public const string DataProtectionApplicationName = "bff";

    public static IServiceCollection AddBffAuthentication(this IServiceCollection services)
    {
        // No default authenticate scheme: only the endpoints and routes that need a session look one up, so static
        // files and health probes never touch the session store.
        services.AddAuthentication(options =>
            {
                options.DefaultChallengeScheme = SessionAuthenticationHandler.SchemeName;
                options.DefaultForbidScheme = SessionAuthenticationHandler.SchemeName;
                options.DefaultSignOutScheme = SessionAuthenticationHandler.SchemeName;
            })
            .AddScheme<SessionAuthenticationOptions, SessionAuthenticationHandler>(SessionAuthenticationHandler.SchemeName, _ => { })
            .AddOpenIdConnect(OpenIdConnectDefaults.AuthenticationScheme, _ => { });

        services.ConfigureOptions<OidcOptionsSetup>();
        services.AddSingleton<OidcEvents>();
        services.AddSingleton<SignInUserInfo>();
        // TryAdd: the proxy registers the routes' resources before or after this, and that one is used.
        services.TryAddSingleton<ISignInResources, NoSignInResources>();
        services.AddSingleton<SignInRateLimiter>();
        services.AddSingleton<SignInAttempts>();
        services.AddSingleton<StepUpAnswer>();
        services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        return services;
    }

    /// <summary>
    /// The sign-in rate limit (<see cref="SignInRateLimiter"/>), then the authentication middleware, in place of <c>UseAuthentication</c> (see <see cref="BffAuthenticationMiddleware"/>).
    /// Marks the pipeline as having one, so that WebApplication does not add the standard middleware in front of it.
    /// </summary>
    public static IApplicationBuilder UseBffAuthentication(this IApplicationBuilder app)
    {
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        app.UseMiddleware<SignInRateLimitMiddleware>();
        return app.UseMiddleware<BffAuthenticationMiddleware>();
    }

    /// <summary>The key ASP.NET Core's <c>UseAuthentication</c> sets, which WebApplication checks before adding its own.</summary>
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";
}
