using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, started as a child process with no persistence of its own.
/// Tests can stop it (keeping its data, as a restart with persistence would, or losing it), start it again on the same
/// port, or freeze it (SIGSTOP) to play a Redis that accepts connections but never answers.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(15);

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("bff-redis-").FullName;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private bool _frozen;

    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis connection string for the gateway.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public async Task InitializeAsync()
    {
        // Another process can take the free port between probing and binding it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (RedisStartException) when (attempt < 3)
            {
            }
        }
    }

    /// <summary>Starts redis-server (again) on <see cref="Port"/>; loads what a previous <see cref="StopAsync"/> kept.</summary>
    public async Task StartAsync()
    {
        var executable = FindRedisServer() ?? throw new InvalidOperationException(
            "redis-server is not installed, and the session tests need a real Redis. Run the tests with the README's test command (./test.sh), " +
            "which installs it (apt-get install -y redis-server), or install redis-server yourself.");

        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", _dataDirectory, "--dbfilename", "dump.rdb",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _frozen = false;

        var deadline = DateTime.UtcNow + StartDeadline;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new RedisStartException($"redis-server exited with {process.ExitCode}: {Output}");
            }

            if (await TryCommandAsync("PING") == "+PONG")
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new RedisStartException($"redis-server did not answer PING within {StartDeadline}: {Output}");
    }

    /// <summary>
    /// Stops the server. With <paramref name="keepData"/> it saves first and the next <see cref="StartAsync"/> loads
    /// the data back (a Redis restart); without, it is killed and everything is lost.
    /// </summary>
    public async Task StopAsync(bool keepData = true)
    {
        var process = _process ?? throw new InvalidOperationException("redis-server is not running.");
        if (keepData)
        {
            await TryCommandAsync("SHUTDOWN SAVE");
        }
        else
        {
            process.Kill();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        process.Dispose();
        _process = null;
    }

    /// <summary>Suspends the process: connections stay open, commands get no answer.</summary>
    public void Freeze()
    {
        Signal(SigStop);
        _frozen = true;
    }

    public void Thaw()
    {
        Signal(SigCont);
        _frozen = false;
    }

    /// <summary>Runs one inline command (for example <c>FLUSHALL</c>) and returns the first reply line.</summary>
    public async Task<string> CommandAsync(string command) =>
        await TryCommandAsync(command) ?? throw new InvalidOperationException($"redis-server did not answer '{command}'.");

    public async Task DisposeAsync()
    {
        if (_process is { } process)
        {
            if (_frozen)
            {
                Signal(SigCont);
            }

            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            process.Dispose();
            _process = null;
        }

        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Output
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
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task<string?> TryCommandAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), timeout.Token);
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return read == 0 ? null : Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private const int SigStop = 19;
    private const int SigCont = 18;

    private void Signal(int signal)
    {
        var process = _process ?? throw new InvalidOperationException("redis-server is not running.");
        if (NativeMethods.kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    private sealed class RedisStartException(string message) : Exception(message);

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int kill(int pid, int sig);
    }
}
