using System.Diagnostics;
using Bff.Configuration;
using Bff.DPoP;

namespace Bff.Bench;

/// <summary>
/// What one DPoP proof costs the gateway: the work <c>DPoPUpstreamHandler</c> adds to a proxied call with a bound token
/// (payload, <c>ath</c> of a typical access token, one signature), timed in-process on one thread, with the bytes it
/// allocates. Prints one Markdown table row per algorithm.
/// </summary>
internal static class DPoPProofCost
{
    public static int Run(string[] args)
    {
        var iterations = 20_000;
        var algorithms = new List<DPoPAlgorithm>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--iterations" when int.TryParse(args[i + 1], out var n) && n > 0:
                    iterations = n;
                    break;
                case "--algorithm" when Enum.TryParse<DPoPAlgorithm>(args[i + 1], ignoreCase: false, out var a):
                    algorithms.Add(a);
                    break;
                default:
                    Console.Error.WriteLine($"unknown or bad argument: {args[i]} {args[i + 1]}");
                    return 2;
            }
        }

        if (algorithms.Count == 0)
        {
            algorithms.AddRange(Enum.GetValues<DPoPAlgorithm>());
        }

        // A JWT-shaped access token of 1 kB, as the providers issue them, and an upstream URL with a query (left out of htu).
        var accessToken = "eyJhbGciOiJSUzI1NiJ9." + new string('a', 700) + "." + new string('b', 342);
        var target = new Uri("http://orders.internal:8080/api/orders/42?page=2");
        Console.WriteLine($"| algorithm | proofs | µs per proof (median of 5 runs) | bytes allocated per proof | proof length |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var algorithm in algorithms)
        {
            using var key = DPoPKey.Generate(algorithm, DateTimeOffset.UtcNow);
            var proof = DPoPProof.Create(key, "GET", target, DateTimeOffset.UtcNow, accessToken, "nonce-1");
            for (var i = 0; i < Math.Min(iterations, 1000); i++)
            {
                DPoPProof.Create(key, "GET", target, DateTimeOffset.UtcNow, accessToken, "nonce-1"); // warm-up
            }

            var runs = new double[5];
            long allocated = 0;
            for (var run = 0; run < runs.Length; run++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < iterations; i++)
                {
                    DPoPProof.Create(key, "GET", target, DateTimeOffset.UtcNow, accessToken, "nonce-1");
                }

                watch.Stop();
                allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / iterations;
                runs[run] = watch.Elapsed.TotalMicroseconds / iterations;
            }

            Array.Sort(runs);
            Console.WriteLine($"| {algorithm} | {iterations} × 5 | {runs[2]:F1} | {allocated} | {proof.Length} |");
        }

        return 0;
    }
}
