using System;
using System.Linq;
using System.Runtime.CompilerServices;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Layers;

/// <summary>
/// Normalisation over contiguous blocks of a tensor (LayerNorm's trailing normalized_shape, GroupNorm's channels of a
/// group with their positions): biased variance, eps inside the square root, an optional affine weight and bias
/// indexed per element by <see cref="ParamIndex"/>. Statistics in double so float32 rounding does not leak into
/// gradient checks.
/// </summary>
internal abstract class BlockNormKernel(GraphNode node, string where, ModuleWeights w, double eps, bool affine, bool bias) : NodeKernel(node, where)
{
    /// <summary>Elements per normalised block of <paramref name="x"/>.</summary>
    protected abstract int BlockSize(Tensor x);

    /// <summary>The affine parameter of element <paramref name="i"/> of block <paramref name="block"/>.</summary>
    protected abstract int ParamIndex(Tensor x, int block, int i);

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var d = BlockSize(x[0]);
        var rows = x[0].Length / d;
        var y = Tensor.Zeros(x[0].ShapeArray());
        var rstd = new double[rows];
        var weight = affine ? w["weight"].Data : null;
        var shift = affine && bias ? w["bias"].Data : null;
        for (var r = 0; r < rows; r++)
        {
            var row = x[0].Data.AsSpan(r * d, d);
            var mean = Mean(row);
            double variance = 0;
            foreach (var v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= d;
            rstd[r] = 1 / Math.Sqrt(variance + eps);
            var dst = y.Data.AsSpan(r * d, d);
            for (var i = 0; i < d; i++)
            {
                var v = (row[i] - mean) * rstd[r];
                if (weight is not null)
                {
                    var p = ParamIndex(x[0], r, i);
                    v = (v * weight[p]) + (shift?[p] ?? 0);
                }

                dst[i] = (float)v;
            }
        }

        saved = rstd;
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var rstd = (double[])saved!;
        var d = BlockSize(x[0]);
        var rows = x[0].Length / d;
        var g = dy[0]!.Data;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        var weight = affine ? w["weight"].Data : null;
        var dw = weight is not null ? ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data : null;
        var db = affine && bias ? ctx.Gradients!.For(w.Name("bias"), w["bias"]).Data : null;
        var xhat = new double[d];
        var dxhat = new double[d];
        for (var r = 0; r < rows; r++)
        {
            var row = x[0].Data.AsSpan(r * d, d);
            var gr = g.AsSpan(r * d, d);
            var mean = Mean(row);
            double sumDxhat = 0, sumDxhatXhat = 0;
            for (var i = 0; i < d; i++)
            {
                var p = weight is null ? 0 : ParamIndex(x[0], r, i);
                xhat[i] = (row[i] - mean) * rstd[r];
                dxhat[i] = gr[i] * (weight?[p] ?? 1f);
                sumDxhat += dxhat[i];
                sumDxhatXhat += dxhat[i] * xhat[i];
                if (dw is not null)
                {
                    dw[p] += (float)(gr[i] * xhat[i]);
                }

                if (db is not null)
                {
                    db[p] += gr[i];
                }
            }

            var dst = dx.Data.AsSpan(r * d, d);
            for (var i = 0; i < d; i++)
            {
                dst[i] = (float)(rstd[r] * (dxhat[i] - (sumDxhat / d) - (xhat[i] * sumDxhatXhat / d)));
            }
        }

        return [dx];
    }

    private static double Mean(ReadOnlySpan<float> row)
    {
        double mean = 0;
        foreach (var v in row)
        {
            mean += v;
        }

        return mean / row.Length;
    }
}

/// <summary>torch.nn.LayerNorm over the trailing normalized_shape, weight and bias elementwise over it.</summary>
internal sealed class LayerNormKernel(GraphNode node, string where, LayerNormSpec spec, ModuleWeights w)
    : BlockNormKernel(node, where, w, spec.Eps, spec.ElementwiseAffine, spec.Bias)
{
    private readonly int _d = (int)spec.NormalizedShape.Aggregate(1L, (a, v) => a * v);

    protected override int BlockSize(Tensor x) => _d;

    protected override int ParamIndex(Tensor x, int block, int i) => i;
}

/// <summary>
/// torch.nn.GroupNorm on [N, C, *]: statistics per sample and group of C/G consecutive channels over all their
/// positions; weight and bias per channel.
/// </summary>
internal sealed class GroupNormKernel(GraphNode node, string where, GroupNormSpec spec, ModuleWeights w)
    : BlockNormKernel(node, where, w, spec.Eps, spec.Affine, spec.Affine)
{
    private int Positions(Tensor x) => x.Length / x.Shape[0] / (int)spec.NumChannels;

    protected override int BlockSize(Tensor x) => (int)(spec.NumChannels / spec.NumGroups) * Positions(x);

    protected override int ParamIndex(Tensor x, int block, int i) =>
        (int)((block % spec.NumGroups) * (spec.NumChannels / spec.NumGroups)) + (i / Positions(x));
}

