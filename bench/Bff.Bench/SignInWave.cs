using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Bff.Bench;

/// <summary>
/// The morning sign-in wave: N users signing in at once (C in flight), through the gateway and, in the same run,
/// through the baseline (<see cref="BaselineOidcApp"/>: stock OpenID Connect and cookie handlers). The provider is
/// <see cref="StubProvider"/> in this process, which signs everyone in without a form, so it is not the bottleneck.
/// Reports each app's CPU per sign-in (its own process's CPU time, from the kernel) and sign-ins per second; rounds
/// alternate the two apps so slow drift of a shared machine falls on both.
/// </summary>
internal static class SignInWave
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Args.Parse(args);
        var users = options.Int("users", 1_000);
        var concurrency = options.Int("concurrency", 32);
        var rounds = options.Int("rounds", 2);
        var warmup = options.Int("warmup", 200);
        var hostDirectory = options.Required("host");

        await using var provider = await StubProvider.StartAsync(1);
        var (upstream, upstreamAddress) = await EchoUpstream.StartAsync();
        await using var _ = upstream;
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        Environment.SetEnvironmentVariable("BENCH_CLIENT_SECRET", secret);

        await using var gateway = await ChildProcess.StartGatewayAsync("signin-gateway", hostDirectory, secret,
        [
            $"--Bff:Authority={provider.Authority()}", $"--Bff:ClientId={StubProvider.ClientId}", "--Bff:RequireHttpsMetadata=false",
            "--Bff:PublicOrigin=http://127.0.0.1", "--Bff:Scopes=openid profile email offline_access",
            // One loopback client signs everyone in: the per-client sign-in limit would refuse it, as it should.
            "--Bff:RateLimits:SignIn:Enabled=false",
            $"--Bff:Session:MaxInMemorySessions={Math.Max(100_000, (users + warmup) * rounds * 2)}",
            "--ReverseProxy:Routes:api:ClusterId=api", "--ReverseProxy:Routes:api:Match:Path=/api/{**catch-all}",
            "--ReverseProxy:Routes:api:Metadata:Bff.Token=User",
            $"--ReverseProxy:Clusters:api:Destinations:api:Address={upstreamAddress}",
        ]);
        await using var baseline = await ChildProcess.StartBenchAsync("signin-baseline", ["oidc-app", "--authority", provider.Authority()], "/");

        var apps = new (ChildProcess Process, string LoginPath, List<Wave> Waves)[]
        {
            (gateway, "/bff/login?returnUrl=%2F", []),
            (baseline, "/login", []),
        };
        using var http = StubSignIn.Client(concurrency * 2);

        // Warm-up: JIT, connection pools, the provider's metadata and keys fetched.
        foreach (var app in apps)
        {
            await WaveAsync(http, app.Process, app.LoginPath, warmup, concurrency);
        }

        for (var round = 0; round < rounds; round++)
        {
            foreach (var app in round % 2 == 0 ? apps : Enumerable.Reverse(apps))
            {
                var wave = await WaveAsync(http, app.Process, app.LoginPath, users, concurrency);
                app.Waves.Add(wave);
                Console.Error.WriteLine($"[signin-wave] round {round + 1} {app.Process.Name}: {wave.PerSecond:F0} sign-ins/s, {wave.CpuMillisecondsPerSignIn:F2} ms CPU per sign-in, {wave.Failures} failed");
            }
        }

        Console.WriteLine($"# Sign-in wave: {users} users per round, {concurrency} in flight, {rounds} rounds (medians); provider: the in-process stub");
        Console.WriteLine();
        Console.WriteLine("| app | sign-ins/s | CPU per sign-in | p50 / p99 sign-in latency | failures |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var app in apps)
        {
            var w = app.Waves;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(app.Process == gateway ? "gateway (in-memory sessions)" : "baseline: stock OpenID Connect + cookie handlers")} | {Median(w.Select(x => x.PerSecond)):F0} | {Median(w.Select(x => x.CpuMillisecondsPerSignIn)):F2} ms | {Median(w.Select(x => x.P50)):F1} / {Median(w.Select(x => x.P99)):F1} ms | {w.Sum(x => x.Failures)} |"));
        }

        var ratio = Median(apps[0].Waves.Select(x => x.CpuMillisecondsPerSignIn)) / Median(apps[1].Waves.Select(x => x.CpuMillisecondsPerSignIn));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CPU per sign-in, gateway ÷ baseline: **{ratio:F2}**"));
        return apps.Sum(a => a.Waves.Sum(w => w.Failures)) == 0 ? 0 : 1;
    }

    private static async Task<Wave> WaveAsync(HttpClient http, ChildProcess app, string loginPath, int users, int concurrency)
    {
        var latencies = new double[users];
        var failures = 0;
        var cpuBefore = app.CpuTime;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, users), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await StubSignIn.SignInAsync(http, app.Address, loginPath);
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
            {
                if (Interlocked.Increment(ref failures) == 1)
                {
                    Console.Error.WriteLine($"[signin-wave] {app.Name}: {e.Message}");
                }
            }

            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });
        clock.Stop();
        var cpu = app.CpuTime - cpuBefore;
        var sorted = latencies.Order().ToList();
        return new Wave(
            users / clock.Elapsed.TotalSeconds,
            cpu.TotalMilliseconds / users,
            sorted[(int)(0.5 * (users - 1))],
            sorted[(int)Math.Ceiling(0.99 * (users - 1))],
            failures);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private readonly record struct Wave(double PerSecond, double CpuMillisecondsPerSignIn, double P50, double P99, int Failures);
}
