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
internal sealed class RedisConnection : IAsyncDisposable
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
        if (multiplexer.IsConnected)
        {
            BffLog.RedisConnected(_logger, EndPoints);
        }
        else
        {
            BffLog.RedisNotConnectedAtStart(_logger, EndPoints);
        }

        return multiplexer;
    }

    private static int Milliseconds(TimeSpan value) => (int)Math.Ceiling(value.TotalMilliseconds);
}

/// <summary>Every key and channel the gateway uses in Redis, under one prefix.</summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix => prefix;

    /// <summary>A session, by <see cref="SessionKey.Hash"/> of its cookie value: the cookie value itself never reaches Redis.</summary>
    /// <remarks>
    /// <c>v2</c>: sessions written in an earlier format (a hash, a JSON payload) sit under <c>session:{id}</c>, are
    /// never read again and expire by themselves.
    /// </remarks>
    public RedisKey Session(string sessionId) => prefix + "session:v2:" + sessionId;

    /// <summary>Set of session ids of one subject. Named by a hash so that Redis key names carry no personal data.</summary>
    public RedisKey SubjectIndex(string subject) => prefix + "sub:" + SessionKey.Hash(subject);

    /// <summary>
    /// Sorted set of one subject's session ids, scored by creation time (Unix milliseconds): the per-user cap ends the
    /// lowest scores first, and a list of a user's sessions reads it in order. Ids only, never token material.
    /// </summary>
    public RedisKey SubjectSessions(string subject) => prefix + "subject-sessions:" + SessionKey.Hash(subject);

    /// <summary>Set of session ids of one provider session (<c>sid</c>).</summary>
    public RedisKey ProviderSessionIndex(string providerSessionId) => prefix + "sid:" + SessionKey.Hash(providerSessionId);

    public RedisKey SeenLogoutToken(string tokenId) => prefix + "jti:" + SessionKey.Hash(tokenId);

    public RedisKey RefreshLock(string sessionId) => prefix + "lock:refresh:" + sessionId;

    public RedisKey DataProtectionKeys => prefix + "dataprotection:keys";

    public RedisChannel SessionChanges => RedisChannel.Literal(prefix + "sessions:changed");

    /// <summary>Session-ended notices for the pages' event streams (<see cref="RedisSessionEvents"/>).</summary>
    public RedisChannel SessionEnded => RedisChannel.Literal(prefix + "sessions:ended");
}
