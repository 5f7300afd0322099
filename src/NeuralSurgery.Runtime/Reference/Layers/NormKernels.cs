using System;
using System.Runtime.CompilerServices;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Layers;

/// <summary>
/// torch.nn.LayerNorm over the trailing normalized_shape: biased variance, eps inside the square root, optional
/// elementwise weight and bias. Statistics in double so float32 rounding does not leak into gradient checks.
/// </summary>
internal sealed class LayerNormKernel(GraphNode node, string where, LayerNormSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly int _d = (int)Product(spec);

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var rows = x[0].Length / _d;
        var y = Tensor.Zeros(x[0].ShapeArray());
        var rstd = new double[rows];
        var weight = spec.ElementwiseAffine ? w["weight"].Data : null;
        var bias = spec.ElementwiseAffine && spec.Bias ? w["bias"].Data : null;
        for (var r = 0; r < rows; r++)
        {
            var row = x[0].Data.AsSpan(r * _d, _d);
            double mean = 0;
            foreach (var v in row)
            {
                mean += v;
            }

            mean /= _d;
            double variance = 0;
            foreach (var v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            variance /= _d;
            rstd[r] = 1 / Math.Sqrt(variance + spec.Eps);
            var dst = y.Data.AsSpan(r * _d, _d);
            for (var i = 0; i < _d; i++)
            {
                var v = (row[i] - mean) * rstd[r];
                if (weight is not null)
                {
                    v = (v * weight[i]) + (bias?[i] ?? 0);
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
        var rows = x[0].Length / _d;
        var g = dy[0]!.Data;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        var weight = spec.ElementwiseAffine ? w["weight"].Data : null;
        var dw = weight is not null ? ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data : null;
        var db = spec.ElementwiseAffine && spec.Bias ? ctx.Gradients!.For(w.Name("bias"), w["bias"]).Data : null;
        var xhat = new double[_d];
        var dxhat = new double[_d];
        for (var r = 0; r < rows; r++)
        {
            var row = x[0].Data.AsSpan(r * _d, _d);
            var gr = g.AsSpan(r * _d, _d);
            double mean = 0;
            foreach (var v in row)
            {
                mean += v;
            }

            mean /= _d;
            double sumDxhat = 0, sumDxhatXhat = 0;
            for (var i = 0; i < _d; i++)
            {
                xhat[i] = (row[i] - mean) * rstd[r];
                dxhat[i] = gr[i] * (weight?[i] ?? 1f);
                sumDxhat += dxhat[i];
                sumDxhatXhat += dxhat[i] * xhat[i];
                if (dw is not null)
                {
                    dw[i] += (float)(gr[i] * xhat[i]);
                }

                if (db is not null)
                {
                    db[i] += gr[i];
                }
            }

            var dst = dx.Data.AsSpan(r * _d, _d);
            for (var i = 0; i < _d; i++)
            {
                dst[i] = (float)(rstd[r] * (dxhat[i] - (sumDxhat / _d) - (xhat[i] * sumDxhatXhat / _d)));
            }
        }

        return [dx];
    }

    private static long Product(LayerNormSpec spec)
    {
        long p = 1;
        foreach (var d in spec.NormalizedShape)
        {
            p *= d;
        }

        return p;
    }
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
