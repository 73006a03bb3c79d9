using Bff.Observability;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Provider;

internal static class ProviderExtensions
{
    /// <summary>
    /// Everything that talks to the OpenID provider: its metadata and signing keys, the token and revocation
    /// endpoints, and the checks of the tokens it sends (logout tokens, refreshed ID tokens). Readiness follows the
    /// provider's metadata and whether it accepts the gateway's client credentials.
    /// </summary>
    public static IServiceCollection AddBffProvider(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ProviderMetadata>();
        services.AddSingleton<ClientCredentials>();
        services.AddSingleton<ClientAuthenticator>();
        services.AddSingleton<ClientCertificateExpiry>();
        services.AddHostedService<ClientCertificateMonitor>();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<Bff.Configuration.BffOptions>, ClientCredentialsValidator>();
        services.AddSingleton<SigningKeyRefresh>();
        services.AddSingleton<LogoutTokenValidator>();
        services.AddSingleton<RefreshedIdTokenValidator>();
        services.AddSingleton<TokenEndpointClient>();
        services.AddSingleton<TokenRevoker>();
        services.AddSingleton<UserInfoClient>();
        services.AddProviderHttpClients();
        services.AddHealthChecks()
            .AddCheck<ProviderMetadataHealthCheck>(
                ProviderMetadataHealthCheck.Name, HealthStatus.Unhealthy, [HealthTags.Ready], ProviderMetadataHealthCheck.Timeout)
            .AddCheck<ProviderClientHealthCheck>(ProviderClientHealthCheck.Name, tags: [HealthTags.Ready])
            .AddCheck<ClientCertificateHealthCheck>(ClientCertificateHealthCheck.Name, HealthStatus.Degraded, [HealthTags.Ready]);
        return services;
    }
}
