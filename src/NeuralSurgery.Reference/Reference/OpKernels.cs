using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference;

internal sealed class ActivationKernel(GraphNode node, string where, ActivationKind kind) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = Tensor.Zeros(x[0].ShapeArray());
        Activations.Forward(kind, x[0].Data, y.Data);
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var dx = Tensor.Zeros(x[0].ShapeArray());
        Activations.Backward(kind, x[0].Data, y[0].Data, dy[0]!.Data, dx.Data);
        return [dx];
    }
}

/// <summary>
/// Train mode: each element is kept with probability 1 − p and scaled by 1/(1 − p) (inverted dropout, as
/// torch.nn.Dropout); the mask comes from the model's dropout seed, the pass and the node, so runs repeat.
/// Eval mode: identity.
/// </summary>
internal sealed class DropoutKernel(GraphNode node, string where, double p) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        if (!ctx.Training || p == 0)
        {
            return [x[0]];
        }

        var mask = new float[x[0].Length];
        if (p < 1)
        {
            var rng = new Random(Seeds.Mix(ctx.DropoutStream, (ulong)ctx.NodeIndex));
            var scale = (float)(1 / (1 - p));
            for (var i = 0; i < mask.Length; i++)
            {
                mask[i] = rng.NextDouble() >= p ? scale : 0f;
            }
        }

        saved = mask;
        var y = Tensor.Zeros(x[0].ShapeArray());
        TensorPrimitives.Multiply(x[0].Data, mask, y.Data);
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        if (saved is not float[] mask)
        {
            return [dy[0]];
        }

        var dx = Tensor.Zeros(x[0].ShapeArray());
        TensorPrimitives.Multiply(dy[0]!.Data, mask, dx.Data);
        return [dx];
    }
}

internal sealed class SoftmaxKernel(GraphNode node, string where, SoftmaxOp op) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        return [AxisOps.Softmax(x[0], op.Axis, op.Log)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) =>
        [AxisOps.SoftmaxGrad(y[0], dy[0]!, op.Axis, op.Log)];
}

/// <summary>Add/sub/mul with broadcasting; backward sums each operand's gradient over the axes it was stretched on.</summary>
internal sealed class BinaryKernel(GraphNode node, string where, BinaryKind kind) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var shape = Broadcasting.Shape(x[0].Shape, x[1].Shape)
            ?? throw Error($"operand '{Node.Operands[0]}' has shape {x[0].ShapeString} and operand '{Node.Operands[1]}' has shape {x[1].ShapeString}; expected shapes that broadcast");
        return [Broadcasting.Apply(kind, x[0], x[1], shape)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var g = dy[0]!;
        var shape = g.ShapeArray();
        Tensor da, db;
        switch (kind)
        {
            case BinaryKind.Add:
                da = Broadcasting.ReduceTo(g, x[0].ShapeArray());
                db = Broadcasting.ReduceTo(g, x[1].ShapeArray());
                break;
            case BinaryKind.Sub:
                da = Broadcasting.ReduceTo(g, x[0].ShapeArray());
                var negated = Tensor.Zeros(shape);
                TensorPrimitives.Negate(g.Data, negated.Data);
                db = Broadcasting.ReduceTo(negated, x[1].ShapeArray());
                break;
            case BinaryKind.Div:
            {
                // d(a/b)/da = 1/b; d(a/b)/db = −(a/b)/b.
                da = Broadcasting.ReduceTo(Broadcasting.Apply(BinaryKind.Div, g, x[1], shape), x[0].ShapeArray());
                var quotient = Broadcasting.Apply(BinaryKind.Mul, g, y[0], shape);
                TensorPrimitives.Negate(quotient.Data, quotient.Data);
                db = Broadcasting.ReduceTo(Broadcasting.Apply(BinaryKind.Div, quotient, x[1], shape), x[1].ShapeArray());
                break;
            }

            default:
                da = Broadcasting.ReduceTo(Broadcasting.Apply(BinaryKind.Mul, g, x[1], shape), x[0].ShapeArray());
                db = Broadcasting.ReduceTo(Broadcasting.Apply(BinaryKind.Mul, g, x[0], shape), x[1].ShapeArray());
                break;
        }

        return [da, db];
    }
}

