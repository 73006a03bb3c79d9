using Bff.Authentication;
using Bff.DPoP;
using Bff.Observability;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace Bff.Proxy;

internal static class ProxyExtensions
{
    /// <summary>YARP's standard configuration section (Routes, Clusters).</summary>
    public const string SectionName = "ReverseProxy";

    /// <summary>YARP with the routes and clusters of the <c>ReverseProxy</c> section.</summary>
    public static IServiceCollection AddBffProxy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddReverseProxy()
            .LoadFromConfig(configuration.GetSection(SectionName))
            .AddTransforms<RouteTransformProvider>();
        // Replaces YARP's own factory (registered with TryAdd by AddReverseProxy) with one that adds DPoP proofs.
        services.AddSingleton<Yarp.ReverseProxy.Forwarder.IForwarderHttpClientFactory, DPoPForwarderHttpClientFactory>();
        services.AddBffDPoP();

        services.AddSingleton<ISignInResources, RouteResources>();
        services.AddSingleton<ProxyConfigurationCheck>();
        services.AddSingleton<IValidateOptions<ProxyConfigurationCheck.Result>>(sp => sp.GetRequiredService<ProxyConfigurationCheck>());
        services.AddOptions<ProxyConfigurationCheck.Result>().ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Maps the configured routes with the gateway's pipeline: anti-forgery, token, forward, error mapping
    /// (<see cref="ProxyMiddleware"/>), then YARP's own affinity, load balancing and passive health steps.
    /// </summary>
    public static IEndpointRouteBuilder MapBffProxy(this IEndpointRouteBuilder endpoints)
    {
        ReverseProxyConventionBuilder routes;
        try
        {
            routes = endpoints.MapReverseProxy(pipeline =>
            {
                pipeline.UseMiddleware<ProxyMiddleware>();
                pipeline.UseSessionAffinity();
                pipeline.UseLoadBalancing();
                pipeline.UsePassiveHealthChecks();
            });
        }
        catch (OptionsValidationException)
        {
            // Building the pipeline constructs services that read the Bff options. Invalid options are reported, without
            // a stack trace, by the start-up validation in BffHost.Run, which stops the host before it serves anything.
            return endpoints;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is not null)
        {
            // YARP refused the routes or clusters: stop at start-up with its reasons (ProxyConfigurationCheck).
            var failures = ex.InnerException is AggregateException invalid
                ? invalid.Flatten().InnerExceptions.Select(e => e.Message).ToArray()
                : [ex.InnerException.Message];
            var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProxyExtensions));
            foreach (var failure in failures)
            {
                BffLog.ProxyConfigurationRejected(logger, failure);
            }

            endpoints.ServiceProvider.GetRequiredService<ProxyConfigurationCheck>().Refuse(failures);
            return endpoints;
        }

        // Parsed once per route each time routes load; requests read the result from their endpoint.
        // The step-up requirement also as metadata of its own: the authorization gate reads it the same way for routes
        // and local endpoints.
        routes.ConfigureEndpoints(static (endpoint, route) =>
        {
            var policy = RoutePolicy.Parse(route, problems: null);
            endpoint.WithMetadata(policy);
            if (policy.StepUp is { } stepUp)
            {
                endpoint.WithMetadata(stepUp);
            }
        });
        return endpoints;
    }
}
