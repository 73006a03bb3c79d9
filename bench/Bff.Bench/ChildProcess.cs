using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bff.Bench;

/// <summary>
/// A program the storms start (a gateway replica, the baseline app) on a loopback port of its own, its output in a log
/// file, stopped when disposed. Its CPU time is read from the kernel (<c>/proc</c>), so CPU per sign-in does not depend
/// on how the driver's own threads were scheduled.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChildProcess(string name, Process process, Uri address, string log)
    {
        Name = name;
        _process = process;
        Address = address;
        Log = log;
    }

    public string Name { get; }

    public Uri Address { get; }

    public string Log { get; }

    public int Id => _process.Id;

    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The deployable gateway (<c>Bff.Host</c>, Production) with the settings given, as <c>--key=value</c>.</summary>
    public static Task<ChildProcess> StartGatewayAsync(string name, string hostDirectory, string clientSecret, IEnumerable<string> settings, IDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Bff__ClientSecret"] = clientSecret,
        };
        return StartAsync(name, hostDirectory, Path.Combine(hostDirectory, "Bff.Host.dll"), port,
            [$"--urls=http://127.0.0.1:{port}", .. settings], env, "/health/ready");
    }

    /// <summary>A subcommand of this program (e.g. the baseline app), started as a process of its own.</summary>
    public static Task<ChildProcess> StartBenchAsync(string name, IEnumerable<string> arguments, string readyPath)
    {
        var port = FreePort();
        var self = typeof(ChildProcess).Assembly.Location;
        return StartAsync(name, Path.GetDirectoryName(self)!, self, port,
            [.. arguments, "--urls", $"http://127.0.0.1:{port}"], new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" }, readyPath);
    }

    private static async Task<ChildProcess> StartAsync(
        string name, string directory, string dll, int port, IEnumerable<string> arguments, IDictionary<string, string> environment, string readyPath)
    {
        // BENCH_APP_CPUS (set by run.sh): the apps under test on the proxy's core, as the throughput runs place them.
        // taskset execs the program, so the process id (and its CPU time) is the app's own.
        var cpus = Environment.GetEnvironmentVariable("BENCH_APP_CPUS");
        var info = new ProcessStartInfo(string.IsNullOrEmpty(cpus) ? "dotnet" : "taskset")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!string.IsNullOrEmpty(cpus))
        {
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(cpus);
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var log = Path.Combine(Path.GetTempPath(), $"bff-bench-{name}-{Environment.ProcessId}.log");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{name} did not start.");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var child = new ChildProcess(name, process, new Uri($"http://127.0.0.1:{port}"), log);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 600; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited during start-up (see {log}).");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri(child.Address, readyPath));
                if (response.IsSuccessStatusCode || readyPath == "/")
                {
                    return child;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Busy starting.
            }

            await Task.Delay(100);
        }

        await child.DisposeAsync();
        throw new InvalidOperationException($"{name} did not become ready (see {log}).");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
