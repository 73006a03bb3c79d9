using Bff.Observability;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Hosting;

/// <summary>
/// Kubernetes probes. <c>/health/live</c> runs no check: it answers while the process can serve HTTP, so a slow
/// provider or Redis never gets the pod restarted. <c>/health/ready</c> runs every check tagged <see cref="HealthTags.Ready"/>:
/// the provider's metadata (without it nobody can sign in) and whatever other features register, such as Redis.
/// Bodies are small JSON with a status per check and nothing else (no exception text); responses are never cached.
/// </summary>
internal static class BffHealth
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    public static Task WriteResponseAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString(), StringComparer.Ordinal);
        return JsonSerializer.SerializeAsync(
            context.Response.Body,
            new HealthResponse(report.Status.ToString(), checks),
            HealthJsonContext.Default.HealthResponse,
            context.RequestAborted);
    }

    public static HealthCheckOptions LiveOptions() => new()
    {
        Predicate = static _ => false,
        ResponseWriter = WriteResponseAsync,
    };

    public static HealthCheckOptions ReadyOptions() => new()
    {
        Predicate = static check => check.Tags.Contains(HealthTags.Ready),
        ResponseWriter = WriteResponseAsync,
    };
}

internal sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks);

[System.Text.Json.Serialization.JsonSerializable(typeof(HealthResponse))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
