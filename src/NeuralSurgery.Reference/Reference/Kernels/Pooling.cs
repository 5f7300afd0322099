using System;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference.Kernels;

/// <summary>
/// The windows of one pooled axis: output <c>o</c> reads the in-bounds input positions <c>First[o] + j·Step</c> for
/// <c>j &lt; Count[o]</c>; <c>Padded[o]</c> counts the taps inside the zero-padded axis (avg pooling's divisor share).
/// </summary>
internal sealed class PoolAxis
{
    private PoolAxis(int length, int outLength, int step)
    {
        Length = length;
        OutLength = outLength;
        Step = step;
        First = new int[outLength];
        Count = new int[outLength];
        Padded = new int[outLength];
    }

    public int Length { get; }

    public int OutLength { get; }

    public int Step { get; }

    public int[] First { get; }

    public int[] Count { get; }

    public int[] Padded { get; }

    /// <summary>The axis of a 1-D pooling's missing height: one position, read by one output.</summary>
    public static PoolAxis Unit { get; } = Adaptive(1, 1);

    /// <summary>
    /// Sliding windows (kernel, stride, padding, dilation). A tap counts towards the divisor when it lies in
    /// [−p, L + p): PyTorch's count_include_pad divisor (hend − hstart with hend = min(hstart + k, L + p)) for
    /// dilation 1, the same rule per tap otherwise.
    /// </summary>
    public static PoolAxis Sliding(int length, int outLength, long kernel, long stride, long padding, long dilation)
    {
        var axis = new PoolAxis(length, outLength, (int)dilation);
        for (var o = 0; o < outLength; o++)
        {
            var window = new Window((o * stride) - padding, kernel, dilation);
            if (Windows.Clip(window, 0, length) is { } taps)
            {
                axis.First[o] = (int)(window.Start + (taps.First * dilation));
                axis.Count[o] = (int)(taps.Last - taps.First + 1);
            }

            axis.Padded[o] = Windows.Clip(window, -padding, length + padding) is { } padded ? (int)(padded.Last - padded.First + 1) : 0;
        }

        return axis;
    }

    /// <summary>Adaptive windows [⌊oL/O⌋, ⌈(o+1)L/O⌉), always inside the input.</summary>
    public static PoolAxis Adaptive(int length, int outputs)
    {
        var axis = new PoolAxis(length, outputs, 1);
        for (var o = 0; o < outputs; o++)
        {
            var window = Windows.Adaptive(length, outputs, o);
            axis.First[o] = (int)window.Start;
            axis.Count[o] = (int)window.Count;
            axis.Padded[o] = (int)window.Count;
        }

        return axis;
    }
}

/// <summary>
/// Max and average pooling over the last two axes of the (outer, H, W) view of a row-major tensor (1-D pooling has
/// <see cref="PoolAxis.Unit"/> as H). Windows never leave their plane (channel).
/// </summary>
internal static class Pooling
{
    /// <summary>
    /// Max over each window, scanning rows then columns; a value replaces the maximum when greater or NaN, so ties
    /// keep the first maximum and NaN propagates (PyTorch's CPU max_pool and adaptive_max_pool). Padding never
    /// wins (it is −∞). <paramref name="argmax"/> holds the winner's offset in its plane, −1 for an empty window.
    /// </summary>
    public static Tensor Max(Tensor x, PoolAxis h, PoolAxis w, int[] outShape, out int[] argmax)
    {
        var y = Tensor.Zeros(outShape);
        var plane = h.Length * w.Length;
        var outPlane = h.OutLength * w.OutLength;
        var planes = x.Length / plane;
        argmax = new int[y.Length];
        for (var n = 0; n < planes; n++)
        {
            var src = x.Data.AsSpan(n * plane, plane);
            var dst = y.Data.AsSpan(n * outPlane, outPlane);
            var arg = argmax.AsSpan(n * outPlane, outPlane);
            for (var oh = 0; oh < h.OutLength; oh++)
            {
                for (var ow = 0; ow < w.OutLength; ow++)
                {
                    var max = float.NegativeInfinity;
                    var index = h.Count[oh] > 0 && w.Count[ow] > 0 ? (h.First[oh] * w.Length) + w.First[ow] : -1;
                    for (var i = 0; i < h.Count[oh]; i++)
                    {
                        var row = src.Slice((h.First[oh] + (i * h.Step)) * w.Length, w.Length);
                        for (var j = 0; j < w.Count[ow]; j++)
                        {
                            var col = w.First[ow] + (j * w.Step);
                            var v = row[col];
                            if (v > max || float.IsNaN(v))
                            {
                                max = v;
                                index = ((h.First[oh] + (i * h.Step)) * w.Length) + col;
                            }
                        }
                    }

                    dst[(oh * w.OutLength) + ow] = max;
                    arg[(oh * w.OutLength) + ow] = index;
                }
            }
        }

        return y;
    }

