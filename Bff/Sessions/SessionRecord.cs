// The binary layout of a session, shared by the in-memory store (as it is) and the Redis store (compressed and
// encrypted). Why binary rather than JSON, measured sizes and the versioning rules: Bff/Redis/README.md.
using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Bff.Provider;

namespace Bff.Sessions;

/// <summary>
/// The binary layout of a session: fields in a fixed order, integers as LEB128 varints (signed ones zigzag-encoded),
/// strings as their UTF-8 length + 1 (0 for none) and their bytes, tokens as <see cref="WriteToken"/> describes.
/// </summary>
internal static class SessionRecord
{
    /// <summary>
    /// How times are written: Redis payloads keep milliseconds since the Unix epoch (the format's rule); the in-memory
    /// store, whose records never leave the process, keeps .NET ticks, so a session reads back to the exact instant.
    /// </summary>
    public enum Times
    {
        UnixMilliseconds,
        Ticks,
    }

    /// <summary>Written in the lifetime's place when the lifetime is unknown but a granted scope follows.</summary>
    private const long UnknownLifetime = 0;

    private const byte NoToken = 0;
    private const byte TextToken = 1;
    private const byte SegmentedToken = 2;

    public static void Write(IBufferWriter<byte> writer, string sessionId, UserSession session, Times times = Times.UnixMilliseconds)
    {
        WriteString(writer, sessionId);
        WriteString(writer, session.PublicId);
        WriteString(writer, session.Subject);
        WriteString(writer, session.ProviderSessionId);
        WriteUnsigned(writer, (ulong)session.Claims.Count);
        foreach (var claim in session.Claims)
        {
            WriteString(writer, claim.Type);
            WriteString(writer, claim.Value);
        }

        WriteSigned(writer, Time(session.CreatedAt, times));
        WriteSigned(writer, Time(session.AbsoluteExpiresAt, times));
        WriteSigned(writer, Time(session.IdleExpiresAt, times));

        var tokens = session.Tokens;
        WriteToken(writer, tokens.AccessToken);
        WriteSigned(writer, Time(tokens.AccessTokenExpiresAt, times));
        WriteToken(writer, tokens.RefreshToken);
        WriteToken(writer, tokens.IdToken);
        WriteSigned(writer, tokens.Version);

        // Appended after the fields of the first v2 payloads, which therefore still read (with no lifetime).
        var bound = tokens.DPoPKeyThumbprint is not null;
        if (tokens.AccessTokenLifetime is { } lifetime)
        {
            WriteSigned(writer, (long)lifetime.TotalMilliseconds);
        }
        else if (tokens.Scope is not null || bound)
        {
            WriteSigned(writer, UnknownLifetime);
        }

        // Appended after the lifetime (0 when unknown), so payloads written without it still read (with no scope).
        if (tokens.Scope is not null || bound)
        {
            WriteString(writer, tokens.Scope);
        }

        // Appended after the scope (none when unknown): the DPoP key the access token is bound to. A bearer session
        // writes nothing here, so its payload is exactly what earlier replicas wrote and read.
        if (bound)
        {
            WriteString(writer, tokens.DPoPKeyThumbprint);
        }
    }

