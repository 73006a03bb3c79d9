using Bff.Errors;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>How Redis failures are told apart from bugs.</summary>
internal static class RedisFailure
{
    /// <summary>
    /// Redis was unreachable, too slow, or refused for a reason of its own (loading after a restart, read-only
    /// replica during fail-over, out of memory): the caller reports the store as unavailable.
    /// </summary>
    public static bool IsUnavailable(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or RedisServerException;

    /// <summary>
    /// True when Redis being unavailable is what made an operation fail, however deep it is wrapped: for code that
    /// reaches Redis through a library, such as Data Protection loading the key ring for a sign-in.
    /// </summary>
    public static bool CausedBy(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            if (IsUnavailable(exception))
            {
                return true;
            }

            exception = exception is AggregateException { InnerExceptions.Count: 1 } aggregate
                ? aggregate.InnerExceptions[0]
                : exception.InnerException;
        }

        return false;
    }
}

/// <summary>Tells the gateway's last-resort error answer that Redis being down is what failed (a 503, not a 500).</summary>
internal sealed class RedisOutage : IDependencyOutage
{
    public bool CausedBy(Exception? exception) => RedisFailure.CausedBy(exception);
}
