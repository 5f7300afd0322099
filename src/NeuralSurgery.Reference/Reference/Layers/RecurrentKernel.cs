using System;
using System.Collections.Generic;
using System.Globalization;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference.Layers;

/// <summary>
/// torch.nn.LSTM and torch.nn.GRU: several layers, one or two directions, batch_first or time-major, unbatched
/// [T, in] input, optional initial states [L·D, B, H]. Gate row blocks in PyTorch's order (LSTM i, f, g, o;
/// GRU r, z, n) with GRU's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)). Input projections of all steps are
/// one matrix multiply; each step multiplies the [B, H] state by a transposed copy of W_hh. Backward is
/// backpropagation through time over the gates kept by the forward.
/// </summary>
internal sealed class RecurrentKernel(GraphNode node, string where, RecurrentSpec spec, ModuleWeights w) : NodeKernel(node, where)
{
    private readonly int _h = (int)spec.HiddenSize;
    private readonly int _g = spec.Gates;
    private readonly bool _lstm = spec.Cell == RecurrentKind.Lstm;

    private sealed class Direction
    {
        public required float[] Gates { get; init; }

        public required float[] HPrev { get; init; }

        public float[]? CPrev { get; init; }

        public float[]? C { get; init; }

        public float[]? Ghn { get; init; }
    }

    private sealed record Saved(int T, int Batch, List<float[]> LayerInputs, Direction[][] Directions);

    private string Suffix(int layer, int dir) => "_l" + layer.ToString(CultureInfo.InvariantCulture) + (dir == 1 ? "_reverse" : string.Empty);

