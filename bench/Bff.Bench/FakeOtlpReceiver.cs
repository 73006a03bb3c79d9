using System.Collections.Concurrent;

namespace Bff.Bench;

/// <summary>
/// An OTLP/HTTP endpoint that accepts everything and keeps nothing but counts (<c>/v1/traces</c>, <c>/v1/metrics</c>,
/// <c>/v1/logs</c>): what the telemetry mode exports to, so export costs the gateway what it would against a real
/// collector on the node (serialising, compressing, sending) without a collector's CPU on the machine.
/// <c>GET /stats</c> answers the requests and bytes received per signal.
/// </summary>
internal static class FakeOtlpReceiver
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var received = new ConcurrentDictionary<string, (long Requests, long Bytes)>(StringComparer.Ordinal);
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            var buffer = new byte[16 * 1024];
            long bytes = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                bytes += read;
            }

            received.AddOrUpdate(signal, (1, bytes), (_, total) => (total.Requests + 1, total.Bytes + bytes));

            // An empty Export*ServiceResponse: full success.
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength = 0;
        });
        app.MapGet("/stats", () => string.Join(' ', received.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}={r.Value.Requests}/{r.Value.Bytes}")));
        await app.RunAsync();
        return 0;
    }
}
