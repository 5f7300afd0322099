using System;
using System.Globalization;
using System.Text;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// A named tensor's layout: dtype and row-major shape; its data is <see cref="ByteLength"/> little-endian bytes.
/// A 0-dim (scalar) tensor has an empty shape and one element; a shape with a zero dim has no elements.
/// </summary>
/// <remarks>
/// Validated on construction (no negative dims, sizes that fit a <see cref="long"/>, a well-formed Unicode name),
/// so every instance is safe to size buffers and file offsets from. Equality is structural.
/// </remarks>
public sealed record TensorInfo
{
    public TensorInfo(string name, DType dtype, EquatableArray<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Utf8Text.IsWellFormed(name))
        {
            throw new ArgumentException($"Tensor name '{name}' is not well-formed Unicode (it holds a lone surrogate), so it has no UTF-8 form.", nameof(name));
        }

        _ = dtype.ElementSize();
        var error = CheckShape(dtype, shape.AsImmutableArray().AsSpan(), out var elements, out var bytes);
        if (shape.Count > MaxRank)
        {
            error = $"{shape.Count} dims is more than the {MaxRank} allowed";
        }

        if (error is not null)
        {
            throw new ArgumentException($"Tensor '{name}': {error}.", nameof(shape));
        }

        Name = name;
        DType = dtype;
        Shape = shape;
        ElementCount = elements;
        ByteLength = bytes;
    }

    /// <summary>
    /// The most dims a tensor may have, far above what models use; the limit keeps a corrupt rank from sizing a
    /// huge allocation.
    /// </summary>
    public const int MaxRank = 1024;

    public string Name { get; }

    public DType DType { get; }

    /// <summary>Dims, outermost first.</summary>
    public EquatableArray<long> Shape { get; }

    public int Rank => Shape.Count;

    /// <summary>The product of the dims (1 for a 0-dim tensor).</summary>
    public long ElementCount { get; }

    /// <summary><see cref="ElementCount"/> × the element size.</summary>
    public long ByteLength { get; }

    public static TensorInfo Create(string name, DType dtype, params long[] shape) =>
        new(name, dtype, EquatableArray.Create(shape));

    /// <summary>The same layout under another name.</summary>
    public TensorInfo WithName(string name) => new(name, DType, Shape);

    /// <summary>"name float32[2, 3]".</summary>
    public override string ToString() => $"{Name} {Describe(DType, Shape.AsImmutableArray().AsSpan())}";

    /// <summary>"float32[2, 3]" for messages.</summary>
    internal static string Describe(DType dtype, ReadOnlySpan<long> shape)
    {
        var builder = new StringBuilder(dtype.IrName()).Append('[');
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }

        return builder.Append(']').ToString();
    }

    /// <summary>
    /// Element count and byte length with overflow checks; the reason when the shape is invalid, else null.
    /// Readers call this before building a <see cref="TensorInfo"/> so that hostile shapes get a format error.
    /// </summary>
    internal static string? CheckShape(DType dtype, ReadOnlySpan<long> shape, out long elements, out long bytes)
    {
        elements = 1;
        bytes = 0;
        var zero = false;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                return $"shape {Describe(dtype, shape)} has a negative dim";
            }

            zero |= dim == 0;
        }

        if (zero)
        {
            // Any shape with a zero dim is empty, whatever the other dims are.
            elements = 0;
            return null;
        }

        foreach (var dim in shape)
        {
            if (elements > long.MaxValue / dim)
            {
                return $"shape {Describe(dtype, shape)} has more than {long.MaxValue} elements";
            }

            elements *= dim;
        }

        var size = dtype.ElementSize();
        if (elements > long.MaxValue / size)
        {
            return $"shape {Describe(dtype, shape)} needs more than {long.MaxValue} bytes";
        }

        bytes = elements * size;
        return null;
    }
}
