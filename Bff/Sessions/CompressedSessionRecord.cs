using System.Buffers;
using System.IO.Compression;

namespace Bff.Sessions;

/// <summary>
/// A <see cref="SessionRecord"/> compressed with Brotli, behind its uncompressed length as a varint: the compact form
/// of a session that both stores keep (the Redis store encrypts it on top, the in-memory store holds it as it is).
/// Brotli finds little in a token's signature or ciphertext, but the JSON inside JWT payloads and the claims repeat
/// each other: typical token sets shrink by 25-40 % (sizes in Bff/Redis/README.md).
/// </summary>
internal static class CompressedSessionRecord
{
    /// <summary>
    /// The most a record may claim to decompress to. Sessions take a few KB; the bound only keeps a damaged or
    /// hostile payload (one that still decrypts, so written with our keys) from making us allocate without limit.
    /// </summary>
    public const int MaxRecordBytes = 1024 * 1024;

    // Quality 5 compresses a 4 KB session in about 50 µs, to 5-9 % more than quality 11 (which takes 4-5 ms); a session is
    // written at sign-in, at a refresh and when its idle expiry slides (at most once a minute).
    private const int CompressionQuality = 5;
    private const int CompressionWindow = 16;

    public static byte[] Encode(string sessionId, UserSession session, SessionRecord.Times times)
    {
        var record = new ArrayBufferWriter<byte>(4096);
        SessionRecord.Write(record, sessionId, session, times);
        var plain = record.WrittenSpan;

        var framed = ArrayPool<byte>.Shared.Rent(VarInt.MaxLength + BrotliEncoder.GetMaxCompressedLength(plain.Length));
        try
        {
            var header = VarInt.Write(framed, (ulong)plain.Length);
            if (!BrotliEncoder.TryCompress(plain, framed.AsSpan(header), out var compressed, CompressionQuality, CompressionWindow))
            {
                throw new InvalidOperationException("Brotli could not compress a session into its maximum compressed length.");
            }

            return framed.AsSpan(0, header + compressed).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(framed);
        }
    }

    /// <summary>False when the bytes do not decompress to a whole record, or the record is malformed or another session's.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> framed, string key, string sessionId, SessionRecord.Times times, out UserSession? session)
    {
        session = null;
        if (!VarInt.TryRead(framed, out var length, out var header) || length > MaxRecordBytes)
        {
            return false;
        }

        var plain = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            if (!BrotliDecoder.TryDecompress(framed[header..], plain.AsSpan(0, (int)length), out var written) || written != (int)length)
            {
                return false;
            }

            return SessionRecord.TryRead(plain.AsSpan(0, written), key, sessionId, out session, times);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain);
        }
    }
}
