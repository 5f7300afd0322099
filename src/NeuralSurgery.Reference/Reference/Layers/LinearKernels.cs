using System;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference.Layers;

/// <summary>Weights of one module call: the tensors the model holds, found by state_dict name.</summary>
internal sealed class ModuleWeights(string path, Func<string, Tensor> parameter)
{
    public string Path { get; } = path;

    public string Name(string local) => Path + "." + local;

    public Tensor this[string local] => parameter(Name(local));
}

internal static class RowOps
{
    /// <summary>Adds <paramref name="bias"/> to every row of <paramref name="y"/>.</summary>
    public static void AddRows(Span<float> y, ReadOnlySpan<float> bias)
    {
        for (var o = 0; o < y.Length; o += bias.Length)
        {
            var row = y.Slice(o, bias.Length);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>Adds the sum of the rows of <paramref name="g"/> to <paramref name="sum"/>.</summary>
    public static void SumRows(ReadOnlySpan<float> g, Span<float> sum)
    {
        for (var o = 0; o < g.Length; o += sum.Length)
        {
            TensorPrimitives.Add(sum, g.Slice(o, sum.Length), sum);
        }
    }
}

/// <summary>y = x·Wᵀ + b over the last axis (torch.nn.Linear).</summary>
internal sealed class LinearKernel(GraphNode node, string where, LinearSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        int inF = (int)spec.InFeatures, outF = (int)spec.OutFeatures;
        var rows = x[0].Length / inF;
        var shape = x[0].ShapeArray();
        shape[^1] = outF;
        var y = Tensor.Zeros(shape);
        MatMul.Multiply(x[0].Data, w["weight"].Data, y.Data, rows, outF, inF, transposeB: true);
        if (spec.Bias)
        {
            RowOps.AddRows(y.Data, w["bias"].Data);
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        int inF = (int)spec.InFeatures, outF = (int)spec.OutFeatures;
        var rows = x[0].Length / inF;
        var g = dy[0]!;
        var weight = w["weight"];
        var dw = ctx.Gradients!.For(w.Name("weight"), weight);
        MatMul.Multiply(g.Data, x[0].Data, dw.Data, outF, inF, rows, transposeA: true, accumulate: true);
        if (spec.Bias)
        {
            RowOps.SumRows(g.Data, ctx.Gradients.For(w.Name("bias"), w["bias"]).Data);
        }

        var dx = Tensor.Zeros(x[0].ShapeArray());
        MatMul.Multiply(g.Data, weight.Data, dx.Data, rows, inF, outF);
        return [dx];
    }
}

/// <summary>
/// MultiheadAttention's packed input projection: y_r = x_r·W_rᵀ + b_r for r = q, k, v, where W_r and b_r are the r-th
/// block of E rows of in_proj_weight [3E, E] and in_proj_bias [3E] (PyTorch's _in_projection_packed).
/// </summary>
internal sealed class AttentionProjectionKernel(GraphNode node, string where, AttentionProjectionSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var e = (int)spec.EmbedDim;
        var weight = w["in_proj_weight"].Data;
        var y = new Tensor[3];
        for (var r = 0; r < 3; r++)
        {
            y[r] = Tensor.Zeros(x[r].ShapeArray());
            MatMul.Multiply(x[r].Data, weight.AsSpan(r * e * e, e * e), y[r].Data, x[r].Length / e, e, e, transposeB: true);
            if (spec.Bias)
            {
                RowOps.AddRows(y[r].Data, w["in_proj_bias"].Data.AsSpan(r * e, e));
            }
        }

        return y;
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var e = (int)spec.EmbedDim;
        var weight = w["in_proj_weight"];
        var dw = ctx.Gradients!.For(w.Name("in_proj_weight"), weight).Data;
        var db = spec.Bias ? ctx.Gradients.For(w.Name("in_proj_bias"), w["in_proj_bias"]).Data : null;
        var dx = new Tensor?[3];
        for (var r = 0; r < 3; r++)
        {
            // An output nothing downstream read (attention weights without their values) has no gradient.
            if (dy[r] is not { } g)
            {
                continue;
            }

            var rows = x[r].Length / e;
            MatMul.Multiply(g.Data, x[r].Data, dw.AsSpan(r * e * e, e * e), e, e, rows, transposeA: true, accumulate: true);
            if (db is not null)
            {
                RowOps.SumRows(g.Data, db.AsSpan(r * e, e));
            }

            dx[r] = Tensor.Zeros(x[r].ShapeArray());
            MatMul.Multiply(g.Data, weight.Data.AsSpan(r * e * e, e * e), dx[r]!.Data, rows, e, e);
        }

        return dx;
    }
}

/// <summary>Rows of the table picked by integer indices (torch.nn.Embedding); indices take no gradient.</summary>
internal sealed class EmbeddingKernel(GraphNode node, string where, EmbeddingSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var indices = Indices(x[0], ctx.AbsentIndices);
        saved = indices;
        var dim = (int)spec.EmbeddingDim;
        var shape = new int[x[0].Rank + 1];
        x[0].Shape.CopyTo(shape);
        shape[^1] = dim;
        var y = Tensor.Zeros(shape);
        var table = w["weight"].Data;
        for (var i = 0; i < indices.Length; i++)
        {
            if (indices[i] >= 0)
            {
                table.AsSpan(indices[i] * dim, dim).CopyTo(y.Data.AsSpan(i * dim, dim));
            }
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var indices = (int[])saved!;
        var dim = (int)spec.EmbeddingDim;
        var dw = ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data;
        var g = dy[0]!.Data;
        for (var i = 0; i < indices.Length; i++)
        {
            if (indices[i] < 0)
            {
                continue;
            }

            var row = dw.AsSpan(indices[i] * dim, dim);
            TensorPrimitives.Add(row, g.AsSpan(i * dim, dim), row);
        }

        return [null];
    }

    internal int[] Indices(Tensor x, bool absentAllowed)
    {
        var indices = new int[x.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var v = x.Data[i];
            if (absentAllowed && v == -1)
            {
                indices[i] = -1;
                continue;
            }

            if (!(v >= 0 && v < spec.NumEmbeddings && v == MathF.Floor(v)))
            {
                throw Error($"operand '{Node.Operands[0]}' holds {v} at element {i}; expected an integer index in [0, {spec.NumEmbeddings}) (num_embeddings)");
            }

            indices[i] = (int)v;
        }

        return indices;
    }
}

/// <summary>
/// torch.nn.EmbeddingBag: the rows of each bag summed, averaged or maxed per dimension. Bags are the rows of a 2-D
/// input, or runs of a flat input starting at the offsets (the last ending at the input's end, or at the last offset
/// with include_last_offset). An empty bag gives zeros, as in PyTorch; absent indices (-1) take no part.
/// </summary>
internal sealed class EmbeddingBagKernel(GraphNode node, string where, EmbeddingSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly EmbeddingKernel _lookup = new(node, where, spec, w);

    private sealed record Saved(int[] Indices, int[] Starts, int[] Ends, float[] Counts, int[]? ArgMax);

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var indices = _lookup.Indices(x[0], ctx.AbsentIndices);
        var (starts, ends) = x.Length == 1 ? Rows(x[0]) : Runs(x[1], indices.Length);
        var dim = (int)spec.EmbeddingDim;
        var bags = starts.Length;
        var y = Tensor.Zeros(bags, dim);
        var table = w["weight"].Data;
        var counts = new float[bags];
        var max = spec.Bag!.Mode == BagReduction.Max;
        var argMax = max ? new int[bags * dim] : null;
        for (var b = 0; b < bags; b++)
        {
            var row = y.Data.AsSpan(b * dim, dim);
            for (var t = starts[b]; t < ends[b]; t++)
            {
                if (indices[t] < 0)
                {
                    continue;
                }

                var entry = table.AsSpan(indices[t] * dim, dim);
                if (!max)
                {
                    TensorPrimitives.Add(row, entry, row);
                }
                else
                {
                    for (var e = 0; e < dim; e++)
                    {
                        if (counts[b] == 0 || entry[e] > row[e])
                        {
                            row[e] = entry[e];
                            argMax![(b * dim) + e] = indices[t];
                        }
                    }
                }

                counts[b]++;
            }

            if (spec.Bag.Mode == BagReduction.Mean && counts[b] > 0)
            {
                TensorPrimitives.Divide(row, counts[b], row);
            }
        }

        saved = new Saved(indices, starts, ends, counts, argMax);
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var s = (Saved)saved!;
        var dim = (int)spec.EmbeddingDim;
        var dw = ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data;
        var g = dy[0]!.Data;
        for (var b = 0; b < s.Starts.Length; b++)
        {
            var gb = g.AsSpan(b * dim, dim);
            if (s.ArgMax is { } argMax)
            {
                for (var e = 0; e < dim && s.Counts[b] > 0; e++)
                {
                    dw[(argMax[(b * dim) + e] * dim) + e] += gb[e];
                }

                continue;
            }

            var scale = spec.Bag!.Mode == BagReduction.Mean && s.Counts[b] > 0 ? 1 / s.Counts[b] : 1f;
            for (var t = s.Starts[b]; t < s.Ends[b]; t++)
            {
                if (s.Indices[t] >= 0)
                {
                    var row = dw.AsSpan(s.Indices[t] * dim, dim);
                    TensorPrimitives.MultiplyAdd(gb, scale, row, row);
                }
            }
        }

        return x.Length == 1 ? [null] : [null, null];
    }

