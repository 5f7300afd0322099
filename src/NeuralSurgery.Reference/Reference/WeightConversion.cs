using System;
using System.Buffers.Binary;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>Little-endian checkpoint bytes to float32 (float16, bfloat16 and float64 converted) and to counts.</summary>
internal static class WeightConversion
{
    public static void ToFloat32(ReadOnlySpan<byte> bytes, DType dtype, Span<float> destination)
    {
        var size = dtype.ElementSize();
        for (var i = 0; i < destination.Length; i++)
        {
            var b = bytes.Slice(i * size, size);
            destination[i] = dtype switch
            {
                DType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(b),
                DType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                DType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b),

                // bfloat16 is the top half of a float32 (TORCHSHARP.md).
                DType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
                _ => throw new ArgumentException($"dtype {dtype.IrName()} is not floating point", nameof(dtype)),
            };
        }
    }

    /// <summary>A scalar count (num_batches_tracked), from any integer or float dtype.</summary>
    public static long ReadCount(ReadOnlySpan<byte> bytes, DType dtype) => dtype switch
    {
        DType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes),
        DType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
        DType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes),
        DType.Int8 => (sbyte)bytes[0],
        DType.UInt8 => bytes[0],
        _ => (long)Math.Round(ToDouble(bytes, dtype)),
    };

    private static double ToDouble(ReadOnlySpan<byte> bytes, DType dtype)
    {
        Span<float> one = stackalloc float[1];
        if (dtype == DType.Float64)
        {
            return BinaryPrimitives.ReadDoubleLittleEndian(bytes);
        }

        ToFloat32(bytes, dtype, one);
        return one[0];
    }
}