/// <summary>
/// torch.nn.BatchNorm1d on [N, C] or [N, C, L] and BatchNorm2d on [N, C, H, W]: statistics per channel over N and
/// every spatial position (L = the product of the axes after C). Train mode (and any mode without running stats)
/// normalises with the batch mean and biased variance and, when tracking, moves running_mean and running_var by
/// momentum, running_var with the unbiased variance (n/(n − 1)), and counts num_batches_tracked. Eval mode with
/// running stats normalises with them.
/// </summary>
internal sealed class BatchNormKernel(GraphNode node, string where, BatchNormSpec spec, ModuleWeights w, StrongBox<long>? batchesTracked) : NodeKernel(node, where)
{
    private sealed record Saved(double[] Mean, double[] Rstd, bool BatchStats);

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var (n, c, l) = Sizes(x[0]);
        var batchStats = ctx.Training || (!spec.TrackRunningStats && !ctx.MirrorNorms);
        var mean = new double[c];
        var rstd = new double[c];
        var data = x[0].Data;
        if (batchStats)
        {
            var count = n * l;
            if (count < 2 && ctx.Training)
            {
                throw Error($"operand '{Node.Operands[0]}' has shape {x[0].ShapeString}; training needs more than 1 value per channel (PyTorch raises the same)");
            }

            for (var ch = 0; ch < c; ch++)
            {
                double s = 0;
                for (var b = 0; b < n; b++)
                {
                    foreach (var v in data.AsSpan(((b * c) + ch) * l, l))
                    {
                        s += v;
                    }
                }

                var m = s / count;
                double sq = 0;
                for (var b = 0; b < n; b++)
                {
                    foreach (var v in data.AsSpan(((b * c) + ch) * l, l))
                    {
                        sq += (v - m) * (v - m);
                    }
                }

                var variance = sq / count;
                mean[ch] = m;
                rstd[ch] = 1 / Math.Sqrt(variance + spec.Eps);
                if (ctx.Training && spec.TrackRunningStats)
                {
                    var rm = w["running_mean"].Data;
                    var rv = w["running_var"].Data;
                    rm[ch] = (float)(((1 - spec.Momentum) * rm[ch]) + (spec.Momentum * m));
                    rv[ch] = (float)(((1 - spec.Momentum) * rv[ch]) + (spec.Momentum * variance * count / (count - 1)));
                }
            }

            if (ctx.Training && batchesTracked is not null)
            {
                batchesTracked.Value++;
            }
        }
        else if (spec.TrackRunningStats)
        {
            var rm = w["running_mean"].Data;
            var rv = w["running_var"].Data;
            for (var ch = 0; ch < c; ch++)
            {
                mean[ch] = rm[ch];
                rstd[ch] = 1 / Math.Sqrt(rv[ch] + spec.Eps);
            }
        }
        else
        {
            // The mirror's eval form of a layer without running statistics: mean 0, variance 1.
            Array.Fill(rstd, 1 / Math.Sqrt(1 + spec.Eps));
        }

        var y = Tensor.Zeros(x[0].ShapeArray());
        var weight = spec.Affine ? w["weight"].Data : null;
        var bias = spec.Affine ? w["bias"].Data : null;
        for (var b = 0; b < n; b++)
        {
            for (var ch = 0; ch < c; ch++)
            {
                var src = data.AsSpan(((b * c) + ch) * l, l);
                var dst = y.Data.AsSpan(((b * c) + ch) * l, l);
                double scale = rstd[ch] * (weight?[ch] ?? 1f);
                double shift = (bias?[ch] ?? 0f) - (mean[ch] * scale);
                for (var i = 0; i < l; i++)
                {
                    dst[i] = (float)((src[i] * scale) + shift);
                }
            }
        }

        saved = new Saved(mean, rstd, batchStats);
        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var s = (Saved)saved!;
        var (n, c, l) = Sizes(x[0]);
        var count = n * l;
        var g = dy[0]!.Data;
        var data = x[0].Data;
        var weight = spec.Affine ? w["weight"].Data : null;
        var dw = spec.Affine ? ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data : null;
        var db = spec.Affine ? ctx.Gradients!.For(w.Name("bias"), w["bias"]).Data : null;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        for (var ch = 0; ch < c; ch++)
        {
            double sumG = 0, sumGXhat = 0;
            for (var b = 0; b < n; b++)
            {
                var off = ((b * c) + ch) * l;
                for (var i = 0; i < l; i++)
                {
                    var xhat = (data[off + i] - s.Mean[ch]) * s.Rstd[ch];
                    sumG += g[off + i];
                    sumGXhat += g[off + i] * xhat;
                }
            }

            if (dw is not null)
            {
                dw[ch] += (float)sumGXhat;
                db![ch] += (float)sumG;
            }

            var gamma = weight?[ch] ?? 1f;
            for (var b = 0; b < n; b++)
            {
                var off = ((b * c) + ch) * l;
                for (var i = 0; i < l; i++)
                {
                    if (s.BatchStats)
                    {
                        // dx = γ·rstd/n · (n·dy − Σdy − x̂·Σ(dy·x̂)); the batch statistics depend on x.
                        var xhat = (data[off + i] - s.Mean[ch]) * s.Rstd[ch];
                        dx.Data[off + i] = (float)(gamma * s.Rstd[ch] / count * ((count * g[off + i]) - sumG - (xhat * sumGXhat)));
                    }
                    else
                    {
                        dx.Data[off + i] = (float)(g[off + i] * gamma * s.Rstd[ch]);
                    }
                }
            }
        }

        return [dx];
    }

    /// <summary>Batch, channels and positions per channel (1 for [N, C]); the rank was checked by shape inference.</summary>
    private static (int N, int C, int L) Sizes(Tensor x)
    {
        var positions = 1;
        for (var a = 2; a < x.Rank; a++)
        {
            positions *= x.Dim(a);
        }

        return (x.Dim(0), x.Dim(1), positions);
    }
}
