using Bff.Configuration;
using Bff.Observability;
using Bff.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bff.Sessions;

internal static class SessionsExtensions
{
    public static IServiceCollection AddBffSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SessionCookie>();
        services.AddSingleton<SessionResolver>();
        services.AddSingleton<RejectedCookieReporter>();
        services.AddSingleton<SessionIssuer>();

        // Read before the options are bound, by name only: the binder would throw on "Reds" and read "1" as Redis. A value
        // that is not a name is refused at start-up (SettingsShape), so the fallback never serves.
        var store = SettingsShape.TryParseName<SessionStoreKind>(configuration[$"{BffOptions.SectionName}:Session:Store"], out var named)
            ? named
            : SessionStoreKind.InMemory;
        if (store == SessionStoreKind.InMemory)
        {
            services.AddSingleton<InMemorySessionStore>();
            services.AddSingleton<ISessionStore>(sp => sp.GetRequiredService<InMemorySessionStore>());
            services.AddHostedService<SessionCleanupService>();
            services.AddHostedService<InMemoryStoreNotice>();
            services.AddSingleton<ITokenReplayCache, InMemoryTokenReplayCache>();
        }
        else
        {
            services.AddBffRedisSessions();
        }

        return services;
    }

    /// <summary>Says at start-up that in-memory sessions make this a single-replica gateway.</summary>
    private sealed class InMemoryStoreNotice(ILogger<InMemorySessionStore> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            Observability.BffLog.InMemorySessionsSingleReplica(logger);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
