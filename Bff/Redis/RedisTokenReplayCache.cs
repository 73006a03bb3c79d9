using Bff.Observability;
using Bff.Sessions;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>Seen token ids as <c>{prefix}jti:{hash}</c> keys, claimed with SET NX and expiring with the token's acceptance window.</summary>
internal sealed class RedisTokenReplayCache(RedisConnection connection, ILogger<RedisTokenReplayCache> logger) : ITokenReplayCache
{
    public async ValueTask<ReplayCheck> TryUseAsync(string tokenId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            var first = await database.StringSetAsync(connection.Keys.SeenLogoutToken(tokenId), 1, lifetime, When.NotExists);
            return first ? ReplayCheck.FirstUse : ReplayCheck.Replayed;
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "record token id", ex.GetType().Name);
            return ReplayCheck.Unavailable;
        }
    }

    public async ValueTask ForgetAsync(string tokenId, CancellationToken cancellationToken)
    {
        try
        {
            var database = await connection.GetDatabaseAsync();
            await database.KeyDeleteAsync(connection.Keys.SeenLogoutToken(tokenId));
        }
        catch (Exception ex) when (RedisFailure.IsUnavailable(ex))
        {
            BffLog.SessionStoreFailed(logger, "forget token id", ex.GetType().Name);
        }
    }
}
