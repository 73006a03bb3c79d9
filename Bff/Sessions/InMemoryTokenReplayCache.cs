using System.Collections.Concurrent;

namespace Bff.Sessions;

internal sealed class InMemoryTokenReplayCache(TimeProvider timeProvider) : ITokenReplayCache
{
    /// <summary>Beyond this many remembered ids, expired ones are swept before adding (at most every <see cref="SweepInterval"/>).</summary>
    private const int SweepThreshold = 1_000;

    /// <summary>
    /// At most one sweep this often: every sign-in records its attempt here, so sweeping on every add past the
    /// threshold would cost each sign-in a walk over all of them.
    /// </summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private long _nextSweepTicks;

    /// <summary>How many ids are held, expired ones until the next sweep.</summary>
    internal int Count => _seen.Count;

    public ValueTask<ReplayCheck> TryUseAsync(string tokenId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var due = Interlocked.Read(ref _nextSweepTicks);
        // The clock first: Count takes every lock of the dictionary (hundreds of them once it holds thousands of ids),
        // which on every sign-in cost about 2 % of its CPU. So the size is looked at once per interval.
        if (now.UtcTicks >= due
            && Interlocked.CompareExchange(ref _nextSweepTicks, (now + SweepInterval).UtcTicks, due) == due
            && _seen.Count > SweepThreshold)
        {
            foreach (var (id, expiresAt) in _seen)
            {
                if (expiresAt <= now)
                {
                    _seen.TryRemove(new KeyValuePair<string, DateTimeOffset>(id, expiresAt));
                }
            }
        }

        while (true)
        {
            if (_seen.TryAdd(tokenId, now + lifetime))
            {
                return ValueTask.FromResult(ReplayCheck.FirstUse);
            }

            if (_seen.TryGetValue(tokenId, out var existing))
            {
                if (existing > now)
                {
                    return ValueTask.FromResult(ReplayCheck.Replayed);
                }

                // Expired: take it over, unless another request just did.
                if (_seen.TryUpdate(tokenId, now + lifetime, existing))
                {
                    return ValueTask.FromResult(ReplayCheck.FirstUse);
                }
            }
        }
    }

    public ValueTask ForgetAsync(string tokenId, CancellationToken cancellationToken)
    {
        _seen.TryRemove(tokenId, out _);
        return ValueTask.CompletedTask;
    }
}
