using Bff.Configuration;
using Bff.Errors;
using Microsoft.Extensions.Options;

namespace Bff.Admin;

internal static class AdminExtensions
{
    public static IServiceCollection AddBffAdmin(this IServiceCollection services)
    {
        services.AddSingleton<AdminTokenValidator>();
        services.AddSingleton<AdminApi>();
        services.AddHostedService<AdminPortCheck>();
        return services;
    }

    /// <summary>
    /// Splits connections by the local port they arrived on, before anything else of the gateway runs: one on
    /// <c>Bff:Admin:Port</c> is answered by the admin API alone (no session cookie, forwarded header, public-origin
    /// check or other endpoint applies there; an unknown path is 404), one on any other port never reaches it.
    /// The port is the socket's, which a client cannot choose with a header. With the admin API off, nothing changes.
    /// </summary>
    public static IApplicationBuilder UseBffAdmin(this IApplicationBuilder app)
    {
        // Read at the first request, after start-up validation has reported every refused setting.
        var settings = new Lazy<AdminSettings>(() =>
        {
            var admin = app.ApplicationServices.GetRequiredService<IOptions<BffOptions>>().Value.Admin;
            if (admin.Enabled)
            {
                AdminLog.Listening(app.ApplicationServices.GetRequiredService<ILogger<AdminApi>>(), admin.Port!.Value);
            }

            return admin;
        });

        return app.Use(async (context, next) =>
        {
            var admin = settings.Value;
            if (!admin.Enabled || context.Connection.LocalPort != admin.Port)
            {
                await next(context);
                return;
            }

            context.Response.Headers.CacheControl = "no-store";
            await context.RequestServices.GetRequiredService<AdminApi>().HandleAsync(context);
        });
    }
}
