using System.Diagnostics;

namespace Bff.Tests.Browser;

/// <summary>Builds spa-sample into spa-sample/dist when the build output is missing or older than its sources.</summary>
internal static class SpaBuild
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<string> EnsureBuiltAsync(string repositoryRoot)
    {
        var spa = Path.Combine(repositoryRoot, "spa-sample");
        var dist = Path.Combine(spa, "dist");
        await Gate.WaitAsync();
        try
        {
            if (!IsStale(spa, dist))
            {
                return dist;
            }

            var lockFile = Path.Combine(spa, "package-lock.json");
            var installed = Path.Combine(spa, "node_modules", ".package-lock.json");
            if (!File.Exists(installed) || File.GetLastWriteTimeUtc(lockFile) > File.GetLastWriteTimeUtc(installed))
            {
                await RunAsync(spa, "npm", "ci", "--no-audit", "--no-fund");
            }

            await RunAsync(spa, "npm", "run", "build");
            return dist;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static bool IsStale(string spa, string dist)
    {
        var index = Path.Combine(dist, "index.html");
        if (!File.Exists(index))
        {
            return true;
        }

        var built = File.GetLastWriteTimeUtc(index);
        var sources = Directory.EnumerateFiles(Path.Combine(spa, "src"), "*", SearchOption.AllDirectories)
            .Append(Path.Combine(spa, "index.html"))
            .Append(Path.Combine(spa, "vite.config.ts"))
            .Append(Path.Combine(spa, "package-lock.json"));
        return sources.Any(source => File.GetLastWriteTimeUtc(source) > built);
    }

    private static async Task RunAsync(string directory, string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{command} {string.Join(' ', arguments)}' in {directory} failed ({process.ExitCode}):{Environment.NewLine}{await stdout}{await stderr}");
        }
    }
}
