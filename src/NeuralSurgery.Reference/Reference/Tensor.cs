using System;
using System.Globalization;
using System.Text;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// A dense float32 tensor: a row-major <see cref="float"/> array and a shape. Categorical inputs hold their integer
/// indices as floats (exact below 2^24). A rank-0 tensor has an empty shape and one element.
/// </summary>
/// <remarks>
/// Reshaping ops of the reference executor return tensors that share <see cref="Data"/> with their operand; no
/// kernel writes into an operand, so sharing is safe. One allocation per tensor, never per element (STYLE.md 9).
/// </remarks>
public sealed class Tensor
{
    private readonly int[] _shape;

    /// <summary>Wraps <paramref name="data"/> (no copy) with <paramref name="shape"/>.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        var count = CheckedCount(shape);
        if (count != data.Length)
        {
            throw new ArgumentException($"A tensor of shape {Describe(shape)} has {count} elements but {data.Length} values were given.", nameof(data));
        }

        _shape = (int[])shape.Clone();
        Data = data;
    }

    /// <summary>The elements, row-major. Writes change the tensor (and any reshaped tensor sharing them).</summary>
    public float[] Data { get; }

    public ReadOnlySpan<int> Shape => _shape;

    public int Rank => _shape.Length;

    public int Length => Data.Length;

    public Span<float> Span => Data;

    public int Dim(int axis) => _shape[axis];

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    public static Tensor Zeros(params int[] shape) => new(new float[CheckedCount(shape)], shape);

    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        Array.Fill(t.Data, value);
        return t;
    }

    public static Tensor Scalar(float value) => new([value]);

    /// <summary>A tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromValues(ReadOnlySpan<float> values, params int[] shape) => new(values.ToArray(), shape);

    /// <summary>A tensor of the same shape with copied data.</summary>
    public Tensor Clone() => new((float[])Data.Clone(), _shape);

    /// <summary>The same data with another shape of equal element count (no copy).</summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (CheckedCount(shape) != Length)
        {
            throw new ArgumentException($"Cannot view a tensor of shape {Describe(_shape)} as {Describe(shape)}: element counts differ.", nameof(shape));
        }

        return new Tensor(Data, shape);
    }

    /// <summary>The element at <paramref name="index"/> (one index per axis).</summary>
    public float this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    public bool SameShape(Tensor other) => other is not null && Shape.SequenceEqual(other.Shape);

    public bool HasShape(ReadOnlySpan<int> shape) => Shape.SequenceEqual(shape);

    /// <summary>"[2, 3]".</summary>
    public string ShapeString => Describe(_shape);

    public override string ToString() => "Tensor" + ShapeString;

    public static string Describe(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }

    /// <summary>Element count of <paramref name="shape"/>, refusing negative dims and more elements than an array holds.</summary>
    public static int CheckedCount(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {Describe(shape)} has a negative dimension.", nameof(shape));
            }

            count *= d;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException($"Shape {Describe(shape)} has more elements than one float array can hold ({Array.MaxLength}).", nameof(shape));
            }
        }

        return (int)count;
    }

    private int Offset(int[] index)
    {
        if (index.Length != _shape.Length)
        {
            throw new ArgumentException($"{index.Length} indices given for a tensor of shape {ShapeString}.", nameof(index));
        }

        var offset = 0;
        for (var a = 0; a < index.Length; a++)
        {
            if ((uint)index[a] >= (uint)_shape[a])
            {
                throw new IndexOutOfRangeException($"Index {index[a]} is out of range for axis {a} of a tensor of shape {ShapeString}.");
            }

            offset = (offset * _shape[a]) + index[a];
        }

        return offset;
    }
}
