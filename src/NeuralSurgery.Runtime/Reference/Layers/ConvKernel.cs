using System;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference.Layers;

/// <summary>
/// torch.nn.Conv1d on [B, C, L] or unbatched [C, L]: per sample and group an im2col matrix [C/g·k, L_out] times the
/// group's weight [O/g, C/g·k] (weight layout [out, in/groups, k], so a row already reads (channel, tap)); zero
/// padding; output length floor((L + 2p − d(k − 1) − 1)/s) + 1. Backward recomputes the columns instead of keeping them.
/// </summary>
internal sealed class Conv1dKernel(GraphNode node, string where, Conv1dSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly int _cg = (int)(spec.InChannels / spec.Groups);
    private readonly int _og = (int)(spec.OutChannels / spec.Groups);
    private readonly int _k = (int)spec.KernelSize;

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var (batch, length, outLength) = Sizes(x[0]);
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        var col = new float[_cg * _k * outLength];
        var weight = w["weight"].Data;
        var rows = _cg * _k;
        for (var b = 0; b < batch; b++)
        {
            for (var g = 0; g < spec.Groups; g++)
            {
                Im2Col(x[0].Data, b, g, length, outLength, col);
                var dst = y.Data.AsSpan(((b * (int)spec.OutChannels) + (g * _og)) * outLength, _og * outLength);
                MatMul.Multiply(weight.AsSpan(g * _og * rows, _og * rows), col, dst, _og, outLength, rows);
            }

            if (spec.Bias)
            {
                var bias = w["bias"].Data;
                for (var o = 0; o < spec.OutChannels; o++)
                {
                    y.Data.AsSpan(((b * (int)spec.OutChannels) + o) * outLength, outLength).Add(bias[o]);
                }
            }
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var (batch, length, outLength) = Sizes(x[0]);
        var g = dy[0]!.Data;
        var rows = _cg * _k;
        var col = new float[rows * outLength];
        var dcol = new float[rows * outLength];
        var weight = w["weight"];
        var dw = ctx.Gradients!.For(w.Name("weight"), weight).Data;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        for (var b = 0; b < batch; b++)
        {
            for (var grp = 0; grp < spec.Groups; grp++)
            {
                var gy = g.AsSpan(((b * (int)spec.OutChannels) + (grp * _og)) * outLength, _og * outLength);
                Im2Col(x[0].Data, b, grp, length, outLength, col);
                MatMul.Multiply(gy, col, dw.AsSpan(grp * _og * rows, _og * rows), _og, rows, outLength, transposeB: true, accumulate: true);
                MatMul.Multiply(weight.Data.AsSpan(grp * _og * rows, _og * rows), gy, dcol, rows, outLength, _og, transposeA: true);
                Col2Im(dcol, b, grp, length, outLength, dx.Data);
            }
        }

        if (spec.Bias)
        {
            var db = ctx.Gradients.For(w.Name("bias"), w["bias"]).Data;
            for (var b = 0; b < batch; b++)
            {
                for (var o = 0; o < spec.OutChannels; o++)
                {
                    db[o] += System.Numerics.Tensors.TensorPrimitives.Sum(g.AsSpan(((b * (int)spec.OutChannels) + o) * outLength, outLength));
                }
            }
        }

        return [dx];
    }

    private (int Batch, int Length, int OutLength) Sizes(Tensor x)
    {
        var batch = x.Rank == 3 ? x.Dim(0) : 1;
        var length = x.Dim(x.Rank - 1);
        var outLength = (int)(((length + (2 * spec.Padding) - (spec.Dilation * (spec.KernelSize - 1)) - 1) / spec.Stride) + 1);
        return (batch, length, outLength);
    }

    private void Im2Col(float[] x, int b, int g, int length, int outLength, float[] col)
    {
        for (var ci = 0; ci < _cg; ci++)
        {
            var channel = x.AsSpan(((b * (int)spec.InChannels) + (g * _cg) + ci) * length, length);
            for (var kk = 0; kk < _k; kk++)
            {
                var row = col.AsSpan(((ci * _k) + kk) * outLength, outLength);
                var offset = (kk * (int)spec.Dilation) - (int)spec.Padding;
                for (var t = 0; t < outLength; t++)
                {
                    var pos = (t * (int)spec.Stride) + offset;
                    row[t] = pos >= 0 && pos < length ? channel[pos] : 0f;
                }
            }
        }
    }

    private void Col2Im(float[] dcol, int b, int g, int length, int outLength, float[] dx)
    {
        for (var ci = 0; ci < _cg; ci++)
        {
            var channel = dx.AsSpan(((b * (int)spec.InChannels) + (g * _cg) + ci) * length, length);
            for (var kk = 0; kk < _k; kk++)
            {
                var row = dcol.AsSpan(((ci * _k) + kk) * outLength, outLength);
                var offset = (kk * (int)spec.Dilation) - (int)spec.Padding;
                for (var t = 0; t < outLength; t++)
                {
                    var pos = (t * (int)spec.Stride) + offset;
                    if (pos >= 0 && pos < length)
                    {
                        channel[pos] += row[t];
                    }
                }
            }
        }
    }
}

internal static class SpanExtensions
{
    public static void Add(this Span<float> span, float value) => System.Numerics.Tensors.TensorPrimitives.Add(span, value, span);
}
