using System;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Kernels;

/// <summary>
/// Ops along one axis, on the (outer, axis, inner) view of a row-major tensor: concat and its split, narrow and
/// strided slices and their scatter, transpose, max/mean/sum reductions, softmax and log-softmax.
/// </summary>
internal static class AxisOps
{
    /// <summary>Products of the dims before and after <paramref name="axis"/>.</summary>
    public static (int Outer, int Inner) Split(ReadOnlySpan<int> shape, int axis)
    {
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= shape[i];
        }

        var inner = 1;
        for (var i = axis + 1; i < shape.Length; i++)
        {
            inner *= shape[i];
        }

        return (outer, inner);
    }

    public static Tensor Concat(Tensor[] parts, int axis, int[] outShape)
    {
        var y = Tensor.Zeros(outShape);
        var (outer, inner) = Split(outShape, axis);
        var rowOut = outShape[axis] * inner;
        var offset = 0;
        foreach (var p in parts)
        {
            var row = p.Dim(axis) * inner;
            for (var o = 0; o < outer; o++)
            {
                p.Data.AsSpan(o * row, row).CopyTo(y.Data.AsSpan((o * rowOut) + offset, row));
            }

            offset += row;
        }

        return y;
    }

    /// <summary>The backward of <see cref="Concat"/>: the gradient's block of each part.</summary>
    public static Tensor[] SplitGrad(Tensor grad, Tensor[] parts, int axis)
    {
        var (outer, inner) = Split(grad.Shape, axis);
        var rowOut = grad.Dim(axis) * inner;
        var result = new Tensor[parts.Length];
        var offset = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            var g = Tensor.Zeros(parts[i].ShapeArray());
            var row = parts[i].Dim(axis) * inner;
            for (var o = 0; o < outer; o++)
            {
                grad.Data.AsSpan((o * rowOut) + offset, row).CopyTo(g.Data.AsSpan(o * row, row));
            }

            offset += row;
            result[i] = g;
        }

        return result;
    }

    /// <summary>Elements start, start+step, … (count of them) along <paramref name="axis"/>.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int count, int step)
    {
        var shape = x.ShapeArray();
        var (outer, inner) = Split(shape, axis);
        var len = shape[axis];
        shape[axis] = count;
        var y = Tensor.Zeros(shape);
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < count; i++)
            {
                x.Data.AsSpan(((o * len) + start + (i * step)) * inner, inner).CopyTo(y.Data.AsSpan(((o * count) + i) * inner, inner));
            }
        }

        return y;
    }

    /// <summary>The backward of <see cref="Slice"/>: the gradient scattered into zeros of the input's shape.</summary>
    public static Tensor SliceGrad(Tensor grad, int[] inputShape, int axis, int start, int step)
    {
        var dx = Tensor.Zeros(inputShape);
        var (outer, inner) = Split(inputShape, axis);
        var len = inputShape[axis];
        var count = grad.Dim(axis);
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < count; i++)
            {
                grad.Data.AsSpan(((o * count) + i) * inner, inner).CopyTo(dx.Data.AsSpan(((o * len) + start + (i * step)) * inner, inner));
            }
        }

        return dx;
    }

    /// <summary>Swaps two axes (its own backward).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        if (axis0 == axis1)
        {
            return x.Clone();
        }

        var (a0, a1) = axis0 < axis1 ? (axis0, axis1) : (axis1, axis0);
        var shape = x.ShapeArray();
        (shape[a0], shape[a1]) = (shape[a1], shape[a0]);
        var y = Tensor.Zeros(shape);

        // View as [outer, d0, mid, d1, inner] and write [outer, d1, mid, d0, inner].
        var (outer, _) = Split(x.Shape, a0);
        int d0 = x.Dim(a0), d1 = x.Dim(a1);
        var mid = 1;
        for (var i = a0 + 1; i < a1; i++)
        {
            mid *= x.Dim(i);
        }

        var (_, inner) = Split(x.Shape, a1);
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < d0; i++)
            {
                for (var m = 0; m < mid; m++)
                {
                    for (var j = 0; j < d1; j++)
                    {
                        var src = ((((((o * d0) + i) * mid) + m) * d1) + j) * inner;
                        var dst = ((((((o * d1) + j) * mid) + m) * d0) + i) * inner;
                        x.Data.AsSpan(src, inner).CopyTo(y.Data.AsSpan(dst, inner));
                    }
                }
            }
        }

        return y;
    }

    /// <summary>Reduces <paramref name="axis"/>; for max also returns the first index of the maximum (PyTorch's tie rule).</summary>
    public static Tensor Reduce(Tensor x, ReduceKind kind, int axis, int[] outShape, out int[]? argmax)
    {
        var (outer, inner) = Split(x.Shape, axis);
        var len = x.Dim(axis);
        var y = Tensor.Zeros(outShape);
        argmax = null;
        if (kind == ReduceKind.Max)
        {
            argmax = new int[outer * inner];
        }

        for (var o = 0; o < outer; o++)
        {
            var dst = y.Data.AsSpan(o * inner, inner);
            if (kind == ReduceKind.Max)
            {
                x.Data.AsSpan(o * len * inner, inner).CopyTo(dst);
                var arg = argmax.AsSpan(o * inner, inner);
                for (var l = 1; l < len; l++)
                {
                    var row = x.Data.AsSpan(((o * len) + l) * inner, inner);
                    for (var i = 0; i < inner; i++)
                    {
                        // Strictly greater keeps the first maximum; NaN propagates as in torch.max.
                        if (row[i] > dst[i] || (float.IsNaN(row[i]) && !float.IsNaN(dst[i])))
                        {
                            dst[i] = row[i];
                            arg[i] = l;
                        }
                    }
                }
            }
            else
            {
                for (var l = 0; l < len; l++)
                {
                    TensorPrimitives.Add(dst, x.Data.AsSpan(((o * len) + l) * inner, inner), dst);
                }

                if (kind == ReduceKind.Mean)
                {
                    TensorPrimitives.Multiply(dst, 1f / len, dst);
                }
            }
        }

        return y;
    }

    public static Tensor ReduceGrad(Tensor grad, ReduceKind kind, int[] inputShape, int axis, int[]? argmax)
    {
        var (outer, inner) = Split(inputShape, axis);
        var len = inputShape[axis];
        var dx = Tensor.Zeros(inputShape);
        for (var o = 0; o < outer; o++)
        {
            var g = grad.Data.AsSpan(o * inner, inner);
            if (kind == ReduceKind.Max)
            {
                for (var i = 0; i < inner; i++)
                {
                    dx.Data[(((o * len) + argmax![(o * inner) + i]) * inner) + i] = g[i];
                }
            }
            else
            {
                var scale = kind == ReduceKind.Mean ? 1f / len : 1f;
                for (var l = 0; l < len; l++)
                {
                    TensorPrimitives.Multiply(g, scale, dx.Data.AsSpan(((o * len) + l) * inner, inner));
                }
            }
        }

        return dx;
    }

    /// <summary>Softmax or log-softmax along <paramref name="axis"/>, max-shifted so large logits do not overflow.</summary>
    public static Tensor Softmax(Tensor x, int axis, bool log)
    {
        var (outer, inner) = Split(x.Shape, axis);
        var len = x.Dim(axis);
        var y = Tensor.Zeros(x.ShapeArray());
        var buffer = new float[len];
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIndex = (o * len * inner) + i;
                for (var l = 0; l < len; l++)
                {
                    buffer[l] = x.Data[baseIndex + (l * inner)];
                }

                SoftmaxRow(buffer, log);
                for (var l = 0; l < len; l++)
                {
                    y.Data[baseIndex + (l * inner)] = buffer[l];
                }
            }
        }

        return y;
    }

    /// <summary>In place: softmax (or log-softmax) of one row.</summary>
    public static void SoftmaxRow(Span<float> row, bool log)
    {
        var max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        if (log)
        {
            double sum = 0;
            foreach (var v in row)
            {
                sum += Math.Exp(v);
            }

            TensorPrimitives.Subtract(row, (float)Math.Log(sum), row);
        }
        else
        {
            TensorPrimitives.Exp(row, row);
            var sum = TensorPrimitives.Sum(row);
            TensorPrimitives.Multiply(row, 1f / sum, row);
        }
    }

    /// <summary>Softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − exp(y)·Σ dy.</summary>
    public static Tensor SoftmaxGrad(Tensor y, Tensor dy, int axis, bool log)
    {
        var (outer, inner) = Split(y.Shape, axis);
        var len = y.Dim(axis);
        var dx = Tensor.Zeros(y.ShapeArray());
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var baseIndex = (o * len * inner) + i;
                double dot = 0;
                for (var l = 0; l < len; l++)
                {
                    var k = baseIndex + (l * inner);
                    dot += log ? dy.Data[k] : dy.Data[k] * y.Data[k];
                }

                for (var l = 0; l < len; l++)
                {
                    var k = baseIndex + (l * inner);
                    dx.Data[k] = log
                        ? (float)(dy.Data[k] - (Math.Exp(y.Data[k]) * dot))
                        : (float)(y.Data[k] * (dy.Data[k] - dot));
                }
            }
        }

        return dx;
    }
}
