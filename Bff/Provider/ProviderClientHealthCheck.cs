using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Provider;

/// <summary>
/// Not ready while the provider refuses the gateway's client credentials (<c>invalid_client</c>,
/// <c>unauthorized_client</c>): no session can renew its tokens, so the deployment is broken until an operator fixes
/// the registration, and a rollout should stop here. Ready again as soon as a token request succeeds.
/// </summary>
internal sealed class ProviderClientHealthCheck(TokenEndpointClient tokenEndpoint) : IHealthCheck
{
    public const string Name = "provider_client";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(tokenEndpoint.ClientRejection is { } error
            ? HealthCheckResult.Unhealthy($"The provider refused the client credentials ({error}); check Bff:ClientId, Bff:ClientAuthentication (and Bff:ClientSecret with the secret methods) and the client's registration.")
            : HealthCheckResult.Healthy("The provider accepts the client credentials (or has not been asked yet)."));
}