    /// <summary>False when the record is malformed or was written for another session id.</summary>
    public static bool TryRead(ReadOnlySpan<byte> record, string key, string sessionId, out UserSession? session, Times times = Times.UnixMilliseconds)
    {
        session = null;
        var reader = new Reader(record);
        if (!string.Equals(reader.String(), sessionId, StringComparison.Ordinal))
        {
            return false;
        }

        var publicId = reader.String();
        var subject = reader.String();
        var providerSessionId = reader.String();
        var claimCount = reader.Unsigned();
        var claims = new List<SessionClaim>((int)Math.Min(claimCount, 64));
        for (ulong i = 0; i < claimCount && reader.Ok; i++)
        {
            claims.Add(new SessionClaim(reader.String() ?? string.Empty, reader.String() ?? string.Empty));
        }

        var createdAt = reader.Signed();
        var absoluteExpiresAt = reader.Signed();
        var idleExpiresAt = reader.Signed();
        var accessToken = reader.Token();
        var accessTokenExpiresAt = reader.Signed();
        var refreshToken = reader.Token();
        var idToken = reader.Token();
        var version = reader.Signed();
        long? lifetimeMilliseconds = reader.Ok && !reader.AtEnd ? reader.Signed() : null;
        var scopeFollows = reader.Ok && !reader.AtEnd;
        var scope = scopeFollows ? reader.String() : null;
        var dpopKey = reader.Ok && !reader.AtEnd ? reader.String() : null;
        if (lifetimeMilliseconds == UnknownLifetime && (scope is not null || dpopKey is not null))
        {
            lifetimeMilliseconds = null;
        }

        if (!reader.Ok || !reader.AtEnd || lifetimeMilliseconds <= 0 || publicId is null || subject is null || accessToken is null
            || !TryTime(createdAt, times, out var created) || !TryTime(absoluteExpiresAt, times, out var absolute)
            || !TryTime(idleExpiresAt, times, out var idle) || !TryTime(accessTokenExpiresAt, times, out var accessExpires))
        {
            return false;
        }

        session = new UserSession
        {
            Key = key,
            PublicId = publicId,
            Subject = subject,
            ProviderSessionId = providerSessionId,
            Claims = claims,
            CreatedAt = created,
            AbsoluteExpiresAt = absolute,
            IdleExpiresAt = idle,
            Tokens = new TokenSet
            {
                AccessToken = accessToken,
                AccessTokenExpiresAt = accessExpires,
                RefreshToken = refreshToken,
                IdToken = idToken,
                Version = version,
                AccessTokenLifetime = lifetimeMilliseconds is { } milliseconds ? TimeSpan.FromMilliseconds(milliseconds) : null,
                Scope = scope,
                DPoPKeyThumbprint = dpopKey,
            },
        };
        return true;
    }

    /// <summary>
    /// A token whose dot-separated segments are all canonical base64url (every JWS and JWE, and many opaque tokens) is
    /// kept as the segments' bytes, a quarter smaller than its text; any other token is kept as text. A token is only
    /// stored as segments when they encode back to exactly the same text.
    /// </summary>
    private static void WriteToken(IBufferWriter<byte> writer, string? token)
    {
        if (token is null)
        {
            WriteUnsigned(writer, NoToken);
            return;
        }

        var segments = token.AsSpan().Count('.') + 1;
        var decoded = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(token.Length));
        var check = ArrayPool<char>.Shared.Rent(token.Length + 4);
        try
        {
            // Decode every segment first: a token is either stored as segments entirely or as text.
            Span<Range> ranges = segments <= 16 ? stackalloc Range[segments] : new Range[segments];
            var decodedLength = 0;
            var canonical = token.AsSpan().Split(ranges, '.') == segments;
            for (var i = 0; canonical && i < segments; i++)
            {
                var segment = token.AsSpan(ranges[i]);
                var written = 0;
                canonical = Base64Url.IsValid(segment)
                    && Base64Url.TryDecodeFromChars(segment, decoded.AsSpan(decodedLength), out written)
                    && Base64Url.TryEncodeToChars(decoded.AsSpan(decodedLength, written), check, out var encoded)
                    && segment.SequenceEqual(check.AsSpan(0, encoded));
                ranges[i] = new Range(decodedLength, decodedLength + written);
                decodedLength += written;
            }

            if (!canonical)
            {
                WriteUnsigned(writer, TextToken);
                WriteString(writer, token);
                return;
            }

            WriteUnsigned(writer, SegmentedToken);
            WriteUnsigned(writer, (ulong)segments);
            foreach (var range in ranges)
            {
                var bytes = decoded.AsSpan(range);
                WriteUnsigned(writer, (ulong)bytes.Length);
                writer.Write(bytes);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
            ArrayPool<char>.Shared.Return(check);
        }
    }

