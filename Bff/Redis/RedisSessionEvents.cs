using Bff.Observability;
using Bff.Sessions;

namespace Bff.Redis;

/// <summary>
/// Session-ended notices with Redis sessions: this replica's streams are told at once, the other replicas' through
/// Redis pub/sub (<see cref="SessionInvalidation"/>). A notice that cannot reach Redis is logged and dropped: the other
/// replicas' streams find their session gone when they next read it.
/// </summary>
internal sealed class RedisSessionEvents(
    RedisConnection connection,
    SessionInvalidation invalidation,
    SessionEventHub streams,
    ILogger<RedisSessionEvents> logger) : ISessionEvents
{
    public ValueTask PublishEndedAsync(string sessionId, SessionEndReason reason) =>
        PublishAsync(SessionEndedNotice.ForSession(sessionId, reason));

    public ValueTask PublishEndedForUserAsync(string? subject, string? providerSessionId, SessionEndReason reason) =>
        subject is null && providerSessionId is null
            ? ValueTask.CompletedTask
            : PublishAsync(SessionEndedNotice.ForUser(subject, providerSessionId, reason));

    public ValueTask PublishEndedEveryAsync(DateTimeOffset createdBefore, SessionEndReason reason) =>
        PublishAsync(SessionEndedNotice.ForEvery(createdBefore, reason));

    private async ValueTask PublishAsync(SessionEndedNotice notice)
    {
        streams.Deliver(notice);
        try
        {
            var database = await connection.GetDatabaseAsync();
            await invalidation.PublishEndedAsync(database, notice);
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionEndedNoticeNotSent(logger, SessionEndReasonNames.Name(notice.Reason), ex.GetType().Name);
        }
    }
}
