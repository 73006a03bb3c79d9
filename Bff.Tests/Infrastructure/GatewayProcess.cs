using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// The published gateway as operators run it: <c>dotnet Bff.Host.dll</c> in a child process, configured only through
/// environment variables, with no console input. Every wait is bounded; a process still running when the test ends is
/// killed.
/// </summary>
public sealed partial class GatewayProcess : IDisposable
{
    /// <summary>Generous: a cold start on a busy two-core machine.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo(DotnetHost(), ["Bff.Host.dll", "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Nothing of the test run's own configuration leaks into the gateway's.
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("Bff__", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
                || name is "DOTNET_ENVIRONMENT" or "DOTNET_URLS")
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnOutput(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("The gateway exited before listening.\n" + Output));
        _process.Start();
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Output => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    public static GatewayProcess Start(IReadOnlyDictionary<string, string?> environment) => new(environment);

    /// <summary>The address Kestrel reported ("Now listening on: …").</summary>
    public async Task<Uri> WaitUntilListeningAsync()
    {
        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            return await _listening.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The gateway did not start listening within {Bound}.\n{Output}");
        }
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The gateway did not exit within {Bound}.\n{Output}");
        }

        // WaitForExitAsync also waits for the redirected streams to reach their end.
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as Kubernetes does to stop a pod.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"kill -TERM {_process.Id}"]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdout)
        {
            _stdout.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups["url"].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (?<url>http://\S+)")]
    private static partial Regex ListeningLine();
}
