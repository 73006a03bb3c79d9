using Bff.Admin;
using Bff.Authentication;
using Bff.Endpoints;
using Bff.Hosting;
using Bff.Observability;
using Bff.Proxy;
using Bff.Spa;

namespace Bff;

/// <summary>The gateway's middleware and endpoints in an ASP.NET Core application.</summary>
public static class BffWebApplicationExtensions
{
    /// <summary>
    /// The gateway's middleware, in its order: the admin API's port split (when <c>Bff:Admin:Enabled</c>), forwarded headers from trusted proxies and the public-origin check
    /// (first, so everything after sees the corrected request), HSTS outside Development, Problem Details for the
    /// gateway's own endpoints, tracing of sign-in and sign-out, the OpenID Connect callbacks with their rate limit, and
    /// authorization (the policies of proxied routes and endpoints, evaluated on the session's user after the
    /// anti-forgery check). Call it before other middleware that reads the request's scheme, host or client address.
    /// Throws <see cref="InvalidOperationException"/> when an <see cref="ILoggerFactory"/> was registered after AddBff,
    /// since its lines would escape the gateway's log redaction.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The same application, for chaining.</returns>
    public static IApplicationBuilder UseBff(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        BffLoggerFactory.EnsureInPlace(app.ApplicationServices);
        app.UseBffAdmin();
        app.UseBffForwardedHeaders();
        app.UseBffSecurityHeaders();
        app.UseBffEndpointResponses();
        app.UseBffOperationTracing();
        app.UseBffAuthentication();
        app.UseBffAuthorization();
        return app;
    }

    /// <summary>
    /// The gateway's endpoints: <c>/bff/login</c>, <c>/bff/logout</c>, <c>/bff/user</c>, <c>/bff/events</c> (the session's
    /// event stream), <c>/bff/backchannel</c>,
    /// <c>/health/live</c> and <c>/health/ready</c>, the YARP routes of the <c>ReverseProxy</c> section (with the
    /// anti-forgery check and the token each route asks for), and, when there is a SPA to serve (<c>Bff:Spa:RootPath</c>
    /// or a <c>wwwroot</c> folder), its files with the <c>index.html</c> fallback. Endpoints the application maps itself
    /// win over the fallback; guard them with
    /// <see cref="BffEndpointConventionBuilderExtensions.RequireBffSession{TBuilder}"/>.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The same application, for chaining.</returns>
    public static WebApplication MapBff(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapBffEndpoints();
        app.MapBffHealth();
        app.MapBffProxy();
        app.MapBffSpa();
        return app;
    }
}