    public override Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved)
    {
        var input = x[0];
        var unbatched = input.Rank == 2;
        int t, batch;
        float[] seq;
        if (unbatched)
        {
            (t, batch, seq) = (input.Dim(0), 1, input.Data);
        }
        else if (spec.BatchFirst)
        {
            (t, batch, seq) = (input.Dim(1), input.Dim(0), AxisOps.Transpose(input, 0, 1).Data);
        }
        else
        {
            (t, batch, seq) = (input.Dim(0), input.Dim(1), input.Data);
        }

        int dirs = spec.Directions, layers = spec.NumLayers, gh = _g * _h, rows = t * batch;
        var state = layers * dirs * batch * _h;
        var h0 = x.Length > 1 ? x[1].Data : new float[state];
        var c0 = _lstm && x.Length > 2 ? x[2].Data : new float[state];
        var hn = new float[state];
        var cn = new float[state];
        var inputs = new List<float[]>();
        var kept = new Direction[layers][];
        var layerIn = seq;
        var inSize = (int)spec.InputSize;
        for (var l = 0; l < layers; l++)
        {
            inputs.Add(layerIn);
            kept[l] = new Direction[dirs];
            var layerOut = new float[rows * dirs * _h];
            for (var d = 0; d < dirs; d++)
            {
                var sfx = Suffix(l, d);
                var wih = w["weight_ih" + sfx].Data;
                var whh = w["weight_hh" + sfx];
                var pre = new float[rows * gh];
                MatMul.Multiply(layerIn, wih, pre, rows, gh, inSize, transposeB: true);
                if (spec.Bias)
                {
                    RowOps.AddRows(pre, w["bias_ih" + sfx].Data);
                }

                var whhT = AxisOps.Transpose(whh, 0, 1).Data;
                var bhh = spec.Bias ? w["bias_hh" + sfx].Data : null;
                var dir = new Direction
                {
                    Gates = new float[rows * gh],
                    HPrev = new float[rows * _h],
                    CPrev = _lstm ? new float[rows * _h] : null,
                    C = _lstm ? new float[rows * _h] : null,
                    Ghn = _lstm ? null : new float[rows * _h],
                };
                kept[l][d] = dir;
                var idx = (l * dirs) + d;
                var h = h0.AsSpan(idx * batch * _h, batch * _h).ToArray();
                var c = c0.AsSpan(idx * batch * _h, batch * _h).ToArray();
                var ghs = new float[batch * gh];
                for (var s = 0; s < t; s++)
                {
                    var step = d == 0 ? s : t - 1 - s;
                    h.CopyTo(dir.HPrev, step * batch * _h);
                    MatMul.Multiply(h, whhT, ghs, batch, gh, _h);
                    if (bhh is not null)
                    {
                        RowOps.AddRows(ghs, bhh);
                    }

                    for (var b = 0; b < batch; b++)
                    {
                        var row = (step * batch) + b;
                        var p = pre.AsSpan(row * gh, gh);
                        var q = ghs.AsSpan(b * gh, gh);
                        var gt = dir.Gates.AsSpan(row * gh, gh);
                        var hb = h.AsSpan(b * _h, _h);
                        if (_lstm)
                        {
                            TensorPrimitives.Add(p, q, gt);
                            TensorPrimitives.Sigmoid(gt[..(2 * _h)], gt[..(2 * _h)]);
                            TensorPrimitives.Tanh(gt.Slice(2 * _h, _h), gt.Slice(2 * _h, _h));
                            TensorPrimitives.Sigmoid(gt.Slice(3 * _h, _h), gt.Slice(3 * _h, _h));
                            var cb = c.AsSpan(b * _h, _h);
                            cb.CopyTo(dir.CPrev.AsSpan(row * _h, _h));
                            TensorPrimitives.Multiply(gt.Slice(_h, _h), cb, cb);
                            TensorPrimitives.MultiplyAdd(gt[.._h], gt.Slice(2 * _h, _h), cb, cb);
                            cb.CopyTo(dir.C.AsSpan(row * _h, _h));
                            TensorPrimitives.Tanh(cb, hb);
                            TensorPrimitives.Multiply(hb, gt.Slice(3 * _h, _h), hb);
                        }
                        else
                        {
                            TensorPrimitives.Add(p[..(2 * _h)], q[..(2 * _h)], gt[..(2 * _h)]);
                            TensorPrimitives.Sigmoid(gt[..(2 * _h)], gt[..(2 * _h)]);
                            var hgn = q.Slice(2 * _h, _h);
                            hgn.CopyTo(dir.Ghn.AsSpan(row * _h, _h));
                            var n = gt.Slice(2 * _h, _h);
                            TensorPrimitives.MultiplyAdd(gt[.._h], hgn, p.Slice(2 * _h, _h), n);
                            TensorPrimitives.Tanh(n, n);

                            // h' = (1 − z)·n + z·h = n + z·(h − n).
                            TensorPrimitives.Subtract(hb, n, hb);
                            TensorPrimitives.Multiply(hb, gt.Slice(_h, _h), hb);
                            TensorPrimitives.Add(hb, n, hb);
                        }

                        hb.CopyTo(layerOut.AsSpan((row * dirs * _h) + (d * _h), _h));
                    }
                }

                h.CopyTo(hn, idx * batch * _h);
                c.CopyTo(cn, idx * batch * _h);
            }

            layerIn = layerOut;
            inSize = dirs * _h;
        }

        saved = new Saved(t, batch, inputs, kept);
        var outWidth = dirs * _h;
        Tensor output = unbatched
            ? new Tensor(layerIn, t, outWidth)
            : spec.BatchFirst
                ? AxisOps.Transpose(new Tensor(layerIn, t, batch, outWidth), 0, 1)
                : new Tensor(layerIn, t, batch, outWidth);
        int[] stateShape = unbatched ? [layers * dirs, _h] : [layers * dirs, batch, _h];
        return _lstm
            ? [output, new Tensor(hn, stateShape), new Tensor(cn, stateShape)]
            : [output, new Tensor(hn, stateShape)];
    }

    public override Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx)
    {
        var s = (Saved)saved!;
        int t = s.T, batch = s.Batch, dirs = spec.Directions, layers = spec.NumLayers, gh = _g * _h, rows = t * batch;
        var state = layers * dirs * batch * _h;
        float[] dY = dy[0] is null
            ? new float[rows * dirs * _h]
            : x[0].Rank == 3 && spec.BatchFirst ? AxisOps.Transpose(dy[0]!, 0, 1).Data : dy[0]!.Data;
        var dhn = dy[1]?.Data;
        var dcn = _lstm && dy.Length > 2 ? dy[2]?.Data : null;
        var dh0 = new float[state];
        var dc0 = new float[state];
        for (var l = layers - 1; l >= 0; l--)
        {
            var layerIn = s.LayerInputs[l];
            var inSize = l == 0 ? (int)spec.InputSize : dirs * _h;
            var dIn = new float[rows * inSize];
            for (var d = 0; d < dirs; d++)
            {
                var dir = s.Directions[l][d];
                var sfx = Suffix(l, d);
                var wih = w["weight_ih" + sfx];
                var whh = w["weight_hh" + sfx];
                var idx = (l * dirs) + d;
                var dh = dhn is null ? new float[batch * _h] : dhn.AsSpan(idx * batch * _h, batch * _h).ToArray();
                var dc = dcn is null ? new float[batch * _h] : dcn.AsSpan(idx * batch * _h, batch * _h).ToArray();
                var dPre = new float[rows * gh];
                var dGh = _lstm ? dPre : new float[rows * gh];
                var dhPrev = new float[batch * _h];
                var direct = new float[batch * _h];
                for (var si = t - 1; si >= 0; si--)
                {
                    var step = d == 0 ? si : t - 1 - si;
                    for (var b = 0; b < batch; b++)
                    {
                        var row = (step * batch) + b;
                        var dhb = dh.AsSpan(b * _h, _h);
                        var up = dY.AsSpan((row * dirs * _h) + (d * _h), _h);
                        TensorPrimitives.Add(dhb, up, dhb);
                        var gt = dir.Gates.AsSpan(row * gh, gh);
                        var dp = dPre.AsSpan(row * gh, gh);
                        if (_lstm)
                        {
                            var cv = dir.C.AsSpan(row * _h, _h);
                            var cp = dir.CPrev.AsSpan(row * _h, _h);
                            var dcb = dc.AsSpan(b * _h, _h);
                            for (var j = 0; j < _h; j++)
                            {
                                float i = gt[j], f = gt[_h + j], g = gt[(2 * _h) + j], o = gt[(3 * _h) + j];
                                var tc = MathF.Tanh(cv[j]);
                                var dcv = dcb[j] + (dhb[j] * o * (1 - (tc * tc)));
                                dp[j] = dcv * g * i * (1 - i);
                                dp[_h + j] = dcv * cp[j] * f * (1 - f);
                                dp[(2 * _h) + j] = dcv * i * (1 - (g * g));
                                dp[(3 * _h) + j] = dhb[j] * tc * o * (1 - o);
                                dcb[j] = dcv * f;
                            }
                        }
                        else
                        {
                            var hp = dir.HPrev.AsSpan(row * _h, _h);
                            var ghn = dir.Ghn.AsSpan(row * _h, _h);
                            var dq = dGh.AsSpan(row * gh, gh);
                            var db = direct.AsSpan(b * _h, _h);
                            for (var j = 0; j < _h; j++)
                            {
                                float r = gt[j], z = gt[_h + j], n = gt[(2 * _h) + j];
                                var dn = dhb[j] * (1 - z);
                                var dz = dhb[j] * (hp[j] - n);
                                db[j] = dhb[j] * z;
                                var dnp = dn * (1 - (n * n));
                                var drp = dnp * ghn[j] * r * (1 - r);
                                var dzp = dz * z * (1 - z);
                                dp[j] = drp;
                                dp[_h + j] = dzp;
                                dp[(2 * _h) + j] = dnp;
                                dq[j] = drp;
                                dq[_h + j] = dzp;
                                dq[(2 * _h) + j] = dnp * r;
                            }
                        }
                    }

                    MatMul.Multiply(dGh.AsSpan(step * batch * gh, batch * gh), whh.Data, dhPrev, batch, _h, gh);
                    if (_lstm)
                    {
                        dhPrev.CopyTo(dh, 0);
                    }
                    else
                    {
                        TensorPrimitives.Add(dhPrev, direct, dh);
                    }
                }

                dh.CopyTo(dh0, idx * batch * _h);
                dc.CopyTo(dc0, idx * batch * _h);
                var grads = ctx.Gradients!;
                MatMul.Multiply(dPre, layerIn, grads.For(w.Name("weight_ih" + sfx), wih).Data, gh, inSize, rows, transposeA: true, accumulate: true);
                MatMul.Multiply(dGh, dir.HPrev, grads.For(w.Name("weight_hh" + sfx), whh).Data, gh, _h, rows, transposeA: true, accumulate: true);
                if (spec.Bias)
                {
                    RowOps.SumRows(dPre, grads.For(w.Name("bias_ih" + sfx), w["bias_ih" + sfx]).Data);
                    RowOps.SumRows(dGh, grads.For(w.Name("bias_hh" + sfx), w["bias_hh" + sfx]).Data);
                }

                MatMul.Multiply(dPre, wih.Data, dIn, rows, inSize, gh, accumulate: true);
            }

            dY = dIn;
        }

        var input = x[0];
        Tensor dx = input.Rank == 2
            ? new Tensor(dY, input.ShapeArray())
            : spec.BatchFirst
                ? AxisOps.Transpose(new Tensor(dY, t, batch, (int)spec.InputSize), 0, 1)
                : new Tensor(dY, input.ShapeArray());
        var result = new Tensor?[x.Length];
        result[0] = dx;
        if (x.Length > 1)
        {
            result[1] = new Tensor(dh0, x[1].ShapeArray());
        }

        if (x.Length > 2)
        {
            result[2] = new Tensor(dc0, x[2].ShapeArray());
        }

        return result;
    }
}
