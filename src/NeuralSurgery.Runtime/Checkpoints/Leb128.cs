using System;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Unsigned LEB128, the integer encoding of TorchSharp's format: 7 bits per byte, low group first, high bit set
/// on every byte but the last; the same bytes as <c>BinaryWriter.Write7BitEncodedInt64</c> for values ≥ 0.
/// </summary>
public static class Leb128
{
    /// <summary>Bytes for any <see cref="long"/> ≥ 0 is at most 9; a reader allows 10 (a full 64-bit value).</summary>
    public const int MaxBytes64 = 10;

    /// <summary><c>BinaryReader.Read7BitEncodedInt</c> (string lengths) reads at most 5 bytes.</summary>
    public const int MaxBytes32 = 5;

    public static int Size(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

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
}
