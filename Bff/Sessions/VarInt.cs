namespace Bff.Sessions;

/// <summary>Unsigned LEB128: seven bits a byte, low bits first, the high bit set on every byte but the last.</summary>
internal static class VarInt
{
    public const int MaxLength = 10;

    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int length)
    {
        value = 0;
        for (length = 0; length < source.Length && length < MaxLength; length++)
        {
            var b = source[length];
            value |= (ulong)(b & 0x7F) << (7 * length);
            if (b < 0x80)
            {
                length++;
                return true;
            }
        }

        value = 0;
        return false;
    }
}
