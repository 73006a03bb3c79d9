using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// One <c>redis-server</c> process (a primary, a replica, a Sentinel or a cluster node) on a free loopback port, a
/// child of the test run: only processes started here are ever killed, never a Redis the user runs.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(15);

    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisProcess(int port) => Port = port;

    public int Port { get; }

    public string EndPoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts <c>redis-server</c> with <paramref name="arguments"/> (after the port and bind address) and waits for PING.</summary>
    public static async Task<RedisProcess> StartAsync(int port, string directory, IEnumerable<string> arguments, string? configFile = null)
    {
        var executable = FindRedisServer() ?? throw new InvalidOperationException(
            "redis-server is not installed, and the Redis topology tests need a real Redis. Run ./test.sh (it installs redis-server) or apt-get install -y redis-server.");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        if (configFile is not null)
        {
            start.ArgumentList.Add(configFile);
        }

        foreach (var argument in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var redis = new RedisProcess(port);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => redis.Append(e.Data);
        process.ErrorDataReceived += (_, e) => redis.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        redis._process = process;

        var deadline = DateTime.UtcNow + StartDeadline;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {redis.Output}");
            }

            if (await redis.TryCommandAsync("PING") is "PONG")
            {
                return redis;
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException($"redis-server did not answer PING within {StartDeadline}: {redis.Output}");
    }

    /// <summary>Runs one command; the reply as a string, a long, an array of replies, or null. An error reply throws.</summary>
    public Task<object?> CommandAsync(params string[] command) => Resp.CommandAsync(Port, command);

    public async Task<object?> TryCommandAsync(params string[] command)
    {
        try
        {
            return await CommandAsync(command);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or RespErrorException)
        {
            return null;
        }
    }

    /// <summary>One field of <c>INFO</c> (for example <c>role</c> or <c>master_repl_offset</c>).</summary>
    public async Task<string?> InfoAsync(string section, string field)
    {
        var info = (string?)await CommandAsync("INFO", section) ?? string.Empty;
        foreach (var line in info.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return line[(field.Length + 1)..];
            }
        }

        return null;
    }

    /// <summary>SIGKILL: the process dies at once, as a crashed node does.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static string? FindRedisServer()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"])
            .Select(directory => Path.Combine(directory, "redis-server"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Free loopback ports, distinct from each other (a cluster node needs two: its port and its bus port).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds; throws with <paramref name="what"/> if it never does.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Gave up waiting for {what}.");
            }

            await Task.Delay(25);
        }
    }
}

/// <summary>An error reply from Redis.</summary>
public sealed class RespErrorException(string message) : Exception(message);

/// <summary>A minimal RESP2 client for the fixtures: one connection per command, replies read whole.</summary>
internal static class Resp
{
    public static async Task<object?> CommandAsync(int port, string[] command)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
        foreach (var part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        var reader = new Reader(stream, timeout.Token);
        return await reader.ReadAsync();
    }

    private sealed class Reader(NetworkStream stream, CancellationToken cancellationToken)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync()
        {
            var line = await ReadLineAsync();
            var body = line[1..];
            switch (line[0])
            {
                case '+':
                    return body;
                case '-':
                    throw new RespErrorException(body);
                case ':':
                    return long.Parse(body, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(body, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await ReadBytesAsync(length + 2);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    var count = int.Parse(body, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync();
                    }

                    return items;
                default:
                    throw new IOException($"Unexpected RESP reply '{line}'.");
            }
        }

        private async Task<string> ReadLineAsync()
        {
            var line = new List<byte>();
            while (true)
            {
                var b = await ReadByteAsync();
                if (b == '\n' && line.Count > 0 && line[^1] == '\r')
                {
                    return Encoding.UTF8.GetString([.. line.Take(line.Count - 1)]);
                }

                line.Add(b);
            }
        }

        private async Task<byte[]> ReadBytesAsync(int count)
        {
            var bytes = new byte[count];
            for (var i = 0; i < count; i++)
            {
                bytes[i] = await ReadByteAsync();
            }

            return bytes;
        }

        private async ValueTask<byte> ReadByteAsync()
        {
            if (_start == _end)
            {
                _end = await stream.ReadAsync(_buffer, cancellationToken);
                _start = 0;
                if (_end == 0)
                {
                    throw new IOException("Redis closed the connection.");
                }
            }

            return _buffer[_start++];
        }
    }
}

/// <summary>
/// Redis with Sentinel on loopback: one primary, one replica and three Sentinels (quorum 2) watching the service
/// <see cref="ServiceName"/>. <see cref="KillPrimaryAsync"/> crashes the primary and returns once the Sentinels have
/// promoted the replica.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    public const string ServiceName = "bff-primary";

