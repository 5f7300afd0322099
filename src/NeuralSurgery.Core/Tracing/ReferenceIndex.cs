using System;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tracing;

/// <summary>Row-major index arithmetic for the <see cref="ReferenceTracer"/>: offsets, indices, broadcasting.</summary>
internal static class ReferenceIndex
{
    /// <summary>Number of elements of a shape; the reference tracer keeps every element in one array.</summary>
    public static int Count(long[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new GraphException($"shape {Format(shape)} has a negative dimension");
            }

            n *= d;
            if (n > int.MaxValue)
            {
                throw new GraphException($"shape {Format(shape)} has more elements than the reference tracer can hold");
            }
        }

        return (int)n;
    }

    /// <summary>Row-major offset of a full index; throws for an index outside the shape.</summary>
    public static int Offset(long[] shape, long[] index)
    {
        if (index.Length != shape.Length)
        {
            throw new ArgumentException($"index of rank {index.Length} for a shape of rank {shape.Length}", nameof(index));
        }

        long offset = 0;
        for (var a = 0; a < shape.Length; a++)
        {
            if (index[a] < 0 || index[a] >= shape[a])
            {
                throw new ArgumentOutOfRangeException(nameof(index), $"index [{string.Join(", ", index)}] is outside shape {Format(shape)}");
            }

            offset = (offset * shape[a]) + index[a];
        }

        return (int)offset;
    }

    /// <summary>The full index of a row-major offset.</summary>
    public static long[] Unravel(long offset, long[] shape)
    {
        var index = new long[shape.Length];
        for (var a = shape.Length - 1; a >= 0; a--)
        {
            index[a] = offset % shape[a];
            offset /= shape[a];
        }

        return index;
    }

    /// <summary>
    /// Offset in an operand of shape <paramref name="shape"/> of the element that PyTorch broadcasting reads for
    /// output index <paramref name="outIndex"/>: axes align on the right, size-1 axes repeat.
    /// </summary>
    public static int BroadcastOffset(long[] shape, long[] outIndex)
    {
        var skip = outIndex.Length - shape.Length;
        long offset = 0;
        for (var a = 0; a < shape.Length; a++)
        {
            var k = shape[a] == 1 ? 0 : outIndex[a + skip];
            offset = (offset * shape[a]) + k;
        }

        return (int)offset;
    }

    public static long[] With(long[] index, int axis, long value)
    {
        var copy = (long[])index.Clone();
        copy[axis] = value;
        return copy;
    }

    public static long[] Insert(long[] index, int axis, long value)
    {
        var list = index.ToList();
        list.Insert(axis, value);
        return list.ToArray();
    }

    public static long[] Remove(long[] index, int axis) => index.Where((_, a) => a != axis).ToArray();

    public static bool SameShape(long[] a, long[] b) => a.SequenceEqual(b);

    public static string Format(long[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
