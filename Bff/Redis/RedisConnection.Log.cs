namespace Bff.Redis;

internal sealed partial class RedisConnection
{
    /// <summary>What the connection found and followed; never the connection string (it may carry a password).</summary>
    private static partial class Log
    {
        [LoggerMessage(5100, LogLevel.Information, "Redis shape: {Shape}, {Primaries} primary(ies) and {Replicas} replica(s) reachable.")]
        public static partial void Shape(ILogger logger, string shape, int primaries, int replicas);

        [LoggerMessage(5101, LogLevel.Warning, "Redis changed its configuration at {EndPoint} (a failover, a promoted replica, a moved slot or a restart); the gateway follows it.")]
        public static partial void TopologyChanged(ILogger logger, string endPoint);
    }
}