    private static void WriteString(IBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            WriteUnsigned(writer, 0);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteUnsigned(writer, (ulong)length + 1);
        Encoding.UTF8.GetBytes(value, writer.GetSpan(length));
        writer.Advance(length);
    }

    private static void WriteSigned(IBufferWriter<byte> writer, long value) =>
        WriteUnsigned(writer, (ulong)((value << 1) ^ (value >> 63)));

    private static void WriteUnsigned(IBufferWriter<byte> writer, ulong value) =>
        writer.Advance(VarInt.Write(writer.GetSpan(VarInt.MaxLength), value));

    private static long Time(DateTimeOffset time, Times times) =>
        times == Times.Ticks ? time.UtcTicks : time.ToUnixTimeMilliseconds();

    private static bool TryTime(long value, Times times, out DateTimeOffset time)
    {
        if (times == Times.Ticks)
        {
            var valid = value >= DateTimeOffset.MinValue.UtcTicks && value <= DateTimeOffset.MaxValue.UtcTicks;
            time = valid ? new DateTimeOffset(value, TimeSpan.Zero) : default;
            return valid;
        }

        var unixMilliseconds = value;
        var inRange = unixMilliseconds >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds()
            && unixMilliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();
        time = inRange ? DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds) : default;
        return inRange;
    }

    /// <summary>Reads fields in order; the first malformed one clears <see cref="Ok"/> and every later read returns a default.</summary>
    private ref struct Reader(ReadOnlySpan<byte> record)
    {
        private readonly ReadOnlySpan<byte> _record = record;
        private int _position;

        public bool Ok { get; private set; } = true;

        public readonly bool AtEnd => _position == _record.Length;

        public ulong Unsigned()
        {
            if (Ok && VarInt.TryRead(_record[_position..], out var value, out var length))
            {
                _position += length;
                return value;
            }

            Ok = false;
            return 0;
        }

        public long Signed()
        {
            var value = Unsigned();
            return (long)(value >> 1) ^ -(long)(value & 1);
        }

        public string? String()
        {
            var bytes = Bytes(Unsigned(), out var present);
            return present ? Encoding.UTF8.GetString(bytes) : null;
        }

        public string? Token()
        {
            switch (Unsigned())
            {
                case NoToken:
                    return null;
                case TextToken:
                    return String();
                case SegmentedToken:
                    return Segments();
                default:
                    Ok = false;
                    return null;
            }
        }

        private string? Segments()
        {
            var count = Unsigned();
            if (!Ok || count == 0 || count > (ulong)(_record.Length - _position))
            {
                Ok = false;
                return null;
            }

            // Two passes over the segments: the first measures the text, the second writes it.
            var start = _position;
            var textLength = (int)count - 1;
            for (ulong i = 0; i < count && Ok; i++)
            {
                textLength += Base64Url.GetEncodedLength(Raw(Unsigned()).Length);
            }

            if (!Ok)
            {
                return null;
            }

            var segments = _record[start.._position];
            return string.Create(textLength, segments, static (text, source) =>
            {
                var written = 0;
                for (var first = true; !source.IsEmpty; first = false)
                {
                    if (!first)
                    {
                        text[written++] = '.';
                    }

                    VarInt.TryRead(source, out var length, out var header);
                    var bytes = source.Slice(header, (int)length);
                    written += Base64Url.EncodeToChars(bytes, text[written..]);
                    source = source[(header + (int)length)..];
                }
            });
        }

        // lengthPlusOne is a string's stored length: 0 for none, otherwise its byte count + 1.
        private ReadOnlySpan<byte> Bytes(ulong lengthPlusOne, out bool present)
        {
            present = Ok && lengthPlusOne > 0;
            var bytes = present ? Raw(lengthPlusOne - 1) : default;
            present &= Ok;
            return bytes;
        }

        private ReadOnlySpan<byte> Raw(ulong length)
        {
            if (!Ok || length > (ulong)(_record.Length - _position))
            {
                Ok = false;
                return default;
            }

            var bytes = _record.Slice(_position, (int)length);
            _position += (int)length;
            return bytes;
        }
    }
}
