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

    private int[] Indices(Tensor x, bool absentAllowed)
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
