using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Bff.Bench;

/// <summary>
/// The refresh storm: N sessions whose access tokens expire at the same instant, then every session calls the API
/// through every replica at once (a load balancer spreading a page's calls over the pods), all replicas sharing one
/// Redis. The provider must see exactly one refresh per session and no spent refresh token presented again; the calls
/// that reached a replica which did not refresh waited for the one that did, and their added latency is reported.
/// <para>
/// Everything but Redis and the replicas runs in this process: <see cref="StubProvider"/> (one port per replica, so a
/// refresh is known by the replica that made it) and the echo API. Counts are exact under any load; the latencies
/// mean something only on a quiet machine.
/// </para>
/// </summary>
internal static class RefreshStorm
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = Args.Parse(args);
        var sessions = options.Int("sessions", 1_000);
        var replicaCount = options.Int("replicas", 3);
        var inFlight = options.Int("in-flight", 200);
        var redis = options.Required("redis");
        var hostDirectory = options.Required("host");
        var refreshDelay = TimeSpan.FromMilliseconds(options.Int("refresh-delay-ms", 20));

        await using var provider = await StubProvider.StartAsync(replicaCount);
        provider.RefreshDelay = refreshDelay;
        var (upstream, upstreamAddress) = await EchoUpstream.StartAsync();
        await using var _ = upstream;

        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var replicas = new List<ChildProcess>();
        try
        {
            for (var i = 0; i < replicaCount; i++)
            {
                replicas.Add(await ChildProcess.StartGatewayAsync($"replica-{i + 1}", hostDirectory, secret,
                [
                    $"--Bff:Authority={provider.Authority(i)}", $"--Bff:ClientId={StubProvider.ClientId}", "--Bff:RequireHttpsMetadata=false",
                    "--Bff:PublicOrigin=http://127.0.0.1", "--Bff:Scopes=openid profile email offline_access",
                    "--Bff:RateLimits:SignIn:Enabled=false", "--Bff:Session:Store=Redis", $"--Bff:Redis:Configuration={redis}",
                    // Every token is due the moment it expires, not a minute before: the storm starts when the driver says.
                    "--Bff:Tokens:RefreshBeforeExpiry=00:00:00",
                    "--Logging:LogLevel:Default=Warning",
                    "--ReverseProxy:Routes:api:ClusterId=api", "--ReverseProxy:Routes:api:Match:Path=/api/{**catch-all}",
                    "--ReverseProxy:Routes:api:Metadata:Bff.Token=User",
                    $"--ReverseProxy:Clusters:api:Destinations:api:Address={upstreamAddress}",
                ]));
            }

            return await StormAsync(provider, replicas, sessions, inFlight, refreshDelay);
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    private static async Task<int> StormAsync(StubProvider provider, List<ChildProcess> replicas, int count, int inFlight, TimeSpan refreshDelay)
    {
        using var http = StubSignIn.Client(inFlight * 2);

        // Sign in: tokens expire together, at a moment after the last sign-in should be done (later ones get 1 s).
        var expireAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5 + count * 0.02);
        provider.SignInTokensExpireAt = expireAt;
        var signedIn = new (string Cookie, string Subject)[count];
        var signInClock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            signedIn[i] = await StubSignIn.SignInAsync(http, replicas[i % replicas.Count].Address, "/bff/login?returnUrl=%2F"));
        Console.Error.WriteLine($"[storm] {count} sessions signed in in {signInClock.Elapsed.TotalSeconds:F1} s; tokens expire at {expireAt:HH:mm:ss}");

        var wait = expireAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1.5);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        // The storm: every session calls through every replica at the same moment.
        var calls = new ConcurrentBag<Call>();
        var failures = 0;
        var answers = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var stormClock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, inFlight / replicas.Count) }, async (i, _) =>
        {
            // Each session's calls leave in a rotated order, so no replica is always first to ask.
            await Task.WhenAll(Enumerable.Range(0, replicas.Count).Select(k => (k + i) % replicas.Count).Select(async r =>
            {
                var call = await CallAsync(http, replicas[r], signedIn[i].Cookie);
                answers.AddOrUpdate(call.Answer, 1, static (_, n) => n + 1);
                if (!call.Ok)
                {
                    Interlocked.Increment(ref failures);
                }

                calls.Add(call with { Session = i, Replica = r });
            }));
        });
        stormClock.Stop();

        // Afterwards, with fresh tokens: what a call costs when nobody refreshes (the reference for "added").
        // A session lost in the storm (its calls now 401) would show here.
        var steady = new ConcurrentBag<double>();
        var lost = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, inFlight / replicas.Count) }, async (i, _) =>
        {
            var call = await CallAsync(http, replicas[i % replicas.Count], signedIn[i].Cookie);
            steady.Add(Milliseconds(call.Ended - call.Started));
            if (call.Answer.StartsWith("401", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref lost);
            }
        });

        // Which replica refreshed each session (the provider port its refresh arrived on), and which calls waited for it.
        var replicaOfPort = provider.Ports.Select((port, index) => (port, index)).ToDictionary(p => p.port, p => p.index);
        var refresher = new List<double>();
        var waiter = new List<double>();
        var refresherLag = new List<double>();
        var waiterLag = new List<double>();
        var added = new List<double>();
        var late = 0;
        foreach (var session in calls.GroupBy(c => c.Session))
        {
            if (!provider.Refreshes.TryGetValue(signedIn[session.Key].Subject, out var refresh))
            {
                continue;
            }

            var refreshedBy = replicaOfPort[refresh.Port];
            var own = session.FirstOrDefault(c => c.Replica == refreshedBy);
            refresher.Add(Milliseconds(own.Ended - own.Started));
            var ownLag = Milliseconds(own.Ended - refresh.Answered);
            refresherLag.Add(ownLag);
            foreach (var call in session.Where(c => c.Replica != refreshedBy))
            {
                if (call.Started >= refresh.Answered)
                {
                    late++; // arrived after the new tokens were saved: it did not wait
                    continue;
                }

                waiter.Add(Milliseconds(call.Ended - call.Started));
                var lag = Milliseconds(call.Ended - refresh.Answered);
                waiterLag.Add(lag);
                added.Add(lag - ownLag);
            }
        }

        var refreshes = provider.RefreshesGranted;
        var spent = provider.SpentTokensPresented;
        var byReplica = string.Join(" / ", provider.Ports.Select(p => provider.RefreshesByPort.GetValueOrDefault(p)));
        var exact = refreshes == count && spent == 0 && lost == 0;
        Console.WriteLine($"# Refresh storm: {count} sessions, {replicas.Count} replicas sharing Redis, provider refresh round trip {refreshDelay.TotalMilliseconds:F0} ms");
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| provider refreshes (must equal sessions) | **{refreshes}** of {count} {(refreshes == count ? "✓" : "✗")} |");
        Console.WriteLine($"| refreshes by replica | {byReplica} |");
        Console.WriteLine($"| spent refresh tokens presented again | **{spent}** {(spent == 0 ? "✓" : "✗")} |");
        Console.WriteLine($"| calls | {calls.Count}, non-2xx {failures} {(failures == 0 ? "✓" : "✗")} |");
        Console.WriteLine($"| answers | {string.Join(", ", answers.OrderByDescending(a => a.Value).Select(a => $"{a.Key}: {a.Value}"))} |");
        Console.WriteLine($"| sessions lost (401 after the storm) | **{lost}** {(lost == 0 ? "✓" : "✗")} |");
        Console.WriteLine($"| storm duration | {stormClock.Elapsed.TotalSeconds:F2} s |");
        Console.WriteLine($"| calls that waited for another replica's refresh | {waiter.Count} ({late} more arrived after it was saved) |");
        Console.WriteLine($"| latency of the refreshing replica's calls, p50 / p99 | {P(refresher, 50)} / {P(refresher, 99)} ms |");
        Console.WriteLine($"| latency of the waiting calls, p50 / p99 | {P(waiter, 50)} / {P(waiter, 99)} ms |");
        Console.WriteLine($"| waiting calls: done after the provider answered the refresh, p50 / p99 | {P(waiterLag, 50)} / {P(waiterLag, 99)} ms (refreshing call: {P(refresherLag, 50)} / {P(refresherLag, 99)} ms) |");
        Console.WriteLine($"| **added latency of waiting** (waiting call's lag − the refreshing call's, per session), p50 / p99 | **{P(added, 50)} / {P(added, 99)} ms** |");
        Console.WriteLine($"| a call with fresh tokens afterwards, p50 / p99 | {P([.. steady], 50)} / {P([.. steady], 99)} ms |");
        Console.WriteLine();
        Console.WriteLine(exact
            ? $"refresh-storm: OK (one refresh per session, none spent twice, no session lost; {failures} calls answered non-2xx)"
            : "refresh-storm: FAILED");
        return exact ? 0 : 1;
    }

    private static async Task<Call> CallAsync(HttpClient http, ChildProcess replica, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(replica.Address, "/api/storm"));
        request.Headers.TryAddWithoutValidation("Cookie", cookie);
        request.Headers.TryAddWithoutValidation("X-CSRF", "1");
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var ok = response.IsSuccessStatusCode && body.Contains("\"bearer\":true", StringComparison.Ordinal);
            var error = ok ? null : System.Text.RegularExpressions.Regex.Match(body, "\"error\":\"([a-z_]+)\"").Groups[1].Value;
            return new Call(0, 0, started, Stopwatch.GetTimestamp(), ok, ok ? "200" : $"{(int)response.StatusCode} {error}".TrimEnd());
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"[storm] {replica.Name}: {e.Message}");
            return new Call(0, 0, started, Stopwatch.GetTimestamp(), false, "connection failed");
        }
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    internal static string P(List<double> values, int percentile)
    {
        if (values.Count == 0)
        {
            return "–";
        }

        values.Sort();
        var index = (int)Math.Ceiling(percentile / 100.0 * values.Count) - 1;
        return values[Math.Clamp(index, 0, values.Count - 1)].ToString("F1", CultureInfo.InvariantCulture);
    }

    private readonly record struct Call(int Session, int Replica, long Started, long Ended, bool Ok, string Answer);
}
