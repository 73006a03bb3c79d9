using Bff.Observability;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Bff.Hosting;

/// <summary>Operations: OpenTelemetry, health probes, forwarded headers, security response headers.</summary>
internal static class ObservabilityExtensions
{
    /// <summary>
    /// Traces, metrics and logs through OpenTelemetry (OTLP export only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set),
    /// redaction of URL query values in logs and spans, health checks, forwarded-headers trust, HSTS and a shutdown
    /// budget that leaves time to flush telemetry.
    /// </summary>
    public static WebApplicationBuilder AddBffObservability(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        BffLoggerFactory.Decorate(services);

        services.AddSingleton(sp => new BffMetrics(sp.GetRequiredService<IMeterFactory>()));
        services.AddHostedService<InstrumentRegistration>();

        // Spans are recorded when something reads them: an OTLP endpoint, or a sampler chosen on purpose (an exporter
        // added in code). Otherwise the ASP.NET Core and HttpClient instrumentation is not even subscribed: subscribed,
        // it makes ASP.NET Core and HttpClient create an Activity for every request and every upstream call, and inject
        // trace headers, whatever the sampler then decides (about 3 µs of CPU per proxied call, measured in bench/).
        var recordSpans = OtlpExportSettings.IsEnabled(configuration) || !string.IsNullOrWhiteSpace(configuration["OTEL_TRACES_SAMPLER"]);
        var openTelemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the SDK; this is only the fallback name.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService(TelemetryNames.DefaultServiceName, serviceVersion: typeof(BffMetrics).Assembly.GetName().Version?.ToString());
                }
            })
            .WithTracing(tracing =>
            {
                // First processor: every exporter added later (OTLP, a test's) sees redacted spans.
                tracing.AddProcessor(new RedactingActivityProcessor())
                    .AddSource(TelemetryNames.ActivitySourceName, TelemetryNames.YarpActivitySourceName);
                if (recordSpans)
                {
                    tracing.AddAspNetCoreInstrumentation(options => options.Filter = static context => !IsHealthProbe(context.Request.Path))
                        .AddHttpClientInstrumentation();
                }
                else
                {
                    // Nothing reads spans: the gateway's and YARP's own sources record none. Their unrecorded
                    // activities still carry the caller's trace context on to the API.
                    tracing.SetSampler(new AlwaysOffSampler());
                }
            })
            .WithMetrics(metrics => metrics
                .AddMeter(TelemetryNames.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation())
            .WithLogging(configureBuilder: null, configureOptions: options =>
            {
                options.IncludeFormattedMessage = true;
                options.IncludeScopes = true;
            });
        if (OtlpExportSettings.IsEnabled(configuration))
        {
            openTelemetry.UseOtlpExporter();
        }

        services.AddOptions<OtlpExportSettings>()
            .Configure(settings => OtlpExportSettings.Bind(settings, configuration))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OtlpExportSettings>, OtlpExportSettingsValidator>();

        // Kubernetes waits 30 s (terminationGracePeriodSeconds) between SIGTERM and SIGKILL. Draining requests gets
        // 15 s; the OpenTelemetry providers flush their batches when the host is disposed, after that.
        if (configuration["shutdownTimeoutSeconds"] is null)
        {
            services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(15));
        }

        services.AddSingleton<IConfigureOptions<ForwardedHeadersOptions>, ForwardedHeadersSetup>();
        services.AddHsts(options =>
        {
            options.MaxAge = TimeSpan.FromDays(365);
            // Sibling hosts under the same domain are not ours to pin to https.
            options.IncludeSubDomains = false;
            options.Preload = false;
        });

        return builder;
    }

    /// <summary>
    /// Applies <c>X-Forwarded-For/-Proto/-Host</c> from trusted proxies only (<c>Bff:ForwardedHeaders</c>), then refuses
    /// a Host other than <c>Bff:PublicOrigin</c>'s and puts the configured scheme and host in place
    /// (<see cref="PublicOriginMiddleware"/>). Must be the first middleware: everything after it (redirect URIs, cookie
    /// flags, HSTS, logs, forwarded headers to APIs) sees the corrected request.
    /// </summary>
    public static IApplicationBuilder UseBffForwardedHeaders(this IApplicationBuilder app) =>
        app.UseForwardedHeaders().UseMiddleware<PublicOriginMiddleware>();

    /// <summary>
    /// HSTS outside Development, on every response (proxied ones too: the header is about the origin, not the
    /// answer). The gateway's own endpoints also get <c>nosniff</c> (UseBffEndpointResponses).
    /// </summary>
    public static IApplicationBuilder UseBffSecurityHeaders(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IHostEnvironment>().IsDevelopment() ? app : app.UseHsts();

    /// <summary>Opens the gateway's spans around login, callback and logout requests. Place it before UseBffAuthentication.</summary>
    public static IApplicationBuilder UseBffOperationTracing(this IApplicationBuilder app) =>
        app.UseMiddleware<OperationTracingMiddleware>();

    /// <summary><c>/health/live</c> and <c>/health/ready</c>, anonymous and without CSRF checks, for Kubernetes probes.</summary>
    public static IEndpointRouteBuilder MapBffHealth(this IEndpointRouteBuilder endpoints)
    {
        // Probes carry no credentials: an application's FallbackPolicy must not turn them into 401s.
        endpoints.MapHealthChecks(BffHealth.LivePath, BffHealth.LiveOptions()).AllowAnonymous();
        endpoints.MapHealthChecks(BffHealth.ReadyPath, BffHealth.ReadyOptions()).AllowAnonymous();
        return endpoints;
    }

    private static bool IsHealthProbe(PathString path) => path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates the gateway's instruments at start-up, so observable ones (active sessions) report from the first export.</summary>
    private sealed class InstrumentRegistration(BffMetrics metrics) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = metrics.Meter;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
