using Bff.Configuration;
using Bff.Observability;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Bff.Sessions;

internal static class SessionsExtensions
{
    /// <summary>
    /// Sessions: the cookie, the lookup, the issuer, the store <c>Bff:Session:Store</c> names, and the notices that a
    /// session ended (<see cref="ISessionEvents"/>, for the pages' event streams). Each store kind
    /// registers itself as a keyed <see cref="ISessionStore"/> and <see cref="ITokenReplayCache"/> (the in-memory one
    /// here, Redis in its own folder); which one serves is read from the validated options at its first use, so
    /// a store chosen in code (<c>AddBff(options =&gt; …)</c>) counts as much as one chosen in configuration, and the
    /// order in which features are registered does not matter.
    /// </summary>
    public static IServiceCollection AddBffSessions(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SessionCookie>();
        services.AddSingleton<SessionResolver>();
        services.AddSingleton<RejectedCookieReporter>();
        services.AddSingleton<SessionIssuer>();
        services.AddSingleton<SessionTermination>();

        services.AddSingleton<InMemorySessionStore>();
        services.AddKeyedSingleton<ISessionStore>(SessionStoreKind.InMemory, static (sp, _) => sp.GetRequiredService<InMemorySessionStore>());
        services.AddKeyedSingleton<ITokenReplayCache, InMemoryTokenReplayCache>(SessionStoreKind.InMemory);
        services.AddHostedService<SessionCleanupService>();
        services.AddHostedService<InMemoryStoreNotice>();

        services.AddSingleton<ISessionStore>(static sp => new InstrumentedSessionStore(
            () =>
            {
                var kind = ConfiguredStore(sp);
                return (sp.GetRequiredKeyedService<ISessionStore>(kind), kind);
            },
            sp.GetRequiredService<BffMetrics>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ITokenReplayCache>(static sp => new ConfiguredTokenReplayCache(
            () => sp.GetRequiredKeyedService<ITokenReplayCache>(ConfiguredStore(sp))));

        // Session-ended notices: straight to this replica's streams, or through Redis to every replica's.
        services.AddSingleton<SessionEventHub>();
        services.AddKeyedSingleton<ISessionEvents, InProcessSessionEvents>(SessionStoreKind.InMemory);
        services.AddSingleton<ISessionEvents>(static sp => new ConfiguredSessionEvents(
            () => sp.GetRequiredKeyedService<ISessionEvents>(ConfiguredStore(sp))));
        return services;
    }

    /// <summary>The store the validated settings name (<c>Bff:Session:Store</c>, or code).</summary>
    public static SessionStoreKind ConfiguredStore(IServiceProvider services) =>
        services.GetRequiredService<IOptions<BffOptions>>().Value.Session.Store;

    /// <summary>Says at start-up that in-memory sessions make this a single-replica gateway.</summary>
    private sealed class InMemoryStoreNotice(IServiceProvider services, ILogger<InMemorySessionStore> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (ConfiguredStore(services) == SessionStoreKind.InMemory)
            {
                BffLog.InMemorySessionsSingleReplica(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