internal sealed class ConcatKernel(GraphNode node, string where, int axis, bool stack) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var outShape = ctx.Evaluate(Node.OutputShapes[0]);
        var parts = stack ? Array.ConvertAll(x, t => t.Reshape(Unsqueezed(t.Shape))) : x;
        return [AxisOps.Concat(parts, axis, outShape)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var parts = stack ? Array.ConvertAll(x, t => t.Reshape(Unsqueezed(t.Shape))) : x;
        var grads = AxisOps.SplitGrad(dy[0]!, parts, axis);
        var result = new Tensor?[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            result[i] = stack ? grads[i].Reshape(x[i].ShapeArray()) : grads[i];
        }

        return result;
    }

    private int[] Unsqueezed(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length + 1];
        for (int i = 0, j = 0; i < s.Length; i++)
        {
            s[i] = i == axis ? 1 : shape[j++];
        }

        return s;
    }
}

internal sealed class ReduceKernel(GraphNode node, string where, ReduceOp op) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var kind = Kind(ctx);
        var y = AxisOps.Reduce(x[0], kind, op.Axis, ctx.Evaluate(Node.OutputShapes[0]), out var argmax);
        saved = argmax;
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) =>
        [AxisOps.ReduceGrad(dy[0]!, Kind(ctx), x[0].ShapeArray(), op.Axis, saved as int[])];

    private ReduceKind Kind(KernelContext ctx) => ctx.MaxAsMean && op.Reduction == ReduceKind.Max ? ReduceKind.Mean : op.Reduction;
}

/// <summary>reshape/view, flatten, unsqueeze, squeeze: the same row-major data under the node's output shape.</summary>
internal sealed class ViewKernel(GraphNode node, string where) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var shape = ctx.Evaluate(Node.OutputShapes[0]);
        if (Tensor.CheckedCount(shape) != x[0].Length)
        {
            throw Error($"operand '{Node.Operands[0]}' has shape {x[0].ShapeString}; expected {Tensor.CheckedCount(shape)} elements to view it as {Tensor.Describe(shape)}");
        }

        return [x[0].Reshape(shape)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) =>
        [dy[0]!.Reshape(x[0].ShapeArray())];
}

/// <summary>narrow(axis, start, length) and x[..., start:end:step]: a strided selection along one axis.</summary>
internal sealed class SliceKernel(GraphNode node, string where, int axis, long start, Dim count, long step) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;

        // A narrow to a size known only at run time (table[:T]): the operand must hold it.
        var n = count.Evaluate(s => ctx.Symbols[s]);
        if (start + ((n - 1) * step) >= x[0].Dim(axis))
        {
            throw Error($"operand '{Node.Operands[0]}' has {x[0].Dim(axis)} positions on axis {axis}; the narrow needs {start + ((n - 1) * step) + 1} ({count} = {n})");
        }

        return [AxisOps.Slice(x[0], axis, (int)start, (int)n, (int)step)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) =>
        [AxisOps.SliceGrad(dy[0]!, x[0].ShapeArray(), axis, (int)start, (int)step)];
}

internal sealed class TransposeKernel(GraphNode node, string where, int axis0, int axis1) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        return [AxisOps.Transpose(x[0], axis0, axis1)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) =>
        [AxisOps.Transpose(dy[0]!, axis0, axis1)];
}

/// <summary>
/// Pooling over the last one or two axes, each output reading a window of one channel: max_pool1d/2d and
/// avg_pool1d/2d (ceil_mode False; avg counts padded zeros, PyTorch's count_include_pad default) and adaptive
/// max/avg pooling (output o of O over length L reads [⌊oL/O⌋, ⌈(o+1)L/O⌉)). Max keeps <see cref="Pooling.Max"/>'s
/// tie rule; with <see cref="KernelContext.MaxAsMean"/> it is the mean over each window's in-bounds positions
/// (gradient mapping's avg-pool remedy).
/// </summary>
internal sealed class PoolKernel : NodeKernel
{
    private readonly PoolKind _pool;
    private readonly bool _countPadding;
    private readonly int _dimensions;
    private readonly Func<int, int, PoolAxis> _axis;

