using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Diff;

/// <summary>
/// A small double-precision forward pass over the ops the differ tests use, and a plan applier: enough to check
/// paper 001 eq. 1 (old and new models agree on every state) for the init rules a plan states.
/// </summary>
internal static class NumericCheck
{
    internal sealed record Tensor(long[] Shape, double[] Data)
    {
        public long Count => Data.Length;
    }

    public static Dictionary<string, Tensor> RandomWeights(ModelGraph graph, Random rng) =>
        graph.Parameters.ToDictionary(p => p.Name, p =>
        {
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            return new Tensor(shape, Enumerable.Range(0, (int)p.ElementCount).Select(_ => (rng.NextDouble() * 2) - 1).ToArray());
        });

    /// <summary>Applies a plan the way the runtime will: copy mapped elements, initialise the rest by their rule.</summary>
    public static Dictionary<string, Tensor> Apply(SurgeryPlan plan, Dictionary<string, Tensor> source, Random rng)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in plan.Tensors)
        {
            var shape = t.Shape.ToArray();
            var data = new double[t.TotalElements];
            var index = new long[shape.Length];
            for (long e = 0; e < data.Length; e++)
            {
                Unravel(e, shape, index);
                var rule = t.RuleFor(index);
                if (rule is null)
                {
                    var src = source[t.Source!];
                    var srcIndex = index.Select((i, a) => t.Axes[a].SourceIndex(i)).ToArray();
                    data[e] = src.Data[Offset(src.Shape, srcIndex)];
                }
                else
                {
                    data[e] = rule.Kind switch
                    {
                        InitKind.Zeros => 0,
                        InitKind.Ones => 1,
                        InitKind.Constant => rule.Value,
                        InitKind.Uniform => ((rng.NextDouble() * 2) - 1) * rule.Value,
                        _ => rule.Value * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()),
                    };
                }
            }

            result[t.Name] = new Tensor(shape, data);
        }

        return result;
    }

    /// <summary>
    /// Largest |F_old − F_new| over the old model's schema outputs on random states: shared feature slots get the
    /// same values, new slots and new state units random values (eq. 1: new features are free).
    /// </summary>
    public static double MaxOutputDifference(ModelSide oldSide, ModelSide newSide, SurgeryPlan plan, int states, int seed)
    {
        var rng = new Random(seed);
        var oldWeights = RandomWeights(oldSide.Graph, rng);
        var newWeights = Apply(plan, oldWeights, rng);
        double worst = 0;
        var symbols = new Dictionary<string, long> { ["B"] = 2, ["N"] = 3, ["M"] = 2 };
        for (var s = 0; s < states; s++)
        {
            var oldInputs = new Dictionary<string, Tensor>();
            var newInputs = new Dictionary<string, Tensor>();
            foreach (var input in oldSide.Graph.Inputs)
            {
                var shape = input.Shape.Evaluate(d => symbols.TryGetValue(d, out var v) ? v : 2);
                var count = shape.Aggregate(1L, (a, b) => a * b);
                var vocab = input.Role == InputRole.Categorical ? oldSide.Map.Features.InputSlots(input.Name).Length : 0;
                oldInputs[input.Name] = new Tensor(shape, Enumerable.Range(0, (int)count).Select(_ => input.Role == InputRole.Categorical ? rng.Next(vocab) : (rng.NextDouble() * 2) - 1).ToArray());
            }

            foreach (var input in newSide.Graph.Inputs)
            {
                var shape = input.Shape.Evaluate(d => symbols.TryGetValue(d, out var v) ? v : 2);
                var data = new double[shape.Aggregate(1L, (a, b) => a * b)];
                var old = oldSide.Graph.FindInput(input.Name);
                var index = new long[shape.Length];
                for (long e = 0; e < data.Length; e++)
                {
                    Unravel(e, shape, index);
                    data[e] = (rng.NextDouble() * 2) - 1;
                    if (old is null)
                    {
                        continue;
                    }

                    var oldTensor = oldInputs[input.Name];
                    var last = shape.Length - 1;
                    var oldIndex = (long[])index.Clone();
                    if (input.Role == InputRole.Features)
                    {
                        var slot = newSide.Map.Features.InputSlots(input.Name).Start + index[last];
                        var oldSlot = OldSlot(oldSide, newSide, (int)slot);
                        if (oldSlot < 0)
                        {
                            continue;
                        }

                        oldIndex[last] = oldSlot - oldSide.Map.Features.InputSlots(input.Name).Start;
                    }
                    else if (input.Role == InputRole.State && index[last] >= oldTensor.Shape[last])
                    {
                        continue;
                    }

                    var value = oldTensor.Data[Offset(oldTensor.Shape, oldIndex)];
                    if (input.Role == InputRole.Categorical)
                    {
                        // The same categorical value by name, at its index in the new vocabulary.
                        var name = oldSide.Map.Features.Slots[oldSide.Map.Features.InputSlots(input.Name).Start + (int)value].Feature;
                        value = newSide.Map.Features.FeatureSlots(input.Name, name)!.Value.Start - newSide.Map.Features.InputSlots(input.Name).Start;
                    }

                    data[e] = value;
                }

                newInputs[input.Name] = new Tensor(shape, data);
            }

            var oldOut = Forward(oldSide.Graph, oldWeights, oldInputs);
            var newOut = Forward(newSide.Graph, newWeights, newInputs);
            foreach (var output in oldSide.Graph.Outputs.Where(o => o.SchemaOutput is not null))
            {
                var a = oldOut[output.Value];
                var b = newOut[newSide.Graph.Outputs.Single(o => o.Name == output.Name).Value];
                var oldNames = oldSide.Schema!.FindOutput(output.SchemaOutput!)!.Features.Select(f => f.Name).ToList();
                var newNames = newSide.Schema!.FindOutput(output.SchemaOutput!)!.Features.Select(f => f.Name).ToList();
                var rows = a.Count / a.Shape[a.Shape.Length - 1];
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

    // Which old slot a new slot's value comes from, through the schema's renames.
    private static long OldSlot(ModelSide oldSide, ModelSide newSide, int slot) =>
        new KeyTranslator(oldSide, newSide, PlanOptions.Default).TranslateSlot(slot);

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
            var outputs = node.Op switch
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
                ConcatOp c => [Concat(x, c.Axis)],
                UnsqueezeOp u => [new Tensor(x[0].Shape.Take(u.Axis).Concat([1L]).Concat(x[0].Shape.Skip(u.Axis)).ToArray(), x[0].Data)],
                SqueezeOp s => [new Tensor(x[0].Shape.Where((_, i) => i != s.Axis).ToArray(), x[0].Data)],
                ReduceOp r when r.Reduction == ReduceKind.Max && !r.KeepDim => [MaxOver(x[0], r.Axis)],
                _ => throw new NotSupportedException(node.Op.Kind),
            };
            for (var i = 0; i < outputs.Length; i++)
            {
                values[new ValueRef(node.Id, i)] = outputs[i];
            }
        }

        return values;
    }

    private static Tensor[] CallModule(GraphModule m, Dictionary<string, Tensor> w, List<Tensor> x)
    {
        Tensor P(string local) => w[m.Path + "." + local];
        switch (m.Spec)
        {
            case LinearSpec l:
            {
                var rows = x[0].Count / l.InFeatures;
                var y = new double[rows * l.OutFeatures];
                var wt = P("weight").Data;
                var b = l.Bias ? P("bias").Data : null;
                for (var r = 0; r < rows; r++)
                {
                    for (var o = 0; o < l.OutFeatures; o++)
                    {
                        var acc = b?[o] ?? 0;
                        for (var i = 0; i < l.InFeatures; i++)
                        {
                            acc += x[0].Data[(r * l.InFeatures) + i] * wt[(o * l.InFeatures) + i];
                        }

                        y[(r * l.OutFeatures) + o] = acc;
                    }
                }

                return [new Tensor(x[0].Shape.Take(x[0].Shape.Length - 1).Concat([l.OutFeatures]).ToArray(), y)];
            }

            case EmbeddingSpec e:
            {
                var wt = P("weight").Data;
                var y = x[0].Data.SelectMany(v => Enumerable.Range(0, (int)e.EmbeddingDim).Select(d => wt[((long)v * e.EmbeddingDim) + d])).ToArray();
                return [new Tensor(x[0].Shape.Concat([e.EmbeddingDim]).ToArray(), y)];
            }

            case RecurrentSpec r when r.Cell == RecurrentKind.Lstm && r.NumLayers == 1 && !r.Bidirectional && !r.BatchFirst:
            {
                long steps = x[0].Shape[0], batch = x[0].Shape[1], hidden = r.HiddenSize, input = r.InputSize;
                double[] wih = P("weight_ih_l0").Data, whh = P("weight_hh_l0").Data, bih = P("bias_ih_l0").Data, bhh = P("bias_hh_l0").Data;
                var h = x.Count > 1 ? (double[])x[1].Data.Clone() : new double[batch * hidden];
                var c = x.Count > 2 ? (double[])x[2].Data.Clone() : new double[batch * hidden];
                var output = new double[steps * batch * hidden];
                for (long t = 0; t < steps; t++)
                {
                    for (long b = 0; b < batch; b++)
                    {
                        var gates = new double[4 * hidden];
                        for (long row = 0; row < 4 * hidden; row++)
                        {
                            var acc = bih[row] + bhh[row];
                            for (long i = 0; i < input; i++)
                            {
                                acc += wih[(row * input) + i] * x[0].Data[(((t * batch) + b) * input) + i];
                            }

                            for (long j = 0; j < hidden; j++)
                            {
                                acc += whh[(row * hidden) + j] * h[(b * hidden) + j];
                            }

                            gates[row] = acc;
                        }

                        for (long j = 0; j < hidden; j++)
                        {
                            var ig = Sigmoid(gates[j]);
                            var fg = Sigmoid(gates[hidden + j]);
                            var gg = Math.Tanh(gates[(2 * hidden) + j]);
                            var og = Sigmoid(gates[(3 * hidden) + j]);
                            c[(b * hidden) + j] = (fg * c[(b * hidden) + j]) + (ig * gg);
                            h[(b * hidden) + j] = og * Math.Tanh(c[(b * hidden) + j]);
                            output[(((t * batch) + b) * hidden) + j] = h[(b * hidden) + j];
                        }
                    }
                }

                var state = new long[] { 1, batch, hidden };
                return [new Tensor([steps, batch, hidden], output), new Tensor(state, h), new Tensor(state, c)];
            }

            default:
                throw new NotSupportedException(m.Spec.Kind);
        }
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static Tensor Map(Tensor x, Func<double, double> f) => new(x.Shape, x.Data.Select(f).ToArray());

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

    private static Tensor MaxOver(Tensor x, int axis)
    {
        var outer = x.Shape.Take(axis).Aggregate(1L, (a, b) => a * b);
        var inner = x.Shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        var n = x.Shape[axis];
        var y = new double[outer * inner];
        for (long o = 0; o < outer; o++)
        {
            for (long i = 0; i < inner; i++)
            {
                var m = double.NegativeInfinity;
                for (long k = 0; k < n; k++)
                {
                    m = Math.Max(m, x.Data[(((o * n) + k) * inner) + i]);
                }

                y[(o * inner) + i] = m;
            }
        }

        return new Tensor(x.Shape.Where((_, a) => a != axis).ToArray(), y);
    }

    private static void Unravel(long offset, long[] shape, long[] index)
    {
        for (var a = shape.Length - 1; a >= 0; a--)
        {
            index[a] = offset % shape[a];
            offset /= shape[a];
        }
    }

    private static long Offset(long[] shape, long[] index)
    {
        long offset = 0;
        for (var a = 0; a < shape.Length; a++)
        {
            offset = (offset * shape[a]) + index[a];
        }

        return offset;
    }
}
