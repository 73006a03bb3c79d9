using Yarp.ReverseProxy.Configuration;

namespace Bff.Bench;

/// <summary>
/// The baseline: what a team would run without a BFF, and what a BFF's proxy can at best be. YARP with the gateway's
/// route (<c>/api/{**catch-all}</c>, no body-size limit), the same Kestrel and logging levels as the gateway's
/// defaults, no authentication, no telemetry.
/// </summary>
internal static class PlainYarp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var upstream = builder.Configuration["upstream"] ?? throw new InvalidOperationException("--upstream URL is required.");
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("Yarp", LogLevel.Warning);
        builder.Services.AddReverseProxy().LoadFromMemory(
            [
                new RouteConfig
                {
                    RouteId = "api",
                    ClusterId = "api",
                    Match = new RouteMatch { Path = "/api/{**catch-all}" },
                    MaxRequestBodySize = -1,
                },
            ],
            [
                new ClusterConfig
                {
                    ClusterId = "api",
                    Destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal)
                    {
                        ["api"] = new() { Address = upstream },
                    },
                },
            ]);
        var app = builder.Build();
        app.MapReverseProxy();
        await app.RunAsync();
        return 0;
    }
}
