using Bff.Sessions;
using System.Collections.Concurrent;

namespace Bff.Redis;

/// <summary>
/// Decoded sessions kept in this replica's memory for a few seconds, so that a busy session costs a dictionary lookup
/// per request (by cookie value, see <see cref="_byCookie"/>) instead of a Redis round trip, a decryption and a
/// decompression.
/// <para>
/// Why a cache at all, measured on the shared 2-core build machine (Release build, Redis on loopback, a 1.5 KB
/// payload): a lookup that misses costs 80-100 µs of latency on its own and, with 16 requests in flight (so that
/// StackExchange.Redis pipelines), about 10 µs of CPU for the read plus 10 µs for Unprotect and the JSON parse of the
/// format of the time (decompressing today's format adds about 12 µs for a 4 KB session). A hit cost 0.5 µs then,
/// most of it the SHA-256 of the cookie value; found by cookie value, it is now a dictionary lookup alone. A whole proxied request (client, gateway and upstream API in
/// one process) cost 80-140 µs of CPU; uncached Redis sessions added 20-40 µs to that, most of the 20 % the throughput
/// benchmark allows over plain YARP before anything else is counted; cached ones added nothing measurable.
/// </para>
/// <para>
/// How it stays correct: the store stays the source of truth. Every write or removal is announced on a Redis pub/sub
/// channel and every replica evicts the entry. A read that started before an eviction does not put what it read into
/// the cache (per-stripe generation counters). While the pub/sub connection is down, evictions could be missed, so the
/// cache is cleared and bypassed until the connection is back. <see cref="MaxAge"/> bounds what a message lost
/// without a disconnect could cost, and also what an operator's FLUSHALL costs (it sends no message: a replica
/// serves a session it had cached for up to that long). Refresh takes the session from Redis, not from here (the
/// refresh lock evicts).
/// </para>
/// </summary>
internal sealed class SessionCache(TimeProvider timeProvider)
{
    /// <summary>Safety net: how stale an entry may be if an invalidation message was lost without a disconnect.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    /// <summary>Bounds memory: beyond this many live entries new sessions are served from Redis until a sweep makes room.</summary>
    public const int MaxEntries = 10_000;

    private const int Stripes = 64;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// The same entries by cookie value, so that a hit needs no SHA-256 of the cookie (through OpenSSL, about a
    /// microsecond: the largest cost of a Redis-backed call after the cache). Removing from <see cref="_entries"/> is
    /// what evicts; an entry found here counts only while it is still the one in <see cref="_entries"/>.
    /// </summary>
    private readonly ConcurrentDictionary<string, Entry> _byCookie = new(StringComparer.Ordinal);
    private readonly long[] _generations = new long[Stripes];
    private volatile bool _enabled;
    private long _lastSweep = timeProvider.GetTimestamp();
    private int _countAtSweep;
    private int _sweeping;

    /// <summary>False until invalidation messages are known to arrive; lookups then go to Redis every time.</summary>
    public bool IsEnabled => _enabled;

    public int Count => _entries.Count;

    /// <summary>A cached session by its cookie value (the session key itself, not its id).</summary>
    public bool TryGet(string cookieValue, out UserSession? session)
    {
        session = null;
        if (!_enabled || !_byCookie.TryGetValue(cookieValue, out var entry))
        {
            return false;
        }

        if (!IsCurrent(entry))
        {
            // Evicted (or replaced) meanwhile: a leftover of a race, not a session to serve.
            _byCookie.TryRemove(new KeyValuePair<string, Entry>(cookieValue, entry));
            return false;
        }

        if (timeProvider.GetElapsedTime(entry.CachedAt) >= MaxAge)
        {
            Remove(entry);
            return false;
        }

        session = entry.Session;
        return true;
    }

    /// <summary>Taken before reading Redis; <see cref="Put"/> refuses the result if the entry was evicted meanwhile.</summary>
    public long Generation(string sessionId) => Volatile.Read(ref _generations[Stripe(sessionId)]);

    public void Put(string sessionId, UserSession session, long generation)
    {
        if (!_enabled || Generation(sessionId) != generation)
        {
            return;
        }

        var now = timeProvider.GetTimestamp();
        SweepIfDue(now);
        if (Volatile.Read(ref _countAtSweep) >= MaxEntries)
        {
            return;
        }

        var entry = new Entry(sessionId, session, now);
        _byCookie[session.Key] = entry;
        _entries[sessionId] = entry;

        // An eviction that raced with the insert wins.
        if (!_enabled || Generation(sessionId) != generation)
        {
            Remove(entry);
        }
    }

    public void Evict(string sessionId)
    {
        Interlocked.Increment(ref _generations[Stripe(sessionId)]);
        if (_entries.TryRemove(sessionId, out var entry))
        {
            _byCookie.TryRemove(new KeyValuePair<string, Entry>(entry.Session.Key, entry));
        }
    }

    private bool IsCurrent(Entry entry) => _entries.TryGetValue(entry.Id, out var current) && ReferenceEquals(entry, current);

    private void Remove(Entry entry)
    {
        _entries.TryRemove(new KeyValuePair<string, Entry>(entry.Id, entry));
        _byCookie.TryRemove(new KeyValuePair<string, Entry>(entry.Session.Key, entry));
    }

    /// <summary>Every session ended (break glass): forget everything, and keep caching what is read from now on.</summary>
    public void EvictAll() => Clear();

    /// <summary>Invalidation messages may be lost from now on: forget everything and stop caching.</summary>
    public void Disable()
    {
        _enabled = false;
        Clear();
    }

    /// <summary>Invalidation messages arrive again; whatever was cached before may have missed some.</summary>
    public void Enable()
    {
        Clear();
        _enabled = true;
    }

    private void Clear()
    {
        for (var i = 0; i < Stripes; i++)
        {
            Interlocked.Increment(ref _generations[i]);
        }

        _entries.Clear();
        _byCookie.Clear();
        Volatile.Write(ref _countAtSweep, 0);
    }

    private void SweepIfDue(long now)
    {
        if (timeProvider.GetElapsedTime(Volatile.Read(ref _lastSweep), now) < MaxAge
            || Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0)
        {
            return;
        }

        try
        {
            var live = 0;
            foreach (var (_, entry) in _entries)
            {
                if (timeProvider.GetElapsedTime(entry.CachedAt, now) >= MaxAge)
                {
                    Remove(entry);
                }
                else
                {
                    live++;
                }
            }

            foreach (var (_, entry) in _byCookie)
            {
                if (!IsCurrent(entry))
                {
                    _byCookie.TryRemove(new KeyValuePair<string, Entry>(entry.Session.Key, entry));
                }
            }

            Volatile.Write(ref _countAtSweep, live);
            Volatile.Write(ref _lastSweep, now);
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private static int Stripe(string sessionId) => (int)((uint)StringComparer.Ordinal.GetHashCode(sessionId) % Stripes);

    private sealed record Entry(string Id, UserSession Session, long CachedAt);
}
