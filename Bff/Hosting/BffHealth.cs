using Bff.Provider;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Hosting;

/// <summary>
/// Kubernetes probes. <c>/health/live</c> runs no check: it answers while the process can serve HTTP, so a slow
/// provider or Redis never gets the pod restarted. <c>/health/ready</c> runs every check tagged <see cref="ReadyTag"/>:
/// the provider's metadata (without it nobody can sign in) and whatever other features register, such as Redis.
/// Bodies are small JSON with a status per check and nothing else (no exception text); responses are never cached.
/// </summary>
internal static class BffHealth
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>Tag a health check with this to make readiness depend on it: <c>AddCheck("redis", …, tags: [BffHealth.ReadyTag])</c>.</summary>
    public const string ReadyTag = "ready";

    public const string ProviderCheckName = "provider";

    /// <summary>A probe that waits longer than this for the provider reports it unhealthy rather than hanging the kubelet.</summary>
    public static readonly TimeSpan ProviderCheckTimeout = TimeSpan.FromSeconds(5);

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
        Predicate = static check => check.Tags.Contains(ReadyTag),
        ResponseWriter = WriteResponseAsync,
    };
}

internal sealed record HealthResponse(string Status, IReadOnlyDictionary<string, string> Checks);

[System.Text.Json.Serialization.JsonSerializable(typeof(HealthResponse))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>
/// Ready when the provider's discovery document has been read and names the configured issuer. The OpenID Connect
/// handler's configuration manager caches it, so a probe costs nothing once it has loaded, and a provider that goes
/// away later does not make the pod unready while the cached metadata still works.
/// </summary>
internal sealed class ProviderMetadataHealthCheck(ProviderMetadata metadata) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await metadata.GetAsync(cancellationToken);
        return result.Succeeded
            ? HealthCheckResult.Healthy("Provider metadata loaded.")
            : HealthCheckResult.Unhealthy("Provider metadata unavailable: " + result.Error!.Code);
    }
}
