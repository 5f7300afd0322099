using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Execution;

/// <summary>
/// Values of initialised elements, counter-based: element <c>e</c> of a tensor always gets the same value for a
/// seed, whatever order or thread computes it, so applying a plan is reproducible (issue 4: "init rules with a
/// seed so results are reproducible").
/// </summary>
public static class InitValues
{
    /// <summary>The per-tensor stream: the seed mixed with an FNV-1a hash of the tensor's name.</summary>
    public static ulong TensorKey(int seed, string tensor)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(tensor))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return Mix(hash ^ ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL));
    }

    /// <summary>The value rule <paramref name="rule"/> gives element <paramref name="element"/>.</summary>
    public static double Value(InitRule rule, ulong tensorKey, long element) => rule.Kind switch
    {
        InitKind.Zeros => 0,
        InitKind.Ones => 1,
        InitKind.Constant => rule.Value,
        InitKind.Uniform => ((Unit(tensorKey, 2 * (ulong)element) * 2) - 1) * rule.Value,
        _ => rule.Value * Gaussian(tensorKey, (ulong)element),
    };

    /// <summary>Writes <paramref name="value"/> as one element of <paramref name="dtype"/>.</summary>
    public static void Write(double value, DType dtype, Span<byte> destination)
    {
        switch (dtype)
        {
            case DType.Float32:
                BinaryPrimitives.WriteSingleLittleEndian(destination, (float)value);
                break;
            case DType.Float64:
                BinaryPrimitives.WriteDoubleLittleEndian(destination, value);
                break;
            case DType.Float16:
                BinaryPrimitives.WriteHalfLittleEndian(destination, (Half)value);
                break;
            case DType.BFloat16:
                BinaryPrimitives.WriteUInt16LittleEndian(destination, ToBFloat16((float)value));
                break;
            case DType.Int64:
                BinaryPrimitives.WriteInt64LittleEndian(destination, checked((long)Math.Round(value)));
                break;
            case DType.Int32:
                BinaryPrimitives.WriteInt32LittleEndian(destination, checked((int)Math.Round(value)));
                break;
            case DType.Int16:
                BinaryPrimitives.WriteInt16LittleEndian(destination, checked((short)Math.Round(value)));
                break;
            case DType.Int8:
                destination[0] = unchecked((byte)checked((sbyte)Math.Round(value)));
                break;
            case DType.UInt8:
                destination[0] = checked((byte)Math.Round(value));
                break;
            default:
                destination[0] = value != 0 ? (byte)1 : (byte)0;
                break;
        }
    }

    /// <summary>
    /// Adds a plan's <see cref="TensorPlan.Add"/> values to a floating-point tensor's bytes: each value is rounded to
    /// the dtype and added in it, as <c>Tensor.add_</c> does, so the live executor gives the same bits.
    /// </summary>
    public static void AddTo(IReadOnlyList<double> values, DType dtype, Span<byte> data)
    {
        var size = dtype.ElementSize();
        for (var e = 0; e < values.Count; e++)
        {
            var element = data.Slice(e * size, size);
            switch (dtype)
            {
                case DType.Float32:
                    BinaryPrimitives.WriteSingleLittleEndian(element, BinaryPrimitives.ReadSingleLittleEndian(element) + (float)values[e]);
                    break;
                case DType.Float64:
                    BinaryPrimitives.WriteDoubleLittleEndian(element, BinaryPrimitives.ReadDoubleLittleEndian(element) + values[e]);
                    break;
                case DType.Float16:
                    BinaryPrimitives.WriteHalfLittleEndian(element, (Half)((float)BinaryPrimitives.ReadHalfLittleEndian(element) + (float)(Half)values[e]));
                    break;
                case DType.BFloat16:
                    var bits = (uint)BinaryPrimitives.ReadUInt16LittleEndian(element) << 16;
                    var addend = BitConverter.UInt32BitsToSingle((uint)ToBFloat16((float)values[e]) << 16);
                    BinaryPrimitives.WriteUInt16LittleEndian(element, ToBFloat16(BitConverter.UInt32BitsToSingle(bits) + addend));
                    break;
                default:
                    throw new ArgumentException($"values can be added to floating-point tensors only, not {dtype.IrName()}", nameof(dtype));
            }
        }
    }

    /// <summary>bfloat16 is the top half of a float32, rounded to nearest even (NaN kept quiet).</summary>
    internal static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>A double in [0, 1) from the 53 high bits of the counter's hash.</summary>
    private static double Unit(ulong key, ulong counter) => (Mix(key + (counter * 0x9E3779B97F4A7C15UL)) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Box-Muller from two counter values (1 - u keeps the logarithm finite).</summary>
    private static double Gaussian(ulong key, ulong element)
    {
        var u1 = 1 - Unit(key, 2 * element);
        var u2 = Unit(key, (2 * element) + 1);
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>SplitMix64's finaliser.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