    /// <summary>The backward of <see cref="Max"/>: each output's gradient goes to its winner (accumulating over windows).</summary>
    public static Tensor MaxGrad(Tensor grad, int[] inputShape, PoolAxis h, PoolAxis w, int[] argmax)
    {
        var dx = Tensor.Zeros(inputShape);
        var plane = h.Length * w.Length;
        var outPlane = h.OutLength * w.OutLength;
        for (var i = 0; i < grad.Length; i++)
        {
            if (argmax[i] >= 0)
            {
                dx.Data[(i / outPlane * plane) + argmax[i]] += grad.Data[i];
            }
        }

        return dx;
    }

    /// <summary>
    /// Mean over each window's in-bounds positions divided by the product of <see cref="PoolAxis.Padded"/> when
    /// <paramref name="countPadding"/> (padded zeros count, PyTorch's default), else by the in-bounds count.
    /// </summary>
    public static Tensor Avg(Tensor x, PoolAxis h, PoolAxis w, int[] outShape, bool countPadding)
    {
        var y = Tensor.Zeros(outShape);
        var plane = h.Length * w.Length;
        var outPlane = h.OutLength * w.OutLength;
        var planes = x.Length / plane;
        for (var n = 0; n < planes; n++)
        {
            var src = x.Data.AsSpan(n * plane, plane);
            var dst = y.Data.AsSpan(n * outPlane, outPlane);
            for (var oh = 0; oh < h.OutLength; oh++)
            {
                for (var ow = 0; ow < w.OutLength; ow++)
                {
                    var divisor = Divisor(h, w, oh, ow, countPadding);
                    if (divisor == 0)
                    {
                        continue;
                    }

                    float sum = 0;
                    for (var i = 0; i < h.Count[oh]; i++)
                    {
                        var row = src.Slice((h.First[oh] + (i * h.Step)) * w.Length, w.Length);
                        if (w.Step == 1)
                        {
                            sum += TensorPrimitives.Sum(row.Slice(w.First[ow], w.Count[ow]));
                        }
                        else
                        {
                            for (var j = 0; j < w.Count[ow]; j++)
                            {
                                sum += row[w.First[ow] + (j * w.Step)];
                            }
                        }
                    }

                    dst[(oh * w.OutLength) + ow] = sum / divisor;
                }
            }
        }

        return y;
    }

    /// <summary>The backward of <see cref="Avg"/>: each in-bounds position of a window gets the output's gradient / divisor.</summary>
    public static Tensor AvgGrad(Tensor grad, int[] inputShape, PoolAxis h, PoolAxis w, bool countPadding)
    {
        var dx = Tensor.Zeros(inputShape);
        var plane = h.Length * w.Length;
        var outPlane = h.OutLength * w.OutLength;
        var planes = grad.Length / outPlane;
        for (var n = 0; n < planes; n++)
        {
            var g = grad.Data.AsSpan(n * outPlane, outPlane);
            var dst = dx.Data.AsSpan(n * plane, plane);
            for (var oh = 0; oh < h.OutLength; oh++)
            {
                for (var ow = 0; ow < w.OutLength; ow++)
                {
                    var divisor = Divisor(h, w, oh, ow, countPadding);
                    if (divisor == 0)
                    {
                        continue;
                    }

                    var share = g[(oh * w.OutLength) + ow] / divisor;
                    for (var i = 0; i < h.Count[oh]; i++)
                    {
                        var row = dst.Slice((h.First[oh] + (i * h.Step)) * w.Length, w.Length);
                        if (w.Step == 1)
                        {
                            var span = row.Slice(w.First[ow], w.Count[ow]);
                            TensorPrimitives.Add(span, share, span);
                        }
                        else
                        {
                            for (var j = 0; j < w.Count[ow]; j++)
                            {
                                row[w.First[ow] + (j * w.Step)] += share;
                            }
                        }
                    }
                }
            }
        }

        return dx;
    }

    private static int Divisor(PoolAxis h, PoolAxis w, int oh, int ow, bool countPadding) =>
        countPadding ? h.Padded[oh] * w.Padded[ow] : h.Count[oh] * w.Count[ow];
}
