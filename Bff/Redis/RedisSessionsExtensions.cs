using Bff.Hosting;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tokens;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace Bff.Redis;

internal static class RedisSessionsExtensions
{
    /// <summary>Sessions, seen logout tokens and the Data Protection key ring in Redis; readiness follows Redis.</summary>
    public static IServiceCollection AddBffRedisSessions(this IServiceCollection services)
    {
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<SessionPayloadProtector>();
        services.AddSingleton<SessionCache>();
        services.AddSingleton<SessionInvalidation>();
        services.AddSingleton<RedisSessionStore>();
        services.AddSingleton<ISessionStore>(sp => sp.GetRequiredService<RedisSessionStore>());
        services.AddSingleton<ITokenReplayCache, RedisTokenReplayCache>();
        // Replaces the in-process default (registered with TryAdd by AddBffTokens).
        services.AddSingleton<IRefreshLock, RedisRefreshLock>();
        services.AddHostedService<RedisSessionsStartup>();

        services.AddSingleton<IConfigureOptions<KeyManagementOptions>, RedisKeyRingSetup>();
        services.AddSingleton<IValidateOptions<KeyManagementOptions>, SharedKeyRingValidator>();
        services.AddOptions<KeyManagementOptions>().ValidateOnStart();

        services.AddHealthChecks().AddCheck<RedisHealthCheck>(RedisHealthCheck.Name, tags: [BffHealth.ReadyTag]);
        return services;
    }

    /// <summary>Connects and subscribes before the first request, so the first requests do not pay for it.</summary>
    private sealed class RedisSessionsStartup(RedisConnection connection, SessionInvalidation invalidation, ILogger<RedisSessionsStartup> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await invalidation.StartAsync();
            BffLog.RedisSessionsInUse(logger, connection.EndPoints, connection.Keys.Prefix);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
