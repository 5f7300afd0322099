using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace NeuralSurgery.Runtime.Checkpoints;

public enum TensorChange
{
    /// <summary>Same dtype, shape and values.</summary>
    Same,

    /// <summary>Same dtype and shape, different values.</summary>
    Values,

    /// <summary>Same shape, another dtype (values compared when both are floating point).</summary>
    DType,

    /// <summary>Another shape (and maybe dtype): values are not compared.</summary>
    Shape,
    OnlyInA,
    OnlyInB,
}

/// <summary>One tensor name of either checkpoint and how it changed.</summary>
/// <param name="Name">The state_dict name.</param>
/// <param name="A">The tensor in the first checkpoint, or null.</param>
/// <param name="B">The tensor in the second checkpoint, or null.</param>
/// <param name="Change">What changed.</param>
/// <param name="MaxAbsDifference">Max |a − b| over elements, for floating-point tensors of equal shape; +∞ where exactly one side is NaN.</param>
/// <param name="DifferingElements">Elements that differ, for tensors of equal shape compared element by element.</param>
public sealed record TensorComparison(string Name, TensorInfo? A, TensorInfo? B, TensorChange Change, double? MaxAbsDifference, long? DifferingElements);

public sealed record MetadataChange(string Key, string? A, string? B);

public sealed record CheckpointComparison(IReadOnlyList<TensorComparison> Tensors, IReadOnlyList<MetadataChange> Metadata)
{
    public int Count(TensorChange change) => Tensors.Count(t => t.Change == change);
}

/// <summary>
/// Compares two checkpoints tensor by tensor, streaming each pair through two fixed buffers so memory stays
/// bounded whatever the tensor sizes.
/// </summary>
/// <remarks>
/// This is library logic the Runtime lacks (a checkpoint comparison next to <see cref="CheckpointConverter"/>);
/// it lives here until it moves to NeuralSurgery.Runtime.Checkpoints.
/// </remarks>
public static class CheckpointComparer
{
    private const int BufferBytes = 1 << 20;

    /// <param name="a">The first checkpoint.</param>
    /// <param name="b">The second checkpoint.</param>
    /// <param name="progress">Tensors compared, tensors in all, bytes read, bytes to read.</param>
    /// <param name="cancellation">Stops between chunks.</param>
    public static CheckpointComparison Compare(
        ITensorSource a,
        ITensorSource b,
        Action<int, int, long, long>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var pairs = new List<(string Name, TensorInfo? A, TensorInfo? B)>();
        foreach (var t in a.Tensors)
        {
            pairs.Add((t.Name, t, b.Find(t.Name)));
        }

        foreach (var t in b.Tensors)
        {
            if (a.Find(t.Name) is null)
            {
                pairs.Add((t.Name, null, t));
            }
        }

        long total = pairs.Where(p => Comparable(p.A, p.B)).Sum(p => p.A!.ByteLength + p.B!.ByteLength);
        long done = 0;
        var bufferA = new byte[BufferBytes];
        var bufferB = new byte[BufferBytes];
        var result = new List<TensorComparison>(pairs.Count);
        for (var i = 0; i < pairs.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (name, ta, tb) = pairs[i];
            if (ta is null || tb is null)
            {
                result.Add(new TensorComparison(name, ta, tb, ta is null ? TensorChange.OnlyInB : TensorChange.OnlyInA, null, null));
            }
            else if (!ta.Shape.SequenceEqual(tb.Shape))
            {
                result.Add(new TensorComparison(name, ta, tb, TensorChange.Shape, null, null));
            }
            else
            {
                var (max, differing) = CompareValues(a, ta, b, tb, bufferA, bufferB, cancellation);
                var change = ta.DType != tb.DType ? TensorChange.DType : differing == 0 ? TensorChange.Same : TensorChange.Values;
                result.Add(new TensorComparison(name, ta, tb, change, max, differing));
                done += ta.ByteLength + tb.ByteLength;
            }

            progress?.Invoke(i + 1, pairs.Count, done, total);
        }

        return new CheckpointComparison(result, CompareMetadata(a.Metadata, b.Metadata));
    }

    private static bool Comparable(TensorInfo? a, TensorInfo? b) => a is not null && b is not null && a.Shape.SequenceEqual(b.Shape);

    /// <summary>
    /// Floating point on both sides: max |a − b| and the count of differing elements; otherwise, with equal dtypes,
    /// the count of differing elements; otherwise (an integer type changed) nothing.
    /// </summary>
    private static (double? Max, long? Differing) CompareValues(
        ITensorSource a, TensorInfo ta, ITensorSource b, TensorInfo tb, byte[] bufferA, byte[] bufferB, CancellationToken cancellation)
    {
        var floats = ta.DType.IsFloatingPoint() && tb.DType.IsFloatingPoint();
        if (!floats && ta.DType != tb.DType)
        {
            return (null, null);
        }

        var sizeA = ta.DType.ElementSize();
        var sizeB = tb.DType.ElementSize();
        var chunk = BufferBytes / Math.Max(sizeA, sizeB);
        var max = 0.0;
        long differing = 0;
        for (long start = 0; start < ta.ElementCount; start += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            var n = (int)Math.Min(chunk, ta.ElementCount - start);
            var spanA = bufferA.AsSpan(0, n * sizeA);
            var spanB = bufferB.AsSpan(0, n * sizeB);
            a.Read(ta, start * sizeA, spanA);
            b.Read(tb, start * sizeB, spanB);
            if (ta.DType == tb.DType && spanA.SequenceEqual(spanB))
            {
                continue;
            }

            for (var k = 0; k < n; k++)
            {
                if (floats)
                {
                    var d = AbsDifference(Element(ta.DType, spanA, k), Element(tb.DType, spanB, k));
                    if (d != 0)
                    {
                        differing++;
                        max = Math.Max(max, d);
                    }
                }
                else if (!spanA.Slice(k * sizeA, sizeA).SequenceEqual(spanB.Slice(k * sizeB, sizeB)))
                {
                    differing++;
                }
            }
        }

        return (floats ? max : null, differing);
    }

    /// <summary>0 for equal values and for NaN against NaN; +∞ for NaN against a number.</summary>
    public static double AbsDifference(double x, double y)
    {
        if (x == y || (double.IsNaN(x) && double.IsNaN(y)))
        {
            return 0;
        }

        return double.IsNaN(x) || double.IsNaN(y) ? double.PositiveInfinity : Math.Abs(x - y);
    }

    internal static double Element(DType dtype, ReadOnlySpan<byte> data, int index) => dtype switch
    {
        DType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(data[(index * 4)..]),
        DType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(data[(index * 8)..]),
        DType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(data[(index * 2)..]),

        // bfloat16 is the top half of a float32 (TORCHSHARP.md).
        DType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data[(index * 2)..]) << 16),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a floating-point dtype."),
    };

    private static List<MetadataChange> CompareMetadata(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b)
    {
        var changes = new List<MetadataChange>();
        foreach (var (key, value) in a)
        {
            var other = b.TryGetValue(key, out var v) ? v : null;
            if (!string.Equals(value, other, StringComparison.Ordinal))
            {
                changes.Add(new MetadataChange(key, value, other));
            }
        }

        foreach (var (key, value) in b)
        {
            if (!a.ContainsKey(key))
            {
                changes.Add(new MetadataChange(key, null, value));
            }
        }

        return changes;
    }
}
