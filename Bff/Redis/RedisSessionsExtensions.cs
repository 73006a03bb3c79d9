using Microsoft.Extensions.Diagnostics.HealthChecks;
using Bff.Configuration;
using Bff.DPoP;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tokens;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace Bff.Redis;

internal static class RedisSessionsExtensions
{
    /// <summary>
    /// Sessions, seen logout tokens, the refresh lock and the Data Protection key ring in Redis; readiness follows
    /// Redis. Registered always, as keyed services and setups that do nothing unless <c>Bff:Session:Store</c> is
    /// <c>Redis</c> in the validated settings: nothing connects to Redis otherwise.
    /// </summary>
    public static IServiceCollection AddBffRedisSessions(this IServiceCollection services)
    {
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<SessionPayloadProtector>();
        services.AddSingleton<SessionCache>();
        services.AddSingleton<SessionInvalidation>();
        services.AddSingleton<RedisSessionStore>();
        services.AddKeyedSingleton<ISessionStore>(SessionStoreKind.Redis, static (sp, _) => sp.GetRequiredService<RedisSessionStore>());
        services.AddKeyedSingleton<ITokenReplayCache, RedisTokenReplayCache>(SessionStoreKind.Redis);
        services.AddKeyedSingleton<IRefreshLock, RedisRefreshLock>(SessionStoreKind.Redis);
        services.AddKeyedSingleton<IDPoPKeyStore, RedisDPoPKeyStore>(SessionStoreKind.Redis);
        services.AddKeyedSingleton<ISessionEvents, RedisSessionEvents>(SessionStoreKind.Redis);
        services.AddHostedService<RedisSessionsStartup>();
        services.AddSingleton<IDependencyOutage, RedisOutage>();

        services.AddSingleton<IConfigureOptions<KeyManagementOptions>, RedisKeyRingSetup>();
        services.AddSingleton<IValidateOptions<KeyManagementOptions>, SharedKeyRingValidator>();
        services.AddOptions<KeyManagementOptions>().ValidateOnStart();

        services.AddHealthChecks();
        services.AddSingleton<IConfigureOptions<HealthCheckServiceOptions>, RedisHealthRegistration>();
        return services;
    }

    /// <summary>Connects and subscribes before the first request, so the first requests do not pay for it.</summary>
    private sealed class RedisSessionsStartup(IServiceProvider services, ILogger<RedisSessionsStartup> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (!InUse(services))
            {
                return;
            }

            var connection = services.GetRequiredService<RedisConnection>();
            await services.GetRequiredService<SessionInvalidation>().StartAsync();
            BffLog.RedisSessionsInUse(logger, connection.EndPoints, connection.Keys.Prefix);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// Whether the validated settings keep sessions in Redis. Refused settings are reported by their own validation at
    /// start-up, which stops the host: until then, nothing here uses Redis.
    /// </summary>
    public static bool InUse(IServiceProvider services)
    {
        try
        {
            return services.GetRequiredService<IOptions<BffOptions>>().Value.Session.Store == SessionStoreKind.Redis;
        }
        catch (OptionsValidationException)
        {
            return false;
        }
    }

    /// <summary>Readiness follows Redis, when sessions are kept there.</summary>
    private sealed class RedisHealthRegistration(IServiceProvider services) : IConfigureOptions<HealthCheckServiceOptions>
    {
        public void Configure(HealthCheckServiceOptions options)
        {
            if (InUse(services))
            {
                options.Registrations.Add(new HealthCheckRegistration(
                    RedisHealthCheck.Name,
                    sp => ActivatorUtilities.CreateInstance<RedisHealthCheck>(sp),
                    failureStatus: null,
                    tags: [HealthTags.Ready]));
            }
        }
    }
}