    public PoolKernel(GraphNode node, string where, PoolOp op)
        : base(node, where)
    {
        _pool = op.Pool;
        _countPadding = op.Pool == PoolKind.Avg;
        _dimensions = op.Dimensions;
        _axis = (i, length) => PoolAxis.Sliding(length, (int)op.OutputLength(i, length), op.Kernel[i], op.Stride[i], op.Padding[i], op.Dilation[i]);
    }

    public PoolKernel(GraphNode node, string where, AdaptivePoolOp op)
        : base(node, where)
    {
        _pool = op.Pool;
        _countPadding = false;
        _dimensions = op.Dimensions;
        _axis = (i, length) => PoolAxis.Adaptive(length, (int)op.Output[i]);
    }

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var (h, w) = Axes(x[0]);
        var outShape = ctx.Evaluate(Node.OutputShapes[0]);
        if (_pool == PoolKind.Max && !ctx.MaxAsMean)
        {
            var y = Pooling.Max(x[0], h, w, outShape, out var argmax);
            saved = argmax;
            return [y];
        }

        saved = null;
        return [Pooling.Avg(x[0], h, w, outShape, _countPadding)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var (h, w) = Axes(x[0]);
        return saved is int[] argmax
            ? [Pooling.MaxGrad(dy[0]!, x[0].ShapeArray(), h, w, argmax)]
            : [Pooling.AvgGrad(dy[0]!, x[0].ShapeArray(), h, w, _countPadding)];
    }

    private (PoolAxis H, PoolAxis W) Axes(Tensor x)
    {
        PoolAxis Axis(int i) => _axis(i, x.Dim(x.Rank - _dimensions + i));
        return _dimensions == 2 ? (Axis(0), Axis(1)) : (PoolAxis.Unit, Axis(0));
    }
}

/// <summary>permute as the sequence of transposes <see cref="PermuteOp.Swaps"/> gives; backward undoes them in reverse.</summary>
internal sealed class PermuteKernel(GraphNode node, string where, PermuteOp op) : NodeKernel(node, where)
{
    private readonly IReadOnlyList<(int A, int B)> _swaps = op.Swaps();

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = x[0];
        foreach (var (a, b) in _swaps)
        {
            y = AxisOps.Transpose(y, a, b);
        }

        return [_swaps.Count == 0 ? Copy(y) : y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var g = dy[0]!;
        for (var i = _swaps.Count - 1; i >= 0; i--)
        {
            g = AxisOps.Transpose(g, _swaps[i].A, _swaps[i].B);
        }

        return [g];
    }

    private static Tensor Copy(Tensor t)
    {
        var copy = Tensor.Zeros(t.ShapeArray());
        t.Data.CopyTo(copy.Data, 0);
        return copy;
    }
}

