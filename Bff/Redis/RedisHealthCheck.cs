using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Redis;

/// <summary>
/// Readiness: a replica whose session store cannot be reached answers every signed-in request with 503, so it should
/// leave the Service's endpoints until Redis answers again. (Not liveness: restarting the pod would not bring Redis back.)
/// </summary>
internal sealed class RedisHealthCheck(RedisConnection connection) : IHealthCheck
{
    public const string Name = "redis";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var multiplexer = await connection.GetMultiplexerAsync();
            if (!multiplexer.IsConnected)
            {
                return HealthCheckResult.Unhealthy("Not connected to the session store (Redis).");
            }

            var latency = await multiplexer.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:0.#} ms.");
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            // The exception's message can name endpoints and internals; the probe only needs the verdict.
            return HealthCheckResult.Unhealthy($"The session store (Redis) did not answer ({ex.GetType().Name}).");
        }
    }
}
