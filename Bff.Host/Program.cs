using Bff.Authentication;
using Bff.Configuration;
using Bff.Endpoints;
using Bff.Observability;
using Bff.Proxy;
using Bff.Sessions;
using Bff.Spa;

return BffHost.Run(
    args,
    static builder =>
    {
        builder.Services.AddBffOptions(builder.Configuration);
        builder.Services.AddBffSessions(builder.Configuration);
        builder.Services.AddBffAuthentication();
        builder.Services.AddBffProxy(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddBffSpa();
        // Last: it wraps the session store registered above with telemetry.
        builder.AddBffObservability();
    },
    static app =>
    {
        app.UseBffForwardedHeaders();
        app.UseBffSecurityHeaders();
        app.UseBffEndpointResponses();
        app.UseBffOperationTracing();
        app.UseBffAuthentication();
        app.MapBffEndpoints();
        app.MapBffHealth();
        app.MapBffProxy();
        app.MapBffSpa();
    });

/// <summary>Entry point marker for the test host.</summary>
public partial class Program;
