using Bff.Sessions;
using StackExchange.Redis;

namespace Bff.Redis;

/// <summary>
/// Every key and channel the gateway uses in Redis, under one prefix: the one place that names them (scripts get
/// their names from here too, <see cref="SessionKeyPrefix"/>).
/// <para>
/// Keys that are written together share one Redis Cluster hash slot through a hash tag, <c>{tag}</c>, the subject's
/// <see cref="SessionKey.SlotTag"/>: a session (<c>session:v2:{hash}{tag}</c>, its id being
/// <see cref="SessionKey.Id"/>), its refresh lock, and its subject's indexes. The provider-session index, the seen
/// logout tokens and the key ring are single keys, in slots of their own; the invalidation channel reaches every node
/// (cluster pub/sub broadcasts). Without Cluster the tags cost nothing.
/// </para>
/// <para>
/// Sessions created before keys carried a tag have untagged ids (<c>session:v2:{hash}</c>) and are still read,
/// refreshed and ended; they are listed in the untagged subject index <see cref="LegacySubjectIndex"/>, which
/// back-channel logout still reads, and expire within <c>Bff:Session:AbsoluteTimeout</c> of the upgrade.
/// </para>
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix => prefix;

    /// <summary>
    /// A session, by its <see cref="SessionKey.Id"/> (a hash of the cookie value, and the subject's tag): the cookie
    /// value itself never reaches Redis.
    /// </summary>
    /// <remarks>
    /// <c>v2</c>: sessions written in an earlier format (a hash, a JSON payload) sit under <c>session:{id}</c>, are
    /// never read again and expire by themselves.
    /// </remarks>
    public RedisKey Session(string sessionId) => SessionKeyPrefix + sessionId;

    /// <summary>What <see cref="Session"/> puts before the id: for a script that names sessions by ids it reads from an index.</summary>
    public string SessionKeyPrefix => prefix + "session:v2:";

    /// <summary>The refresh lock of one session, in the session's slot (the fenced save checks both at once).</summary>
    public RedisKey RefreshLock(string sessionId) => prefix + "lock:refresh:" + sessionId;

    /// <summary>
    /// The subject index (a set) of sessions created before keys carried a tag: read (never written) by back-channel
    /// logout by subject, until those sessions have expired.
    /// </summary>
    public RedisKey LegacySubjectIndex(string subject) => prefix + "sub:" + SessionKey.Hash(subject);

    /// <summary>
    /// Sorted set of one subject's session ids, scored by creation time (Unix milliseconds), in its sessions' slot:
    /// the per-user cap ends the lowest scores first, and a list of a user's sessions reads it in order. Ids only,
    /// never token material.
    /// </summary>
    /// <remarks>
    /// Replaces the set <c>{prefix}sub:{hash}</c> that versions before it also kept (no longer written; it expires by itself).
    /// </remarks>
    public RedisKey SubjectSessions(string subject) => prefix + "subject-sessions:" + SessionKey.Hash(subject) + Tag(subject);

    /// <summary>
    /// Hash beside <see cref="SubjectSessions"/>, in the same slot: each session id of the subject to what a list of
    /// sessions shows of it (<see cref="SessionDetails"/>), readable without the session's encrypted payload. Same
    /// lifetime as its sorted set.
    /// </summary>
    public RedisKey SubjectSessionDetails(string subject) => prefix + "subject-sessions:" + SessionKey.Hash(subject) + Tag(subject) + ":details";

    /// <summary>Patterns of every key that holds a session or a session index, for ending every session at once.</summary>
    public IReadOnlyList<RedisValue> SessionPatterns =>
        [Glob(prefix) + "session:v2:*", Glob(prefix) + "subject-sessions:*", Glob(prefix) + "sid:*", Glob(prefix) + "sub:*"];

    /// <summary>
    /// Set of session ids of one provider session (<c>sid</c>). In a slot of its own: a logout token may name the
    /// provider session alone, so it cannot be found through the subject.
    /// </summary>
    public RedisKey ProviderSessionIndex(string providerSessionId) => prefix + "sid:" + SessionKey.Hash(providerSessionId);

    public RedisKey SeenLogoutToken(string tokenId) => prefix + "jti:" + SessionKey.Hash(tokenId);

    public RedisKey DataProtectionKeys => prefix + "dataprotection:keys";

    /// <summary>Generated DPoP keys, encrypted, and which one is current (<see cref="RedisDPoPKeyStore"/>): one key.</summary>
    public RedisKey DPoPKeys => prefix + "dpop:keys";

    public RedisChannel SessionChanges => RedisChannel.Literal(prefix + "sessions:changed");

    /// <summary>Session-ended notices for the pages' event streams (<see cref="RedisSessionEvents"/>).</summary>
    public RedisChannel SessionEnded => RedisChannel.Literal(prefix + "sessions:ended");

    /// <summary>The prefix as a <c>SCAN MATCH</c> pattern that matches only itself.</summary>
    private static string Glob(string text) =>
        string.Concat(text.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? "\\" + c : c.ToString()));

    private static string Tag(string subject) => "{" + SessionKey.SlotTag(subject) + "}";
}
