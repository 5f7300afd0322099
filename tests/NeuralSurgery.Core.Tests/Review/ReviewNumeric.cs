using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Tests.Diff;
using NeuralSurgery.Tracing;
using Tensor = NeuralSurgery.Tests.Diff.NumericCheck.Tensor;

namespace NeuralSurgery.Tests.Review;

/// <summary>
/// A wider copy of <see cref="NumericCheck"/> for the review: more ops (GRU, multi-layer and bidirectional LSTM,
/// Conv1d, LayerNorm, BatchNorm1d, binary ops, reshape, slicing, reductions, softmax) and inputs, categorical
/// values and outputs matched through the schema's renames rather than by graph name.
/// </summary>
internal static class ReviewNumeric
{
    private static readonly Dictionary<string, long> Symbols = new() { ["B"] = 2, ["N"] = 3, ["M"] = 2, ["T"] = 3 };

    private static long Size(string d) => Symbols.TryGetValue(d, out var v) ? v : 2;

    public static Dictionary<string, Tensor> RandomWeights(ModelGraph graph, Random rng) =>
        graph.Parameters.ToDictionary(p => p.Name, p =>
        {
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var data = Enumerable.Range(0, (int)p.ElementCount).Select(_ => (rng.NextDouble() * 2) - 1).ToArray();
            if (p.Role == ParameterRole.RunningVar)
            {
                data = data.Select(v => Math.Abs(v) + 0.5).ToArray();
            }

            return new Tensor(shape, data);
        });