    private readonly string _directory = Directory.CreateTempSubdirectory("bff-sentinel-").FullName;
    private readonly List<RedisProcess> _sentinels = [];

    public RedisProcess Primary { get; private set; } = null!;

    public RedisProcess Replica { get; private set; } = null!;

    public IReadOnlyList<RedisProcess> Sentinels => _sentinels;

    /// <summary>The gateway's connection string: the Sentinels and the service name, as an operator writes it.</summary>
    public string Configuration => string.Join(",", _sentinels.Select(s => s.EndPoint)) + ",serviceName=" + ServiceName;

    public async Task InitializeAsync()
    {
        var ports = RedisProcess.FreePorts(5);
        string[] common = ["--save", "", "--appendonly", "no"];
        Primary = await RedisProcess.StartAsync(ports[0], Subdirectory("primary"), common);
        Replica = await RedisProcess.StartAsync(ports[1], Subdirectory("replica"), [.. common, "--replicaof", "127.0.0.1", ports[0].ToString(CultureInfo.InvariantCulture)]);
        for (var i = 0; i < 3; i++)
        {
            var directory = Subdirectory("sentinel" + i);
            var config = Path.Combine(directory, "sentinel.conf");
            await File.WriteAllTextAsync(config, string.Join('\n',
                $"sentinel monitor {ServiceName} 127.0.0.1 {ports[0]} 2",
                $"sentinel down-after-milliseconds {ServiceName} 1000",
                $"sentinel failover-timeout {ServiceName} 10000",
                $"sentinel parallel-syncs {ServiceName} 1",
                "") + "\n");
            _sentinels.Add(await RedisProcess.StartAsync(ports[2 + i], directory, ["--sentinel", "--dir", directory], config));
        }

        await RedisProcess.UntilAsync(async () => await Replica.InfoAsync("replication", "master_link_status") == "up", "the replica to sync");
        foreach (var sentinel in _sentinels)
        {
            await RedisProcess.UntilAsync(async () => await KnowsReplicaAndPeersAsync(sentinel), "each Sentinel to know the replica and the other Sentinels");
        }
    }

    /// <summary>Waits until the replica has everything the primary has (so a failover loses no write made so far).</summary>
    public Task ReplicaCaughtUpAsync() => RedisProcess.UntilAsync(async () =>
    {
        var primary = await Primary.InfoAsync("replication", "master_repl_offset");
        var replica = await Replica.InfoAsync("replication", "master_repl_offset");
        return primary is not null && primary == replica;
    }, "the replica to catch up with the primary");

