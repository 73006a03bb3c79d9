using Bff.DPoP;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>
/// Generated DPoP keys in one Redis hash, <c>{prefix}dpop:keys</c>: a field per key (its thumbprint, the value
/// encrypted by Data Protection with the key ring all replicas share) and the field <c>current</c>, the thumbprint new
/// tokens are bound to. One key, so a promotion is one atomic script even on a cluster.
/// </summary>
internal sealed class RedisDPoPKeyStore(RedisConnection connection) : IDPoPKeyStore
{
    private const string CurrentField = "current";
    private const string KeyFieldPrefix = "key:";

    /// <summary>Adds the key and makes it current only if the current one is still the one the caller saw.</summary>
    private static readonly LuaScript Promote = LuaScript.Prepare(
        """
        local current = redis.call('HGET', @hash, 'current') or ''
        if current ~= @expected then return 0 end
        redis.call('HSET', @hash, @field, @value, 'current', @thumbprint)
        return 1
        """);

    public async Task<DPoPKeyStoreState> LoadAsync(CancellationToken cancellationToken)
    {
        var database = await connection.GetDatabaseAsync();
        var entries = await database.HashGetAllAsync(connection.Keys.DPoPKeys);
        string? current = null;
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var name = (string)entry.Name!;
            if (name == CurrentField)
            {
                current = entry.Value;
            }
            else if (name.StartsWith(KeyFieldPrefix, StringComparison.Ordinal) && (byte[]?)entry.Value is { } value)
            {
                keys[name[KeyFieldPrefix.Length..]] = value;
            }
        }

        return new DPoPKeyStoreState(current, keys);
    }

    public async Task<bool> TryPromoteAsync(string? expectedCurrent, string thumbprint, byte[] protectedKey, CancellationToken cancellationToken)
    {
        var database = await connection.GetDatabaseAsync();
        var result = await database.ScriptEvaluateAsync(Promote, new
        {
            hash = connection.Keys.DPoPKeys,
            expected = expectedCurrent ?? string.Empty,
            field = KeyFieldPrefix + thumbprint,
            value = protectedKey,
            thumbprint,
        });
        return (int)result == 1;
    }
}
