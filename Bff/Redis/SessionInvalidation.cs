using System.Collections.Concurrent;
using System.Globalization;
using Bff.Observability;
using Bff.Sessions;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>
/// Tells every replica's <see cref="SessionCache"/> that a session changed or ended, over one Redis pub/sub channel,
/// and switches the cache off whenever Redis connections drop (messages may then be lost) until they are back.
/// A message is <c>{replica}|{session id}</c>; a replica ignores its own (it evicted when it wrote).
/// <para>
/// A second channel carries why sessions ended, for the pages' event streams (<see cref="RedisSessionEvents"/>):
/// <c>{replica}|{reason}|{session id}|{subject hash}|{provider session hash}</c>, one of the last three or the last two
/// set. Only hashes travel. A replica ignores its own (it told its streams when it published) and evicts the named
/// session from its cache before telling its streams, so a page that reacts to the event finds the session gone.
/// A notice about every session (break glass) is one message with the last three empty and a sixth part, the Unix time
/// in milliseconds before which the ended sessions were created: <c>{replica}|{reason}||||{created before}</c>. It
/// empties the cache before telling the streams. Replicas of an earlier version ignore it (they read five parts only),
/// and their streams find their sessions gone at their next read.
/// </para>
/// </summary>
internal sealed class SessionInvalidation(
    RedisConnection connection,
    SessionCache cache,
    SessionEventHub streams,
    ILogger<SessionInvalidation> logger)
{
    private readonly string _replicaId = Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);
    private ConnectionMultiplexer? _multiplexer;
    private volatile bool _subscribed;
    private int _subscribing;

    /// <summary>Connects, subscribes and watches the connection. Never throws for Redis being down: it then retries on reconnect.</summary>
    public async Task StartAsync()
    {
        var multiplexer = await connection.GetMultiplexerAsync();
        _multiplexer = multiplexer;
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        await SubscribeAsync();
    }

    /// <summary>
    /// Announces that a session changed or ended (or that its refresh lock was released); Redis runs it after the
    /// write that preceded it on this connection.
    /// </summary>
    public Task PublishAsync(IDatabase database, string sessionId) =>
        database.PublishAsync(connection.Keys.SessionChanges, _replicaId + "|" + sessionId, CommandFlags.FireAndForget);

    /// <summary>Tells the other replicas' event streams that sessions ended. Throws when Redis cannot be reached.</summary>
    public Task PublishEndedAsync(IDatabase database, SessionEndedNotice notice)
    {
        var message = string.Join('|', _replicaId, SessionEndReasonNames.Name(notice.Reason), notice.SessionId, notice.SubjectHash, notice.ProviderSessionHash);
        if (notice.CreatedBefore is { } createdBefore)
        {
            message += "|" + createdBefore.ToString(CultureInfo.InvariantCulture);
        }

        return database.PublishAsync(connection.Keys.SessionEnded, message, CommandFlags.FireAndForget);
    }

    /// <summary>
    /// Completes the returned source when a message about <paramref name="sessionId"/> arrives (from any replica),
    /// until <see cref="StopListening"/>. One listener per session: a replica refreshes each session in one flight.
    /// </summary>
    public TaskCompletionSource Listen(string sessionId) =>
        _waiters.GetOrAdd(sessionId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void StopListening(string sessionId, TaskCompletionSource listener) =>
        _waiters.TryRemove(new KeyValuePair<string, TaskCompletionSource>(sessionId, listener));

    private async Task SubscribeAsync()
    {
        if (_subscribed || Interlocked.Exchange(ref _subscribing, 1) == 1)
        {
            return;
        }

        try
        {
            var subscriber = _multiplexer!.GetSubscriber();
            await subscriber.SubscribeAsync(connection.Keys.SessionChanges, (_, message) => OnMessage(message));
            await subscriber.SubscribeAsync(connection.Keys.SessionEnded, (_, message) => OnEnded(message));
            _subscribed = true;
            UpdateCacheState();
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            // Redis is down at start-up: stay uncached and subscribe when a connection is restored.
            BffLog.SessionCacheBypassed(logger, "not subscribed to invalidations yet");
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void OnMessage(RedisValue message)
    {
        var text = (string?)message;
        var separator = text?.IndexOf('|', StringComparison.Ordinal) ?? -1;
        if (separator <= 0)
        {
            return;
        }

        var sessionId = text![(separator + 1)..];
        if (!text.AsSpan(0, separator).SequenceEqual(_replicaId))
        {
            cache.Evict(sessionId);
        }

        if (_waiters.TryRemove(sessionId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    private void OnEnded(RedisValue message)
    {
        var text = (string?)message;
        var parts = text?.Split('|');
        if (parts is not { Length: 5 or 6 } || parts[0] == _replicaId)
        {
            return;
        }

        static string? Part(string value) => value.Length == 0 ? null : value;
        var notice = new SessionEndedNotice(Part(parts[2]), Part(parts[3]), Part(parts[4]), SessionEndReasonNames.Parse(parts[1]));
        if (parts.Length == 6)
        {
            if (!long.TryParse(parts[5], NumberStyles.None, CultureInfo.InvariantCulture, out var createdBefore))
            {
                return;
            }

            // Every session ended: none of those cached may be served to a page that reacts to the event.
            cache.EvictAll();
            notice = notice with { CreatedBefore = createdBefore };
        }
        else if (notice.SessionId is { } sessionId)
        {
            cache.Evict(sessionId);
        }

        streams.Deliver(notice);
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (cache.IsEnabled)
        {
            BffLog.SessionCacheBypassed(logger, $"{e.ConnectionType} connection lost ({e.FailureType})");
        }

        cache.Disable();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (!_subscribed)
        {
            _ = SubscribeAsync();
            return;
        }

        UpdateCacheState();
    }

    /// <summary>Caches only while the invalidation channel is live.</summary>
    private void UpdateCacheState()
    {
        var multiplexer = _multiplexer;
        if (multiplexer is null || !_subscribed)
        {
            return;
        }

        var live = multiplexer.IsConnected && multiplexer.GetSubscriber().IsConnected(connection.Keys.SessionChanges);
        if (live && !cache.IsEnabled)
        {
            cache.Enable();
            BffLog.SessionCacheEnabled(logger);
        }
        else if (!live)
        {
            cache.Disable();
        }
    }
}
