using System;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Kernels;

/// <summary>
/// Elementwise add/sub/mul with PyTorch broadcasting (shapes aligned at the trailing axis; size-1 axes stretch)
/// and the reduction that undoes a broadcast in backward (sum over the stretched axes).
/// </summary>
internal static class Broadcasting
{
    /// <summary>The broadcast shape, or null when the shapes do not broadcast.</summary>
    public static int[]? Shape(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                return null;
            }

            shape[i] = da == 1 ? db : da;
        }

        return shape;
    }

    /// <summary>Strides of <paramref name="shape"/> seen from a tensor of <paramref name="outShape"/>: 0 on stretched axes.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        var rank = outShape.Length;
        var strides = new int[rank];
        var stride = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            var j = i - (rank - shape.Length);
            var d = j >= 0 ? shape[j] : 1;
            strides[i] = d == 1 && outShape[i] != 1 ? 0 : stride;
            stride *= d;
        }

        return strides;
    }

    public static Tensor Apply(BinaryKind op, Tensor a, Tensor b, int[] outShape)
    {
        var y = Tensor.Zeros(outShape);
        if (a.SameShape(b))
        {
            Same(op, a.Data, b.Data, y.Data);
            return y;
        }

        var sa = Strides(a.Shape, outShape);
        var sb = Strides(b.Shape, outShape);
        var rank = outShape.Length;
        var inner = outShape[rank - 1];
        var ia = 0;
        var ib = 0;
        var index = new int[rank];
        for (var o = 0; o < y.Length; o += inner)
        {
            Row(op, a.Data, ia, sa[rank - 1], b.Data, ib, sb[rank - 1], y.Data.AsSpan(o, inner));
            Advance(index, outShape, sa, sb, ref ia, ref ib);
        }

        return y;
    }

    /// <summary>Sums <paramref name="grad"/> (of the broadcast shape) down to <paramref name="shape"/>.</summary>
    public static Tensor ReduceTo(Tensor grad, int[] shape)
    {
        if (grad.HasShape(shape))
        {
            return grad;
        }

        var result = Tensor.Zeros(shape);
        var outShape = grad.ShapeArray();
        var rank = outShape.Length;
        var st = Strides(shape, outShape);
        var none = new int[rank];
        var inner = outShape[rank - 1];
        var it = 0;
        var unused = 0;
        var index = new int[rank];
        for (var o = 0; o < grad.Length; o += inner)
        {
            var row = grad.Data.AsSpan(o, inner);
            if (st[rank - 1] == 0)
            {
                result.Data[it] += TensorPrimitives.Sum(row);
            }
            else
            {
                var dst = result.Data.AsSpan(it, inner);
                TensorPrimitives.Add(dst, row, dst);
            }

            Advance(index, outShape, st, none, ref it, ref unused);
        }

        return result;
    }

    private static void Advance(int[] index, int[] shape, int[] sa, int[] sb, ref int ia, ref int ib)
    {
        for (var axis = shape.Length - 2; axis >= 0; axis--)
        {
            index[axis]++;
            ia += sa[axis];
            ib += sb[axis];
            if (index[axis] < shape[axis])
            {
                return;
            }

            ia -= sa[axis] * shape[axis];
            ib -= sb[axis] * shape[axis];
            index[axis] = 0;
        }
    }

    private static void Same(BinaryKind op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        switch (op)
        {
            case BinaryKind.Add:
                TensorPrimitives.Add(a, b, y);
                break;
            case BinaryKind.Sub:
                TensorPrimitives.Subtract(a, b, y);
                break;
            case BinaryKind.Div:
                TensorPrimitives.Divide(a, b, y);
                break;
            default:
                TensorPrimitives.Multiply(a, b, y);
                break;
        }
    }

    private static void Row(BinaryKind op, float[] a, int ia, int sa, float[] b, int ib, int sb, Span<float> y)
    {
        var n = y.Length;
        if (sa != 0 && sb != 0)
        {
            Same(op, a.AsSpan(ia, n), b.AsSpan(ib, n), y);
        }
        else if (sa != 0)
        {
            var s = b[ib];
            var x = a.AsSpan(ia, n);
            switch (op)
            {
                case BinaryKind.Add:
                    TensorPrimitives.Add(x, s, y);
                    break;
                case BinaryKind.Sub:
                    TensorPrimitives.Subtract(x, s, y);
                    break;
                case BinaryKind.Div:
                    TensorPrimitives.Divide(x, s, y);
                    break;
                default:
                    TensorPrimitives.Multiply(x, s, y);
                    break;
            }
        }
        else if (sb != 0)
        {
            var s = a[ia];
            var x = b.AsSpan(ib, n);
            switch (op)
            {
                case BinaryKind.Add:
                    TensorPrimitives.Add(x, s, y);
                    break;
                case BinaryKind.Sub:
                    TensorPrimitives.Subtract(s, x, y);
                    break;
                case BinaryKind.Div:
                    TensorPrimitives.Divide(s, x, y);
                    break;
                default:
                    TensorPrimitives.Multiply(x, s, y);
                    break;
            }
        }
        else
        {
            var v = op switch
            {
                BinaryKind.Add => a[ia] + b[ib],
                BinaryKind.Sub => a[ia] - b[ib],
                BinaryKind.Div => a[ia] / b[ib],
                _ => a[ia] * b[ib],
            };
            y.Fill(v);
        }
    }
}
