using System.Collections.Concurrent;
using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;

namespace Bff.Tests.Redis;

/// <summary>
/// A rolling restart of every replica (what <c>kubectl rollout restart</c> does) while users call APIs whose
/// short-lived tokens keep being refreshed: each replica in turn leaves the load balancer, drains, stops and is replaced
/// by a new one. Counted, not timed: no session is lost, no refresh token reaches the provider twice, and no call is
/// answered anything but 200 (or 503 with Retry-After).
/// </summary>
public sealed class RollingRestartTests : IAsyncLifetime
{
    private const int Replicas = 3;
    private const int Users = 6;

    private readonly ReplicaSet _set = new();
    private UpstreamApi _api = null!;

    public async Task InitializeAsync()
    {
        await _set.InitializeAsync();
        _api = await UpstreamApi.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _set.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task Restarting_all_three_replicas_one_by_one_under_refreshing_load_loses_no_session_and_spends_no_refresh_token_twice()
    {
        var spent = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        _set.Idp.RefreshBehavior = request =>
        {
            spent.AddOrUpdate(TestIdentityProvider.Form(request).GetValueOrDefault("refresh_token") ?? string.Empty, 1, (_, n) => n + 1);
            return null;
        };

        // Every access token lasts two seconds: the load below refreshes each session about once a second.
        _set.Idp.AccessTokenLifetime = TimeSpan.FromSeconds(2);
        var pool = new ReplicaPool(Enumerable.Range(0, Replicas).Select(_ => StartReplica()));
        var browsers = new List<BrowserClient>();
        for (var i = 0; i < Users; i++)
        {
            var browser = pool.Snapshot[i % Replicas].Replica.CreateBrowser();
            browsers.Add(browser);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_set.Idp, subject: "rolling-" + i)).StatusCode);
        }

        var answers = new ConcurrentBag<(HttpStatusCode Status, bool RetryAfter)>();
        using var stop = new CancellationTokenSource();
        var load = browsers.Select((browser, i) => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                using var lease = pool.Lease(n + i);
                using var response = await browser.GetWithCsrfAsync(lease.Replica.Url("/api/orders"));
                answers.Add((response.StatusCode, response.Headers.RetryAfter is not null));
            }
        })).ToList();

        for (var i = 0; i < Replicas; i++)
        {
            var before = _set.Idp.RefreshRequests;
            await RedisProcess.UntilAsync(() => Task.FromResult(_set.Idp.RefreshRequests >= before + Users), "refreshes before the restart");

            // Out of the load balancer, drained, stopped, then replaced by a new replica.
            var old = pool.Remove(i);
            await RedisProcess.UntilAsync(() => Task.FromResult(old.InFlight == 0), "the replica drained");
            old.Replica.Dispose();
            pool.Add(i, StartReplica());
        }

        var afterRollout = _set.Idp.RefreshRequests;
        await RedisProcess.UntilAsync(() => Task.FromResult(_set.Idp.RefreshRequests >= afterRollout + Users), "refreshes after the rollout");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.DoesNotContain(spent, s => s.Value > 1);
        Assert.DoesNotContain(answers, r => r.Status != HttpStatusCode.OK && r.Status != HttpStatusCode.ServiceUnavailable);
        Assert.All(answers.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), r => Assert.True(r.RetryAfter));
        Assert.True(answers.Count(r => r.Status == HttpStatusCode.OK) > Users * Replicas);

        // Every session still works on every replica of the new generation: none was lost.
        foreach (var browser in browsers)
        {
            foreach (var entry in pool.Snapshot)
            {
                Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(entry.Replica.Url("/api/orders"))).StatusCode);
            }

            browser.Dispose();
        }

        foreach (var entry in pool.Snapshot)
        {
            entry.Replica.Dispose();
        }
    }

    private GatewayReplica StartReplica() =>
        GatewayReplica.Start(_set.Idp, _set.Redis, ProxyTestHost.RouteSettings(_api.Address));

    /// <summary>The replicas a load balancer sends calls to, each counting the calls it is serving.</summary>
    private sealed class ReplicaPool(IEnumerable<GatewayReplica> replicas)
    {
        private readonly Lock _gate = new();
        private Entry?[] _entries = [.. replicas.Select(r => new Entry(r))];

        public Entry[] Snapshot
        {
            get
            {
                lock (_gate)
                {
                    return [.. _entries.OfType<Entry>()];
                }
            }
        }

        /// <summary>One call's hold on a replica in the pool; a replica leaves only once no call holds it.</summary>
        public Entry.Hold Lease(int turn)
        {
            lock (_gate)
            {
                var live = _entries.OfType<Entry>().ToArray();
                return live[turn % live.Length].Take();
            }
        }

        public Entry Remove(int index)
        {
            lock (_gate)
            {
                var entry = _entries[index]!;
                _entries[index] = null;
                return entry;
            }
        }

        public void Add(int index, GatewayReplica replica)
        {
            lock (_gate)
            {
                _entries[index] = new Entry(replica);
            }
        }

        public sealed class Entry(GatewayReplica replica)
        {
            private int _inFlight;

            public GatewayReplica Replica => replica;

            public int InFlight => Volatile.Read(ref _inFlight);

            public Hold Take()
            {
                Interlocked.Increment(ref _inFlight);
                return new Hold(this);
            }

            public sealed class Hold(Entry entry) : IDisposable
            {
                public GatewayReplica Replica => entry.Replica;

                public void Dispose() => Interlocked.Decrement(ref entry._inFlight);
            }
        }
    }
}
