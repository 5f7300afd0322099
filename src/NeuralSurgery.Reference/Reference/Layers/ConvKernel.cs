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

/// <summary>
/// torch.nn.Conv2d on [B, C, H, W] or unbatched [C, H, W]: per sample and group an im2col matrix
/// [C/g·kh·kw, H_out·W_out] times the group's weight [O/g, C/g·kh·kw] (weight layout [out, in/groups, kh, kw], so a
/// row reads (channel, tap row, tap column)); zero padding; per axis floor((L + 2p − d(k − 1) − 1)/s) + 1 outputs.
/// Backward recomputes the columns instead of keeping them, as Conv1d does.
/// </summary>
internal sealed class Conv2dKernel(GraphNode node, string where, Conv2dSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly int _cg = (int)(spec.InChannels / spec.Groups);
    private readonly int _og = (int)(spec.OutChannels / spec.Groups);
    private readonly int _kh = (int)spec.KernelH;
    private readonly int _kw = (int)spec.KernelW;

    private int Rows => _cg * _kh * _kw;

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var s = Sizes(x[0]);
        var positions = s.OutH * s.OutW;
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        var col = new float[Rows * positions];
        var weight = w["weight"].Data;
        for (var b = 0; b < s.Batch; b++)
        {
            for (var g = 0; g < spec.Groups; g++)
            {
                Im2Col(x[0].Data, b, g, s, col);
                var dst = y.Data.AsSpan(((b * (int)spec.OutChannels) + (g * _og)) * positions, _og * positions);
                MatMul.Multiply(weight.AsSpan(g * _og * Rows, _og * Rows), col, dst, _og, positions, Rows);
            }

            if (spec.Bias)
            {
                var bias = w["bias"].Data;
                for (var o = 0; o < spec.OutChannels; o++)
                {
                    y.Data.AsSpan(((b * (int)spec.OutChannels) + o) * positions, positions).Add(bias[o]);
                }
            }
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var s = Sizes(x[0]);
        var positions = s.OutH * s.OutW;
        var g = dy[0]!.Data;
        var col = new float[Rows * positions];
        var dcol = new float[Rows * positions];
        var weight = w["weight"];
        var dw = ctx.Gradients!.For(w.Name("weight"), weight).Data;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        for (var b = 0; b < s.Batch; b++)
        {
            for (var grp = 0; grp < spec.Groups; grp++)
            {
                var gy = g.AsSpan(((b * (int)spec.OutChannels) + (grp * _og)) * positions, _og * positions);
                Im2Col(x[0].Data, b, grp, s, col);
                MatMul.Multiply(gy, col, dw.AsSpan(grp * _og * Rows, _og * Rows), _og, Rows, positions, transposeB: true, accumulate: true);
                MatMul.Multiply(weight.Data.AsSpan(grp * _og * Rows, _og * Rows), gy, dcol, Rows, positions, _og, transposeA: true);
                Col2Im(dcol, b, grp, s, dx.Data);
            }
        }

        if (spec.Bias)
        {
            var db = ctx.Gradients.For(w.Name("bias"), w["bias"]).Data;
            for (var b = 0; b < s.Batch; b++)
            {
                for (var o = 0; o < spec.OutChannels; o++)
                {
                    db[o] += System.Numerics.Tensors.TensorPrimitives.Sum(g.AsSpan(((b * (int)spec.OutChannels) + o) * positions, positions));
                }
            }
        }

        return [dx];
    }

    private readonly record struct ConvSizes(int Batch, int H, int W, int OutH, int OutW);

    private ConvSizes Sizes(Tensor x)
    {
        var batch = x.Rank == 4 ? x.Dim(0) : 1;
        int h = x.Dim(x.Rank - 2), width = x.Dim(x.Rank - 1);
        return new ConvSizes(batch, h, width, (int)spec.OutputLength(0, h), (int)spec.OutputLength(1, width));
    }

    /// <summary>The output columns [first, last] whose tap at input offset <paramref name="offset"/> lands inside [0, length).</summary>
    private static (int First, int Last) Valid(int offset, int stride, int length, int outLength)
    {
        var first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        var last = Math.Min(outLength - 1, length - 1 - offset < 0 ? -1 : (length - 1 - offset) / stride);
        return (first, last);
    }

    private void Im2Col(float[] x, int b, int g, ConvSizes s, float[] col)
    {
        int sh = (int)spec.StrideH, sw = (int)spec.StrideW;
        var positions = s.OutH * s.OutW;
        for (var ci = 0; ci < _cg; ci++)
        {
            var channel = x.AsSpan(((b * (int)spec.InChannels) + (g * _cg) + ci) * s.H * s.W, s.H * s.W);
            for (var kh = 0; kh < _kh; kh++)
            {
                var offH = (kh * (int)spec.DilationH) - (int)spec.PaddingH;
                for (var kw = 0; kw < _kw; kw++)
                {
                    var offW = (kw * (int)spec.DilationW) - (int)spec.PaddingW;
                    var (first, last) = Valid(offW, sw, s.W, s.OutW);
                    var row = col.AsSpan(((((ci * _kh) + kh) * _kw) + kw) * positions, positions);
                    for (var oh = 0; oh < s.OutH; oh++)
                    {
                        var dst = row.Slice(oh * s.OutW, s.OutW);
                        var h = (oh * sh) + offH;
                        if (h < 0 || h >= s.H || first > last)
                        {
                            dst.Clear();
                            continue;
                        }

                        dst[..first].Clear();
                        dst[(last + 1)..].Clear();
                        var src = channel.Slice(h * s.W, s.W);
                        if (sw == 1)
                        {
                            src.Slice(first + offW, last - first + 1).CopyTo(dst[first..]);
                        }
                        else
                        {
                            for (var ow = first; ow <= last; ow++)
                            {
                                dst[ow] = src[(ow * sw) + offW];
                            }
                        }
                    }
                }
            }
        }
    }

    private void Col2Im(float[] dcol, int b, int g, ConvSizes s, float[] dx)
    {
        int sh = (int)spec.StrideH, sw = (int)spec.StrideW;
        var positions = s.OutH * s.OutW;
        for (var ci = 0; ci < _cg; ci++)
        {
            var channel = dx.AsSpan(((b * (int)spec.InChannels) + (g * _cg) + ci) * s.H * s.W, s.H * s.W);
            for (var kh = 0; kh < _kh; kh++)
            {
                var offH = (kh * (int)spec.DilationH) - (int)spec.PaddingH;
                for (var kw = 0; kw < _kw; kw++)
                {
                    var offW = (kw * (int)spec.DilationW) - (int)spec.PaddingW;
                    var (first, last) = Valid(offW, sw, s.W, s.OutW);
                    if (first > last)
                    {
                        continue;
                    }

                    var row = dcol.AsSpan(((((ci * _kh) + kh) * _kw) + kw) * positions, positions);
                    for (var oh = 0; oh < s.OutH; oh++)
                    {
                        var h = (oh * sh) + offH;
                        if (h < 0 || h >= s.H)
                        {
                            continue;
                        }

                        var src = row.Slice(oh * s.OutW, s.OutW);
                        var dst = channel.Slice(h * s.W, s.W);
                        if (sw == 1)
                        {
                            var span = dst.Slice(first + offW, last - first + 1);
                            System.Numerics.Tensors.TensorPrimitives.Add(span, src.Slice(first, last - first + 1), span);
                        }
                        else
                        {
                            for (var ow = first; ow <= last; ow++)
                            {
                                dst[(ow * sw) + offW] += src[ow];
                            }
                        }
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

/// <summary>
/// torch.nn.ConvTranspose1d/2d (the 1-D form over a height of 1): input x[b, c, i, j] times weight [c, o', kh, kw]
/// scattered to output (i·s − p + kh·d, j·s − p + kw·d) of channel g·(out/g) + o' where that lies inside the output
/// (output_padding only lengthens it). Direct loops: the reference kernel favours clarity over speed here.
/// </summary>
internal sealed class ConvTransposeKernel(GraphNode node, string where, ConvTransposeSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly int _cg = (int)(spec.InChannels / spec.Groups);
    private readonly int _og = (int)(spec.OutChannels / spec.Groups);
    private readonly int _kh = (int)spec.KernelH;
    private readonly int _kw = (int)spec.KernelW;

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        saved = null;
        var s = Sizes(x[0]);
        var y = Tensor.Zeros(ctx.Evaluate(Node.OutputShapes[0]));
        var weight = w["weight"].Data;
        Walk(s, (xi, yi, wi) => y.Data[yi] += x[0].Data[xi] * weight[wi]);
        if (spec.Bias)
        {
            var bias = w["bias"].Data;
            var positions = s.OutH * s.OutW;
            for (var e = 0; e < y.Length; e++)
            {
                y.Data[e] += bias[e / positions % (int)spec.OutChannels];
            }
        }

        return [y];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var s = Sizes(x[0]);
        var g = dy[0]!.Data;
        var weight = w["weight"].Data;
        var dw = ctx.Gradients!.For(w.Name("weight"), w["weight"]).Data;
        var dx = Tensor.Zeros(x[0].ShapeArray());
        Walk(s, (xi, yi, wi) =>
        {
            dx.Data[xi] += g[yi] * weight[wi];
            dw[wi] += x[0].Data[xi] * g[yi];
        });
        if (spec.Bias)
        {
            var db = ctx.Gradients.For(w.Name("bias"), w["bias"]).Data;
            var positions = s.OutH * s.OutW;
            for (var e = 0; e < g.Length; e++)
            {
                db[e / positions % (int)spec.OutChannels] += g[e];
            }
        }

        return [dx];
    }

    private readonly record struct Sizes2(int Batch, int H, int W, int OutH, int OutW);

    private Sizes2 Sizes(Tensor x)
    {
        var d = spec.Dimensions;
        var batch = x.Rank == d + 2 ? x.Dim(0) : 1;
        int h = d == 2 ? x.Dim(x.Rank - 2) : 1, width = x.Dim(x.Rank - 1);
        return new Sizes2(batch, h, width, (int)spec.OutputLength(0, h), (int)spec.OutputLength(1, width));
    }

    /// <summary>Every (input, output, weight) element triple that one multiply-add of the convolution joins.</summary>
    private void Walk(Sizes2 s, Action<int, int, int> step)
    {
        int sh = (int)spec.StrideH, sw = (int)spec.StrideW, ph = (int)spec.PaddingH, pw = (int)spec.PaddingW, dh = (int)spec.DilationH, dw = (int)spec.DilationW;
        var inChannels = (int)spec.InChannels;
        var outChannels = (int)spec.OutChannels;
        for (var b = 0; b < s.Batch; b++)
        {
            for (var c = 0; c < inChannels; c++)
            {
                var group = c / _cg;
                for (var i = 0; i < s.H; i++)
                {
                    for (var j = 0; j < s.W; j++)
                    {
                        var xi = (((((b * inChannels) + c) * s.H) + i) * s.W) + j;
                        for (var kh = 0; kh < _kh; kh++)
                        {
                            var h = (i * sh) - ph + (kh * dh);
                            for (var kw = 0; kw < _kw && h >= 0 && h < s.OutH; kw++)
                            {
                                var col = (j * sw) - pw + (kw * dw);
                                if (col < 0 || col >= s.OutW)
                                {
                                    continue;
                                }

                                for (var o = 0; o < _og; o++)
                                {
                                    var yi = (((((b * outChannels) + (group * _og) + o) * s.OutH) + h) * s.OutW) + col;
                                    step(xi, yi, (((((c * _og) + o) * _kh) + kh) * _kw) + kw);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
