using System.Collections.Concurrent;

namespace Bff.Tokens;

/// <summary>
/// One call in flight per key: the first caller for a key starts the work, every caller arriving while it runs gets
/// the same task. The work belongs to no caller (none of them can cancel it), and the key is free again before its
/// callers resume, so a caller arriving after the result starts afresh and sees whatever the finished call left behind.
/// </summary>
internal sealed class SingleFlight<TKey, TResult>(IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Task<TResult>> _flights = new(comparer);

    /// <summary>Calls in progress (for tests and diagnostics).</summary>
    public int Count => _flights.Count;

    /// <summary>Joins the call in progress for <paramref name="key"/>, or starts <paramref name="work"/> for it.</summary>
    public Task<TResult> Join<TState>(TKey key, TState state, Func<TKey, TState, Task<TResult>> work)
    {
        while (true)
        {
            if (_flights.TryGetValue(key, out var running))
            {
                return running;
            }

            var completion = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_flights.TryAdd(key, completion.Task))
            {
                _ = RunAsync(key, state, work, completion);
                return completion.Task;
            }
        }
    }

    private async Task RunAsync<TState>(TKey key, TState state, Func<TKey, TState, Task<TResult>> work, TaskCompletionSource<TResult> completion)
    {
        TResult result = default!;
        Exception? failure = null;
        try
        {
            result = await work(key, state);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        _flights.TryRemove(new KeyValuePair<TKey, Task<TResult>>(key, completion.Task));
        if (failure is not null)
        {
            completion.TrySetException(failure);
        }
        else
        {
            completion.TrySetResult(result);
        }
    }
}