    /// <summary>Kills the primary and waits until every Sentinel names the replica as the service's primary and it acts as one.</summary>
    public async Task KillPrimaryAsync()
    {
        await Primary.KillAsync();
        foreach (var sentinel in _sentinels)
        {
            await RedisProcess.UntilAsync(async () => await PrimaryPortAsync(sentinel) == Replica.Port, "the Sentinels to promote the replica");
        }

        await RedisProcess.UntilAsync(async () => await Replica.InfoAsync("replication", "role") == "master", "the replica to act as primary");
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _sentinels.Append(Replica).Append(Primary))
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<int?> PrimaryPortAsync(RedisProcess sentinel) =>
        await sentinel.TryCommandAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName) is object?[] { Length: 2 } address
            ? int.Parse((string)address[1]!, CultureInfo.InvariantCulture)
            : null;

    private static async Task<bool> KnowsReplicaAndPeersAsync(RedisProcess sentinel)
    {
        if (await sentinel.TryCommandAsync("SENTINEL", "MASTER", ServiceName) is not object?[] fields)
        {
            return false;
        }

        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            values[(string)fields[i]!] = fields[i + 1]?.ToString() ?? string.Empty;
        }

        return values.GetValueOrDefault("num-slaves") == "1" && values.GetValueOrDefault("num-other-sentinels") == "2";
    }

    private string Subdirectory(string name) => Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;
}