    private static (int[] Starts, int[] Ends) Rows(Tensor x)
    {
        var bags = x.Shape[0];
        var n = x.Shape[1];
        var starts = new int[bags];
        var ends = new int[bags];
        for (var b = 0; b < bags; b++)
        {
            starts[b] = b * n;
            ends[b] = (b + 1) * n;
        }

        return (starts, ends);
    }

    /// <summary>Bag bounds from the offsets, checked as PyTorch checks them (first 0, non-decreasing, within the input).</summary>
    private (int[] Starts, int[] Ends) Runs(Tensor offsets, int length)
    {
        var last = spec.Bag!.IncludeLastOffset;
        var bags = offsets.Length - (last ? 1 : 0);
        var starts = new int[Math.Max(bags, 0)];
        var ends = new int[starts.Length];
        float previous = 0;
        for (var i = 0; i < offsets.Length; i++)
        {
            var v = offsets.Data[i];
            if (!(v == MathF.Floor(v) && v >= previous && v <= length) || (i == 0 && v != 0))
            {
                throw Error($"operand '{Node.Operands[1]}' holds {v} at element {i}; expected bag offsets that start at 0 and do not decrease, each at most {length} (the index input's length)");
            }

            previous = v;
        }

        for (var b = 0; b < bags; b++)
        {
            starts[b] = (int)offsets.Data[b];
            ends[b] = b + 1 < offsets.Length ? (int)offsets.Data[b + 1] : length;
        }

        return (starts, ends);
    }
}