    /// <summary>max |F_old − F_new| over old schema outputs (matched by output feature name through renames).</summary>
    public static double MaxOutputDifference(ModelSide oldSide, ModelSide newSide, SurgeryPlan plan, int states = 10, int seed = 5)
    {
        var rng = new Random(seed);
        var oldWeights = RandomWeights(oldSide.Graph, rng);
        var newWeights = NumericCheck.Apply(plan, oldWeights, rng);
        var keys = new KeyTranslator(oldSide, newSide, PlanOptions.Default);
        double worst = 0;
        for (var s = 0; s < states; s++)
        {
            var oldInputs = new Dictionary<string, Tensor>();
            foreach (var input in oldSide.Graph.Inputs)
            {
                var shape = input.Shape.Evaluate(Size);
                var count = shape.Aggregate(1L, (a, b) => a * b);
                var vocab = input.Role == InputRole.Categorical ? oldSide.Map.Features.InputSlots(input.Name).Length : 0;
                oldInputs[input.Name] = new Tensor(shape, Enumerable.Range(0, (int)count).Select(_ => input.Role == InputRole.Categorical ? rng.Next(vocab) : (rng.NextDouble() * 2) - 1).ToArray());
            }

            var newInputs = new Dictionary<string, Tensor>();
            foreach (var input in newSide.Graph.Inputs)
            {
                var shape = input.Shape.Evaluate(Size);
                var data = new double[shape.Aggregate(1L, (a, b) => a * b)];
                var index = new long[shape.Length];
                var last = shape.Length - 1;
                (int Start, int Length) newSlots = input.Role == InputRole.State ? (0, 0) : newSide.Map.Features.InputSlots(input.Name);
                for (long e = 0; e < data.Length; e++)
                {
                    Unravel(e, shape, index);
                    data[e] = (rng.NextDouble() * 2) - 1;
                    if (input.Role == InputRole.Features)
                    {
                        var oldSlot = keys.TranslateSlot(newSlots.Start + (int)index[last]);
                        if (oldSlot < 0)
                        {
                            continue;
                        }

                        var oldInputName = oldSide.Map.Features.Slots[(int)oldSlot].Input;
                        var oldTensor = oldInputs[oldInputName];
                        var oldIndex = (long[])index.Clone();
                        oldIndex[last] = oldSlot - oldSide.Map.Features.InputSlots(oldInputName).Start;
                        data[e] = oldTensor.Data[Offset(oldTensor.Shape, oldIndex)];
                    }
                    else if (input.Role == InputRole.Categorical)
                    {
                        // The old input holding these values, then the new index of the old value.
                        var pairs = Enumerable.Range(newSlots.Start, newSlots.Length).Select(ns => (New: ns, Old: keys.TranslateSlot(ns))).Where(p => p.Old >= 0).ToList();
                        if (pairs.Count == 0)
                        {
                            data[e] = rng.Next(newSlots.Length);
                            continue;
                        }

                        var oldInputName = oldSide.Map.Features.Slots[(int)pairs[0].Old].Input;
                        var oldTensor = oldInputs[oldInputName];
                        var oldValue = (long)oldTensor.Data[Offset(oldTensor.Shape, index)];
                        var oldSlot = oldSide.Map.Features.InputSlots(oldInputName).Start + oldValue;
                        var match = pairs.Where(p => p.Old == oldSlot).Select(p => p.New).DefaultIfEmpty(-1).First();
                        if (match < 0)
                        {
                            throw new InvalidOperationException($"old value {oldSide.Map.Features.Slots[(int)oldSlot]} has no new counterpart; the review check needs every old value kept");
                        }

                        data[e] = match - newSlots.Start;
                    }
                    else if (oldInputs.TryGetValue(input.Name, out var oldState) && oldState.Shape.Length == shape.Length && index.Select((i, a) => i < oldState.Shape[a]).All(x => x))
                    {
                        data[e] = oldState.Data[Offset(oldState.Shape, index)];
                    }
                }

                newInputs[input.Name] = new Tensor(shape, data);
            }

            var oldOut = Forward(oldSide.Graph, oldWeights, oldInputs);
            var newOut = Forward(newSide.Graph, newWeights, newInputs);
            foreach (var output in oldSide.Graph.Outputs.Where(o => o.SchemaOutput is not null))
            {
                var oldNames = SlotNames(oldSide, output.SchemaOutput!);
                var newOutputName = NewName(newSide, output.SchemaOutput!, null);
                var newOutput = newSide.Graph.Outputs.Single(o => o.SchemaOutput == newOutputName);
                var newNames = SlotNames(newSide, newOutputName).Select(n => OldSlotName(newSide, newOutputName, n)).ToList();
                var a = oldOut[output.Value];
                var b = newOut[newOutput.Value];
                var rows = a.Count / a.Shape[^1];
                for (var r = 0; r < rows; r++)
                {
                    for (var j = 0; j < oldNames.Count; j++)
                    {
                        var k = newNames.IndexOf(oldNames[j]);
                        if (k >= 0)
                        {
                            worst = Math.Max(worst, Math.Abs(a.Data[(r * oldNames.Count) + j] - b.Data[(r * newNames.Count) + k]));
                        }
                    }
                }
            }
        }

        return worst;
    }

    private static List<string> SlotNames(ModelSide side, string output) =>
        side.Schema!.FindOutput(output)!.Features.SelectMany(f => Enumerable.Range(0, f.Width).Select(k => f.Name + "/" + k)).ToList();

    // new output name for an old one (renames are old: new)
    private static string NewName(ModelSide newSide, string oldName, string? scope)
    {
        foreach (var r in newSide.Schema!.Renames)
        {
            var from = r.From.Contains('.') ? r.From.Split('.') : [scope ?? string.Empty, r.From];
            if (from[1] == oldName && (scope is null ? !r.From.Contains('.') : true))
            {
                return r.To.Contains('.') ? r.To.Split('.')[1] : r.To;
            }
        }

        return oldName;
    }

    private static string OldSlotName(ModelSide newSide, string output, string slotName)
    {
        var parts = slotName.Split('/');
        foreach (var r in newSide.Schema!.Renames)
        {
            var to = r.To.Contains('.') ? r.To.Split('.') : [output, r.To];
            if (to[0] == output && to[1] == parts[0])
            {
                return (r.From.Contains('.') ? r.From.Split('.')[1] : r.From) + "/" + parts[1];
            }
        }

        return slotName;
    }

