using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>
/// Serves the built SPA from the gateway's own origin, so the browser talks to one site: its cookie stays
/// first-party and no CORS is needed.
/// </summary>
internal static class SpaExtensions
{
    public static IServiceCollection AddBffSpa(this IServiceCollection services)
    {
        services.AddOptions<SpaOptions>().BindBffSection(SpaOptions.SubsectionName).ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<SpaOptions>, SpaOptionsSetup>();
        services.AddSingleton<IValidateOptions<SpaOptions>, SpaOptionsValidator>();
        services.AddSingleton<SpaFiles>();
        return services;
    }

    /// <summary>
    /// Static files from <c>Bff:Spa:RootPath</c> and the index.html fallback for client-side routes. Map it after the
    /// gateway's own endpoints. Without a SPA root it adds nothing.
    /// </summary>
    public static WebApplication MapBffSpa(this WebApplication app)
    {
        // Reading the options here validates them; BffHost reports a refusal raised while composing.
        if (app.Services.GetRequiredService<SpaFiles>().Provider is null)
        {
            return app;
        }

        app.UseMiddleware<SpaMiddleware>();
        return app;
    }
}