/// <summary>
/// A Redis Cluster on loopback: three primaries (<c>redis-server --cluster-enabled yes</c>), each with one replica,
/// joined by <c>redis-cli --cluster create</c>. <see cref="KillPrimaryOfAsync"/> crashes the primary that serves a
/// key and returns once its replica has taken over its slots.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private const int Primaries = 3;

    private readonly string _directory = Directory.CreateTempSubdirectory("bff-cluster-").FullName;
    private readonly List<RedisProcess> _nodes = [];

    public IReadOnlyList<RedisProcess> Nodes => _nodes;

    /// <summary>The gateway's connection string: every node, as an operator lists a cluster's seeds.</summary>
    public string Configuration => string.Join(",", _nodes.Select(n => n.EndPoint));

    public async Task InitializeAsync()
    {
        // Each node has a client port and a cluster bus port (not port + 10000, which may be beyond 65535 or taken).
        var ports = RedisProcess.FreePorts(Primaries * 4);
        for (var i = 0; i < Primaries * 2; i++)
        {
            var directory = Directory.CreateDirectory(Path.Combine(_directory, "node" + i)).FullName;
            _nodes.Add(await RedisProcess.StartAsync(ports[2 * i], directory,
            [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                "--cluster-port", ports[2 * i + 1].ToString(CultureInfo.InvariantCulture),
                "--save", "", "--appendonly", "no", "--dir", directory,
            ]));
        }

        var create = new ProcessStartInfo(FindRedisCli())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--cluster", "create" }.Concat(_nodes.Select(n => n.EndPoint)).Concat(["--cluster-replicas", "1", "--cluster-yes"]))
        {
            create.ArgumentList.Add(argument);
        }

        using (var process = Process.Start(create)!)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({process.ExitCode}): {await output} {await errors}");
            }
        }

        foreach (var node in _nodes)
        {
            await RedisProcess.UntilAsync(async () => await ClusterInfoAsync(node, "cluster_state") == "ok", "every node to see the cluster as ok");
        }

        await ReplicasCaughtUpAsync();
    }

    /// <summary>Waits until every replica has everything its primary has (so a failover loses no write made so far).</summary>
    public async Task ReplicasCaughtUpAsync()
    {
        foreach (var replica in _nodes.Where(n => n.IsRunning))
        {
            if (await replica.InfoAsync("replication", "role") != "slave")
            {
                continue;
            }

            var primaryPort = int.Parse((await replica.InfoAsync("replication", "master_port"))!, CultureInfo.InvariantCulture);
            var primary = _nodes.Single(n => n.Port == primaryPort);
            await RedisProcess.UntilAsync(async () =>
                await replica.InfoAsync("replication", "master_link_status") == "up"
                && await primary.InfoAsync("replication", "master_repl_offset") == await replica.InfoAsync("replication", "master_repl_offset"),
                "a replica to catch up with its primary");
        }
    }

    /// <summary>The node that serves <paramref name="key"/>'s slot now.</summary>
    public async Task<RedisProcess> PrimaryOfAsync(string key)
    {
        var port = await PrimaryPortAsync(_nodes.First(n => n.IsRunning), key);
        return _nodes.Single(n => n.Port == port);
    }

    /// <summary>
    /// Moves <paramref name="key"/>'s slot, with its keys, to another primary the way <c>redis-cli --cluster reshard</c>
    /// does: IMPORTING/MIGRATING, MIGRATE the keys in batches, then the new owner announced to every node. Returns
    /// the new owner.
    /// </summary>
    public async Task<RedisProcess> MigrateSlotOfAsync(string key)
    {
        var source = await PrimaryOfAsync(key);
        var slot = ((long)(await source.CommandAsync("CLUSTER", "KEYSLOT", key))!).ToString(CultureInfo.InvariantCulture);
        RedisProcess? target = null;
        foreach (var node in _nodes.Where(n => n.IsRunning && n.Port != source.Port))
        {
            if (await node.InfoAsync("replication", "role") == "master")
            {
                target = node;
                break;
            }
        }

        target = target ?? throw new InvalidOperationException("No other primary to move the slot to.");
        var sourceId = (string)(await source.CommandAsync("CLUSTER", "MYID"))!;
        var targetId = (string)(await target.CommandAsync("CLUSTER", "MYID"))!;
        await target.CommandAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
        await source.CommandAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
        while (await source.CommandAsync("CLUSTER", "GETKEYSINSLOT", slot, "10") is object?[] { Length: > 0 } keys)
        {
            await source.CommandAsync(["MIGRATE", "127.0.0.1", target.Port.ToString(CultureInfo.InvariantCulture), "", "0", "5000", "KEYS", .. keys.Select(k => (string)k!)]);
        }

        await target.CommandAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        await source.CommandAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
        foreach (var node in _nodes.Where(n => n.IsRunning && n.Port != source.Port && n.Port != target.Port))
        {
            if (await node.InfoAsync("replication", "role") == "master")
            {
                await node.CommandAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
            }
        }

        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            await RedisProcess.UntilAsync(async () => await PrimaryPortAsync(node, key) == target.Port, "every node to see the slot's new owner");
        }

        return target;
    }

    /// <summary>
    /// Kills the primary that serves <paramref name="key"/> and waits until its replica has been promoted and every
    /// surviving node sees the cluster as ok again.
    /// </summary>
    public async Task<RedisProcess> KillPrimaryOfAsync(string key)
    {
        var primary = await PrimaryOfAsync(key);
        await primary.KillAsync();
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            await RedisProcess.UntilAsync(async () => await ClusterInfoAsync(node, "cluster_state") == "ok"
                && await PrimaryPortAsync(node, key) is { } port && port != primary.Port, "the replica to take over the killed primary's slots");
        }

        return primary;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The port of the primary that serves <paramref name="key"/>'s slot, as <paramref name="view"/> sees it.</summary>
    private static async Task<long?> PrimaryPortAsync(RedisProcess view, string key)
    {
        if (await view.TryCommandAsync("CLUSTER", "KEYSLOT", key) is not long slot || await view.TryCommandAsync("CLUSTER", "SLOTS") is not object?[] ranges)
        {
            return null;
        }

        foreach (var range in ranges.OfType<object?[]>())
        {
            if ((long)range[0]! <= slot && slot <= (long)range[1]! && range[2] is object?[] owner)
            {
                return (long)owner[1]!;
            }
        }

        return null;
    }

    private static async Task<string?> ClusterInfoAsync(RedisProcess node, string field)
    {
        var info = await node.TryCommandAsync("CLUSTER", "INFO") as string ?? string.Empty;
        return info.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..];
    }

    private static string FindRedisCli()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/bin", "/usr/local/bin"])
            .Select(directory => Path.Combine(directory, "redis-cli"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-cli is not installed (it comes with redis-server's package, redis-tools).");
    }
}