    public static Dictionary<ValueRef, Tensor> Forward(ModelGraph graph, Dictionary<string, Tensor> w, Dictionary<string, Tensor> inputs)
    {
        var values = new Dictionary<ValueRef, Tensor>();
        foreach (var input in graph.Inputs)
        {
            values[new ValueRef(input.Name)] = inputs[input.Name];
        }

        foreach (var node in graph.Nodes)
        {
            var x = node.Operands.Select(o => values[o]).ToList();
            var outShape = node.OutputShapes[0].Evaluate(Size);
            Tensor[] outputs = node.Op switch
            {
                CallOp call => CallModule(graph.FindModule(call.Module)!, w, x),
                ActivationOp a => [Map(x[0], a.Activation switch
                {
                    ActivationKind.Relu => v => Math.Max(0, v),
                    ActivationKind.Tanh => Math.Tanh,
                    ActivationKind.Sigmoid => Sigmoid,
                    ActivationKind.Identity => v => v,
                    _ => throw new NotSupportedException(a.Activation.ToString()),
                })],
                DropoutOp => [x[0]],
                SoftmaxOp sm => [Softmax(x[0], sm.Axis, sm.Log)],
                BinaryOp b => [Binary(x[0], x[1], outShape, b.Operation)],
                ConcatOp c => [Concat(x, c.Axis)],
                StackOp st => [Concat(x.Select(t => new Tensor(Insert(t.Shape, st.Axis, 1), t.Data)).ToList(), st.Axis)],
                ReduceOp r => [Reduce(x[0], r.Axis, r.Reduction, r.KeepDim)],
                ReshapeOp or FlattenOp or UnsqueezeOp or SqueezeOp => [new Tensor(outShape, x[0].Data)],
                NarrowOp n => [Select(x[0], n.Axis, n.Start, outShape[n.Axis], 1)],
                SliceOp s => [Select(x[0], s.Axis, s.Start, ShapeInference.SliceLength(s), s.Step)],
                TransposeOp t => [Transpose(x[0], t.Axis0, t.Axis1)],
                _ => throw new NotSupportedException(node.Op.Kind),
            };
            for (var i = 0; i < outputs.Length; i++)
            {
                values[new ValueRef(node.Id, i)] = outputs[i];
            }
        }

        return values;
    }

    private static long[] Insert(long[] shape, int axis, long d) => shape.Take(axis).Concat([d]).Concat(shape.Skip(axis)).ToArray();

    private static Tensor[] CallModule(GraphModule m, Dictionary<string, Tensor> w, List<Tensor> x)
    {
        Tensor P(string local) => w[m.Path + "." + local];
        switch (m.Spec)
        {
            case LinearSpec l:
                return [Affine(x[0], P("weight").Data, l.Bias ? P("bias").Data : null, l.InFeatures, l.OutFeatures)];

            case EmbeddingSpec e:
            {
                var wt = P("weight").Data;
                var y = x[0].Data.SelectMany(v => Enumerable.Range(0, (int)e.EmbeddingDim).Select(d => wt[((long)v * e.EmbeddingDim) + d])).ToArray();
                return [new Tensor(x[0].Shape.Concat([e.EmbeddingDim]).ToArray(), y)];
            }

            case Conv1dSpec c:
                return [Conv1d(x[0], c, P("weight").Data, c.Bias ? P("bias").Data : null)];

            case LayerNormSpec n:
            {
                var block = n.NormalizedShape.Aggregate(1L, (a, b) => a * b);
                var y = new double[x[0].Count];
                for (long r = 0; r < x[0].Count / block; r++)
                {
                    var seg = x[0].Data.Skip((int)(r * block)).Take((int)block).ToArray();
                    var mean = seg.Average();
                    var variance = seg.Select(v => (v - mean) * (v - mean)).Average();
                    for (long q = 0; q < block; q++)
                    {
                        var v = (seg[q] - mean) / Math.Sqrt(variance + n.Eps);
                        if (n.ElementwiseAffine)
                        {
                            v = (v * P("weight").Data[q]) + (n.Bias ? P("bias").Data[q] : 0);
                        }

                        y[(r * block) + q] = v;
                    }
                }

                return [new Tensor(x[0].Shape, y)];
            }

            case BatchNorm1dSpec bn:
            {
                var shape = x[0].Shape;
                var channels = shape[1];
                var inner = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
                var y = new double[x[0].Count];
                for (long e = 0; e < y.Length; e++)
                {
                    var ch = (e / inner) % channels;
                    var v = x[0].Data[e];
                    if (bn.TrackRunningStats)
                    {
                        v = (v - P("running_mean").Data[ch]) / Math.Sqrt(P("running_var").Data[ch] + bn.Eps);
                    }

                    if (bn.Affine)
                    {
                        v = (v * P("weight").Data[ch]) + P("bias").Data[ch];
                    }

                    y[e] = v;
                }

                return [new Tensor(shape, y)];
            }

            case RecurrentSpec r:
                return Recurrent(m, r, w, x);

            default:
                throw new NotSupportedException(m.Spec.Kind);
        }
    }

