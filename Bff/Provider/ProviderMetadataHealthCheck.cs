using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Provider;

/// <summary>
/// Ready when the provider's discovery document has been read and names the configured issuer. The OpenID Connect
/// handler's configuration manager caches it, so a probe costs nothing once it has loaded, and a provider that goes
/// away later does not make the pod unready while the cached metadata still works.
/// </summary>
internal sealed class ProviderMetadataHealthCheck(ProviderMetadata metadata) : IHealthCheck
{
    public const string Name = "provider";

    /// <summary>A probe that waits longer than this for the provider reports it unhealthy rather than hanging the kubelet.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = await metadata.GetAsync(cancellationToken);
        return result.Succeeded
            ? HealthCheckResult.Healthy("Provider metadata loaded.")
            : HealthCheckResult.Unhealthy("Provider metadata unavailable: " + result.Error!.Code);
    }
}
