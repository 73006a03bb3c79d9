using Bff.Admin;
using Bff.Authentication;
using Bff.Authorization;
using Bff.Configuration;
using Bff.Csrf;
using Bff.Endpoints;
using Bff.Hosting;
using Bff.LocalApis;
using Bff.Provider;
using Bff.Proxy;
using Bff.Redis;
using Bff.Sessions;
using Bff.Spa;
using Bff.Tokens;

namespace Bff;

/// <summary>Adds the gateway's services to an ASP.NET Core application.</summary>
public static class BffWebApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the gateway, configured by the <c>Bff</c> section (settings, checked at start-up: a key that is not a setting
    /// or a value that cannot work stops the host with a message naming the key) and YARP's <c>ReverseProxy</c> section
    /// (routes and clusters). Also adds OpenTelemetry (OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set),
    /// health checks, forwarded-headers trust from <c>Bff:ForwardedHeaders</c>, HSTS and Problem Details, and puts a
    /// decorator in front of the application's <see cref="ILoggerFactory"/> that blanks URL query values and cookie data
    /// in every log line (register a logger factory of your own before this call).
    /// Then call <see cref="BffWebApplicationExtensions.UseBff"/> and <see cref="BffWebApplicationExtensions.MapBff"/>.
    /// </summary>
    /// <param name="builder">The application's builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static WebApplicationBuilder AddBff(this WebApplicationBuilder builder) => builder.AddBff(configure: null);

    /// <summary>
    /// Adds the gateway as <see cref="AddBff(WebApplicationBuilder)"/> does, then applies <paramref name="configure"/> to
    /// the settings bound from the <c>Bff</c> section; the result is validated at start-up like configured settings.
    /// </summary>
    /// <param name="builder">The application's builder.</param>
    /// <param name="configure">Changes to the bound settings, for example <c>options =&gt; options.ClientSecret = secret</c>.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static WebApplicationBuilder AddBff(this WebApplicationBuilder builder, Action<BffOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddBffOptions(builder.Configuration);
        if (configure is not null)
        {
            // Registered after the binding in AddBffOptions, so it runs after it.
            services.Configure(configure);
        }

        // Each feature registers only its own services; the order of these calls does not matter.
        services.AddBffProvider();
        services.AddBffSessions();
        services.AddBffRedisSessions();
        services.AddBffAuthentication();
        services.AddBffAuthorization();
        services.AddBffTokens();
        services.AddBffCsrf();
        services.AddBffProxy(builder.Configuration);
        services.AddBffLocalApis();
        services.AddBffEndpoints();
        services.AddBffSpa();
        services.AddBffAdmin();
        services.AddProblemDetails();
        builder.AddBffObservability();
        return builder;
    }
}