    private static Tensor Affine(Tensor x, double[] wt, double[]? b, long inF, long outF)
    {
        var rows = x.Count / inF;
        var y = new double[rows * outF];
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < outF; o++)
            {
                var acc = b?[o] ?? 0;
                for (var i = 0; i < inF; i++)
                {
                    acc += x.Data[(r * inF) + i] * wt[(o * inF) + i];
                }

                y[(r * outF) + o] = acc;
            }
        }

        return new Tensor(x.Shape.Take(x.Shape.Length - 1).Concat([outF]).ToArray(), y);
    }

    private static Tensor Conv1d(Tensor input, Conv1dSpec c, double[] wt, double[]? bias)
    {
        var unbatched = input.Shape.Length == 2;
        long batch = unbatched ? 1 : input.Shape[0], ch = c.InChannels, len = input.Shape[^1];
        var outLen = ((len + (2 * c.Padding) - (c.Dilation * (c.KernelSize - 1)) - 1) / c.Stride) + 1;
        long cg = c.InChannels / c.Groups, og = c.OutChannels / c.Groups;
        var y = new double[batch * c.OutChannels * outLen];
        for (long b = 0; b < batch; b++)
        {
            for (long o = 0; o < c.OutChannels; o++)
            {
                var g = o / og;
                for (long t = 0; t < outLen; t++)
                {
                    var acc = bias?[o] ?? 0;
                    for (long ci = 0; ci < cg; ci++)
                    {
                        for (long k = 0; k < c.KernelSize; k++)
                        {
                            var pos = (t * c.Stride) + (k * c.Dilation) - c.Padding;
                            if (pos >= 0 && pos < len)
                            {
                                acc += wt[(((o * cg) + ci) * c.KernelSize) + k] * input.Data[(((b * ch) + (g * cg) + ci) * len) + pos];
                            }
                        }
                    }

                    y[(((b * c.OutChannels) + o) * outLen) + t] = acc;
                }
            }
        }

        return new Tensor(unbatched ? [c.OutChannels, outLen] : [batch, c.OutChannels, outLen], y);
    }

    private static Tensor[] Recurrent(GraphModule m, RecurrentSpec r, Dictionary<string, Tensor> w, List<Tensor> operands)
    {
        var x = operands[0];
        var unbatched = x.Shape.Length == 2;
        if (unbatched)
        {
            x = new Tensor([x.Shape[0], 1, x.Shape[1]], x.Data);
        }
        else if (r.BatchFirst)
        {
            x = Transpose(x, 0, 1);
        }

        long steps = x.Shape[0], batch = x.Shape[1], hidden = r.HiddenSize;
        var layersDirs = r.NumLayers * r.Directions;
        var h0 = operands.Count > 1 ? operands[1].Data : new double[layersDirs * batch * hidden];
        var c0 = operands.Count > 2 ? operands[2].Data : new double[layersDirs * batch * hidden];
        var hn = new double[layersDirs * batch * hidden];
        var cn = new double[layersDirs * batch * hidden];
        var lstm = r.Cell == RecurrentKind.Lstm;
        var layerInput = x;
        for (var layer = 0; layer < r.NumLayers; layer++)
        {
            var input = layerInput.Shape[2];
            var output = new double[steps * batch * hidden * r.Directions];
            for (var d = 0; d < r.Directions; d++)
            {
                var suffix = "_l" + layer + (d == 1 ? "_reverse" : string.Empty);
                var wih = w[m.Path + ".weight_ih" + suffix].Data;
                var whh = w[m.Path + ".weight_hh" + suffix].Data;
                var bih = r.Bias ? w[m.Path + ".bias_ih" + suffix].Data : new double[r.Gates * hidden];
                var bhh = r.Bias ? w[m.Path + ".bias_hh" + suffix].Data : new double[r.Gates * hidden];
                var row0 = (layer * r.Directions) + d;
                for (long b = 0; b < batch; b++)
                {
                    var h = Enumerable.Range(0, (int)hidden).Select(j => h0[(((row0 * batch) + b) * hidden) + j]).ToArray();
                    var c = Enumerable.Range(0, (int)hidden).Select(j => c0[(((row0 * batch) + b) * hidden) + j]).ToArray();
                    for (long i = 0; i < steps; i++)
                    {
                        var t = d == 1 ? steps - 1 - i : i;
                        var gi = new double[r.Gates * hidden];
                        var gh = new double[r.Gates * hidden];
                        for (long row = 0; row < r.Gates * hidden; row++)
                        {
                            var ai = bih[row];
                            for (long k = 0; k < input; k++)
                            {
                                ai += wih[(row * input) + k] * layerInput.Data[(((t * batch) + b) * input) + k];
                            }

                            var ah = bhh[row];
                            for (long j = 0; j < hidden; j++)
                            {
                                ah += whh[(row * hidden) + j] * h[j];
                            }

                            gi[row] = ai;
                            gh[row] = ah;
                        }

                        var next = new double[hidden];
                        for (long j = 0; j < hidden; j++)
                        {
                            if (lstm)
                            {
                                var ig = Sigmoid(gi[j] + gh[j]);
                                var fg = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                                var gg = Math.Tanh(gi[(2 * hidden) + j] + gh[(2 * hidden) + j]);
                                var og = Sigmoid(gi[(3 * hidden) + j] + gh[(3 * hidden) + j]);
                                c[j] = (fg * c[j]) + (ig * gg);
                                next[j] = og * Math.Tanh(c[j]);
                            }
                            else
                            {
                                var rg = Sigmoid(gi[j] + gh[j]);
                                var zg = Sigmoid(gi[hidden + j] + gh[hidden + j]);
                                var ng = Math.Tanh(gi[(2 * hidden) + j] + (rg * gh[(2 * hidden) + j]));
                                next[j] = ((1 - zg) * ng) + (zg * h[j]);
                            }
                        }

                        h = next;
                        for (long j = 0; j < hidden; j++)
                        {
                            output[(((t * batch) + b) * hidden * r.Directions) + (d * hidden) + j] = h[j];
                        }
                    }

                    for (long j = 0; j < hidden; j++)
                    {
                        hn[(((row0 * batch) + b) * hidden) + j] = h[j];
                        cn[(((row0 * batch) + b) * hidden) + j] = c[j];
                    }
                }
            }

            layerInput = new Tensor([steps, batch, hidden * r.Directions], output);
        }

        var outT = layerInput;
        if (unbatched)
        {
            outT = new Tensor([steps, hidden * r.Directions], outT.Data);
        }
        else if (r.BatchFirst)
        {
            outT = Transpose(outT, 0, 1);
        }

        long[] stateShape = unbatched ? [layersDirs, hidden] : [layersDirs, batch, hidden];
        var result = new List<Tensor> { outT, new(stateShape, hn) };
        if (lstm)
        {
            result.Add(new Tensor(stateShape, cn));
        }

        return result.ToArray();
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static Tensor Map(Tensor x, Func<double, double> f) => new(x.Shape, x.Data.Select(f).ToArray());

    private static Tensor Softmax(Tensor x, int axis, bool log)
    {
        var y = new double[x.Count];
        var (outer, n, inner) = Split(x.Shape, axis);
        for (long o = 0; o < outer; o++)
        {
            for (long i = 0; i < inner; i++)
            {
                var idx = Enumerable.Range(0, (int)n).Select(k => (((o * n) + k) * inner) + i).ToArray();
                var max = idx.Max(j => x.Data[j]);
                var sum = idx.Sum(j => Math.Exp(x.Data[j] - max));
                foreach (var j in idx)
                {
                    y[j] = log ? x.Data[j] - max - Math.Log(sum) : Math.Exp(x.Data[j] - max) / sum;
                }
            }
        }

        return new Tensor(x.Shape, y);
    }

    private static (long Outer, long N, long Inner) Split(long[] shape, int axis) =>
        (shape.Take(axis).Aggregate(1L, (a, b) => a * b), shape[axis], shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b));

    private static Tensor Binary(Tensor a, Tensor b, long[] shape, BinaryKind kind)
    {
        var y = new double[shape.Aggregate(1L, (p, q) => p * q)];
        var index = new long[shape.Length];
        for (long e = 0; e < y.Length; e++)
        {
            Unravel(e, shape, index);
            double At(Tensor t)
            {
                var off = shape.Length - t.Shape.Length;
                var ti = t.Shape.Select((d, k) => d == 1 ? 0 : index[k + off]).ToArray();
                return t.Data[Offset(t.Shape, ti)];
            }

            var u = At(a);
            var v = At(b);
            y[e] = kind switch
            {
                BinaryKind.Add => u + v,
                BinaryKind.Sub => u - v,
                BinaryKind.Div => u / v,
                _ => u * v,
            };
        }

        return new Tensor(shape, y);
    }

    private static Tensor Concat(List<Tensor> parts, int axis)
    {
        var outer = parts[0].Shape.Take(axis).Aggregate(1L, (a, b) => a * b);
        var shape = (long[])parts[0].Shape.Clone();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        var data = new List<double>();
        for (long o = 0; o < outer; o++)
        {
            foreach (var p in parts)
            {
                var block = p.Count / outer;
                data.AddRange(p.Data.Skip((int)(o * block)).Take((int)block));
            }
        }

        return new Tensor(shape, data.ToArray());
    }

    private static Tensor Reduce(Tensor x, int axis, ReduceKind kind, bool keepDim)
    {
        var (outer, n, inner) = Split(x.Shape, axis);
        var y = new double[outer * inner];
        for (long o = 0; o < outer; o++)
        {
            for (long i = 0; i < inner; i++)
            {
                var vals = Enumerable.Range(0, (int)n).Select(k => x.Data[(((o * n) + k) * inner) + i]).ToArray();
                y[(o * inner) + i] = kind switch
                {
                    ReduceKind.Max => vals.Max(),
                    ReduceKind.Mean => vals.Average(),
                    _ => vals.Sum(),
                };
            }
        }

        var shape = keepDim ? x.Shape.Select((d, a) => a == axis ? 1 : d).ToArray() : x.Shape.Where((_, a) => a != axis).ToArray();
        return new Tensor(shape, y);
    }

    private static Tensor Select(Tensor x, int axis, long start, long count, long step)
    {
        var shape = (long[])x.Shape.Clone();
        shape[axis] = count;
        var y = new double[shape.Aggregate(1L, (a, b) => a * b)];
        var index = new long[shape.Length];
        for (long e = 0; e < y.Length; e++)
        {
            Unravel(e, shape, index);
            var src = (long[])index.Clone();
            src[axis] = start + (index[axis] * step);
            y[e] = x.Data[Offset(x.Shape, src)];
        }

        return new Tensor(shape, y);
    }

    private static Tensor Transpose(Tensor x, int a0, int a1)
    {
        var shape = (long[])x.Shape.Clone();
        (shape[a0], shape[a1]) = (shape[a1], shape[a0]);
        var y = new double[x.Count];
        var index = new long[shape.Length];
        for (long e = 0; e < y.Length; e++)
        {
            Unravel(e, shape, index);
            var src = (long[])index.Clone();
            (src[a0], src[a1]) = (src[a1], src[a0]);
            y[e] = x.Data[Offset(x.Shape, src)];
        }

        return new Tensor(shape, y);
    }

    private static void Unravel(long offset, long[] shape, long[] index) => NumericCheck.Unravel(offset, shape, index);

    private static long Offset(long[] shape, long[] index) => NumericCheck.Offset(shape, index);
}
