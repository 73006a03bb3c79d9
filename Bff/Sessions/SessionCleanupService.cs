using Bff.Configuration;
using Bff.Observability;

namespace Bff.Sessions;

/// <summary>Sweeps expired sessions out of <see cref="InMemorySessionStore"/> once a minute.</summary>
internal sealed class SessionCleanupService(
    IServiceProvider services,
    TimeProvider timeProvider,
    Observability.BffMetrics metrics,
    ILogger<SessionCleanupService> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (SessionsExtensions.ConfiguredStore(services) != SessionStoreKind.InMemory)
        {
            return;
        }

        var store = services.GetRequiredService<InMemorySessionStore>();
        using var timer = new PeriodicTimer(Interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var removed = store.RemoveExpired();
                if (removed > 0)
                {
                    Observability.BffLog.ExpiredSessionsRemoved(logger, removed);
                    metrics.SessionEnded(Observability.TelemetryNames.SessionEndReasons.Expired, removed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
