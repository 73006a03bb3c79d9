namespace Bff.Sessions;

/// <summary>
/// One session as <see cref="InMemorySessionStore"/> holds it: its compressed binary record
/// (<see cref="CompressedSessionRecord"/>, the Redis store's format before encryption: JWTs as their segments' bytes,
/// strings as UTF-8, Brotli over that), and beside it only what the store reads without decoding (key, subject,
/// provider session, times, token version).
/// <para>
/// Why: as an object graph a session took 12-16 KB, most of it the provider's three tokens as UTF-16 text (twice their
/// base64url length, itself a third more than their bytes) and the <c>Authorization</c> header built from the access
/// token. At rest a session now takes 2-4.5 KB (<c>Bff.Bench memory</c>, figures in bench/README.md). A session in use
/// keeps its decoded <see cref="UserSession"/> beside the record, so a proxied call still costs one dictionary lookup;
/// <see cref="ReleaseIfIdle"/> (the store's minute sweep) drops it from sessions nobody read since the previous sweep,
/// and the next read decodes it again, once. Encoding (sign-in, refresh, a sliding write at most once a minute per
/// session) and decoding (the first read after a session went idle) are the Redis store's work without the encryption.
/// </para>
/// </summary>
internal sealed class StoredSession
{
    private readonly byte[] _record;
    private UserSession? _decoded;
    private int _readSinceSweep;

    private StoredSession(UserSession session, byte[] record, UserSession? decoded)
    {
        Key = session.Key;
        Subject = session.Subject;
        ProviderSessionId = session.ProviderSessionId;
        CreatedAt = session.CreatedAt;
        ExpiresAt = session.ExpiresAt;
        AbsoluteExpiresAt = session.AbsoluteExpiresAt;
        Device = session.Device;
        TokenVersion = session.Tokens.Version;
        _record = record;
        _decoded = decoded;
        _readSinceSweep = decoded is null ? 0 : 1;
    }

    /// <summary>
    /// Encodes <paramref name="session"/>. <paramref name="keepDecoded"/>: keep the instance as the decoded form too
    /// (a session replaced while in use); a new session is decoded at its first read instead.
    /// </summary>
    public static StoredSession From(UserSession session, bool keepDecoded)
    {
        // The store's dictionary is keyed by the cookie value already; the record need not name its session.
        var record = CompressedSessionRecord.Encode(string.Empty, session, SessionRecord.Times.Ticks);
        return new StoredSession(session, record, keepDecoded ? session : null);
    }

    /// <summary>The cookie value. Never logged: use <see cref="LogId"/>.</summary>
    public string Key { get; }

    public string Subject { get; }

    public string? ProviderSessionId { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The earlier of the session's idle and absolute limits (<see cref="UserSession.ExpiresAt"/>).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The session's absolute limit, for lists of a user's sessions (no decoding).</summary>
    public DateTimeOffset AbsoluteExpiresAt { get; }

    /// <summary>
    /// The coarse device description recorded at sign-in (<see cref="UserSession.Device"/>): kept beside the record,
    /// not in it, as the Redis store keeps it beside the payload.
    /// </summary>
    public string? Device { get; }

    /// <summary>The store id (<see cref="UserSession.Id"/>).</summary>
    public string Id => SessionKey.Id(Key);

    /// <summary>The stored tokens' <see cref="Provider.TokenSet.Version"/>.</summary>
    public long TokenVersion { get; }

    public string LogId => SessionKey.LogId(Key);

    /// <summary>Bytes of the encoded session (for the benchmark and tests).</summary>
    public int RecordLength => _record.Length;

    /// <summary>Whether the decoded form is held right now.</summary>
    public bool IsDecoded => Volatile.Read(ref _decoded) is not null;

    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>
    /// The session, decoded at the first read after a sweep released it. Two concurrent first reads may both decode;
    /// they get equal sessions and one of them stays.
    /// </summary>
    public UserSession Session
    {
        get
        {
            if (Volatile.Read(ref _readSinceSweep) == 0)
            {
                Volatile.Write(ref _readSinceSweep, 1);
            }

            return Volatile.Read(ref _decoded) ?? Decode();
        }
    }

    /// <summary>Drops the decoded form unless the session was read since the previous call.</summary>
    public void ReleaseIfIdle()
    {
        if (Interlocked.Exchange(ref _readSinceSweep, 0) == 0)
        {
            Volatile.Write(ref _decoded, null);
        }
    }

    private UserSession Decode()
    {
        if (!CompressedSessionRecord.TryDecode(_record, Key, string.Empty, SessionRecord.Times.Ticks, out var session))
        {
            // Written by this process from a valid session: failing to read it back is a bug, not a user's problem.
            throw new InvalidOperationException("A session record written by this store did not decode.");
        }

        // The device description lives beside the record (as in Redis), so a decoded session carries it again.
        session = session! with { Device = Device };
        Volatile.Write(ref _decoded, session);
        return session;
    }
}
