using Bff.Configuration;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>
/// The process's one Redis multiplexer (StackExchange.Redis multiplexes every caller over a couple of sockets; one per
/// process is the intended use). Configured so that Redis trouble costs bounded time and never stops the gateway:
/// short connect and command timeouts, start-up without Redis (<c>AbortOnConnectFail=false</c>), reconnection in the
/// background, and commands that fail at once while disconnected instead of queueing behind a dead socket.
/// </summary>
internal sealed partial class RedisConnection : IAsyncDisposable
{
    private readonly IOptions<BffOptions> _options;
    private readonly Lazy<Task<ConnectionMultiplexer>> _multiplexer;
    private readonly ILogger<RedisConnection> _logger;
    private RedisKeys? _keys;

    public RedisConnection(IOptions<BffOptions> options, ILogger<RedisConnection> logger)
    {
        // Options are read on first use, not here: this is constructed while the pipeline is composed, and invalid
        // settings must be reported by start-up validation, not thrown from a constructor.
        _options = options;
        _logger = logger;
        _multiplexer = new Lazy<Task<ConnectionMultiplexer>>(ConnectAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public RedisKeys Keys => _keys ??= new RedisKeys(Settings.KeyPrefix);

    private RedisSettings Settings => _options.Value.Redis;

    /// <summary>The endpoints, for logs: the connection string itself may carry a password.</summary>
    public string EndPoints => RedisConfigurationRules.TryParse(Settings.Configuration ?? string.Empty, out _)
        ? string.Join(", ", ConfigurationOptions.Parse(Settings.Configuration!).EndPoints.Select(e => e.ToString()))
        : "(not configured)";

    /// <summary>Completes once the first connection attempt ended, connected or not (it then keeps retrying).</summary>
    public Task<ConnectionMultiplexer> GetMultiplexerAsync() => _multiplexer.Value;

    public async ValueTask<IDatabase> GetDatabaseAsync() => (await _multiplexer.Value).GetDatabase();

    /// <summary>
    /// For Data Protection's key repository, whose API is synchronous. It is first used after start-up, when the
    /// connection task has long completed, so this does not block.
    /// </summary>
    public IDatabase GetDatabase() => _multiplexer.Value.GetAwaiter().GetResult().GetDatabase();

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer.IsValueCreated)
        {
            await (await _multiplexer.Value).DisposeAsync();
        }
    }

    internal static ConfigurationOptions CreateConfiguration(RedisSettings settings)
    {
        var configuration = ConfigurationOptions.Parse(settings.Configuration!);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = Milliseconds(settings.ConnectTimeout);
        configuration.SyncTimeout = Milliseconds(settings.OperationTimeout);
        configuration.AsyncTimeout = Milliseconds(settings.OperationTimeout);
        // Notice a dead connection within seconds (pub/sub invalidation depends on knowing), and come back quickly
        // once Redis does: retry after 250 ms, backing off to at most 2 s between attempts.
        configuration.KeepAlive = 5;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 2000);
        // While disconnected a command fails at once (the request gets a 503 with Retry-After) rather than waiting
        // in a backlog for the operation timeout.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ClientName ??= "bff";
        return configuration;
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(CreateConfiguration(Settings));
        multiplexer.ConnectionFailed += (_, e) => BffLog.RedisConnectionFailed(_logger, e.ConnectionType.ToString(), e.FailureType.ToString());
        multiplexer.ConnectionRestored += (_, e) => BffLog.RedisConnectionRestored(_logger, e.ConnectionType.ToString());
        multiplexer.ConfigurationChanged += (_, e) => Log.TopologyChanged(_logger, e.EndPoint?.ToString() ?? "?");
        if (multiplexer.IsConnected)
        {
            BffLog.RedisConnected(_logger, EndPoints);
            LogShape(multiplexer);
        }
        else
        {
            BffLog.RedisNotConnectedAtStart(_logger, EndPoints);
        }

        return multiplexer;
    }

    /// <summary>Standalone, Sentinel (the connection string names a service) or Cluster (the servers say so).</summary>
    private void LogShape(ConnectionMultiplexer multiplexer)
    {
        var servers = multiplexer.GetServers().Where(s => s.IsConnected).ToList();
        var shape = servers.Any(s => s.ServerType == ServerType.Cluster) ? "Cluster"
            : string.IsNullOrEmpty(ConfigurationOptions.Parse(Settings.Configuration!).ServiceName) ? "Standalone"
            : "Sentinel";
        Log.Shape(_logger, shape, servers.Count(s => !s.IsReplica), servers.Count(s => s.IsReplica));
    }

    private static int Milliseconds(TimeSpan value) => (int)Math.Ceiling(value.TotalMilliseconds);
}