/// <summary>
/// torch.matmul of rank ≥ 2 operands: per broadcast batch element C = A·B ([n, m]·[m, p]). Backward: dA = dC·Bᵀ and
/// dB = Aᵀ·dC, summed over the batch elements an operand was broadcast to.
/// </summary>
internal sealed class MatMulKernel(GraphNode node, string where) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        var (n, m, p) = Sizes(x[0], x[1]);
        foreach (var (la, lb, o) in Batches(x[0], x[1], y))
        {
            MatMul.Multiply(x[0].Data.AsSpan(la * n * m, n * m), x[1].Data.AsSpan(lb * m * p, m * p), y.Data.AsSpan(o * n * p, n * p), n, p, m);
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var g = dy[0]!;
        var (n, m, p) = Sizes(x[0], x[1]);
        var da = Tensor.Zeros(x[0].ShapeArray());
        var db = Tensor.Zeros(x[1].ShapeArray());
        foreach (var (la, lb, o) in Batches(x[0], x[1], y[0]))
        {
            var gy = g.Data.AsSpan(o * n * p, n * p);
            MatMul.Multiply(gy, x[1].Data.AsSpan(lb * m * p, m * p), da.Data.AsSpan(la * n * m, n * m), n, m, p, transposeB: true, accumulate: true);
            MatMul.Multiply(x[0].Data.AsSpan(la * n * m, n * m), gy, db.Data.AsSpan(lb * m * p, m * p), m, p, n, transposeA: true, accumulate: true);
        }

        return [da, db];
    }

    private static (int N, int M, int P) Sizes(Tensor a, Tensor b) => (a.Dim(a.Rank - 2), a.Dim(a.Rank - 1), b.Dim(b.Rank - 1));

    /// <summary>For each output batch element (row-major), the batch element of each operand it reads.</summary>
    private static List<(int A, int B, int Out)> Batches(Tensor a, Tensor b, Tensor y)
    {
        var outBatch = y.ShapeArray()[..^2];
        var total = 1;
        foreach (var d in outBatch)
        {
            total *= d;
        }

        int[] aBatch = a.ShapeArray()[..^2], bBatch = b.ShapeArray()[..^2];
        var result = new List<(int, int, int)>(total);
        var index = new int[outBatch.Length];
        for (var o = 0; o < total; o++)
        {
            var rest = o;
            for (var i = outBatch.Length - 1; i >= 0; i--)
            {
                index[i] = rest % outBatch[i];
                rest /= outBatch[i];
            }

            result.Add((Offset(index, aBatch), Offset(index, bBatch), o));
        }

        return result;
    }

    /// <summary>Row-major offset of the right-aligned batch index in an operand's own batch shape (size-1 axes broadcast).</summary>
    private static int Offset(int[] outIndex, int[] shape)
    {
        var offset = 0;
        var skip = outIndex.Length - shape.Length;
        for (var i = 0; i < shape.Length; i++)
        {
            offset = (offset * shape[i]) + (shape[i] == 1 ? 0 : outIndex[skip + i]);
        }

        return offset;
    }
}

/// <summary>
/// A tensor field read in forward: its values (a copy, so no later kernel can change the weights); a Parameter's
/// gradient gains dy, a buffer has none.
/// </summary>
internal sealed class TensorKernel(GraphNode node, string where, string name, bool isBuffer, Func<string, Tensor> tensor) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var source = tensor(name);
        var copy = Tensor.Zeros(source.ShapeArray());
        source.Data.CopyTo(copy.Data, 0);
        return [copy];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        if (isBuffer || ctx.Gradients is null)
        {
            return [];
        }

        var parameter = tensor(name);
        var grad = ctx.Gradients.For(name, parameter);
        TensorPrimitives.Add(grad.Data, dy[0]!.Data, grad.Data);
        return [];
    }
}

/// <summary>x times a constant; its gradient is dy times the same constant.</summary>
internal sealed class ScaleKernel(GraphNode node, string where, float factor, float offset) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = Tensor.Zeros(x[0].ShapeArray());
        TensorPrimitives.Multiply(x[0].Data, factor, y.Data);
        if (offset != 0)
        {
            TensorPrimitives.Add(y.Data, offset, y.Data);
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var dx = Tensor.Zeros(x[0].ShapeArray());
        TensorPrimitives.Multiply(dy[0]!.Data, factor, dx.Data);
        return [dx];
    }
}

/// <summary>A tensor of one value made in forward, shaped by the pass's symbol sizes; nothing flows back.</summary>
internal sealed class FillKernel(GraphNode node, string where, float value) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        y.Data.AsSpan().Fill(value);
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) => [];
}

/// <summary>torch.arange(start, end): the positions start..end−1, as indices for an Embedding (no gradient).</summary>
internal sealed class ArangeKernel(GraphNode node, string where, long start) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        for (var i = 0; i < y.Length; i++)
        {
            y.Data[i] = start + i;
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx) => [];
}
