using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Tests.Reference;

/// <summary>Random inputs for any graph and a central-difference gradient check tuned to float32.</summary>
internal static class ReferenceSupport
{
    public static readonly IReadOnlyDictionary<string, long> DefaultSymbols = new Dictionary<string, long> { ["B"] = 3, ["N"] = 3, ["M"] = 2, ["T"] = 3 };

    public static long Size(string symbol) => DefaultSymbols.TryGetValue(symbol, out var v) ? v : 2;

    /// <summary>Uniform(−1, 1) for feature and state inputs; indices below the smallest reading vocabulary for categorical ones.</summary>
    public static Dictionary<string, Tensor> RandomInputs(ModelGraph graph, Random rng, Func<string, long>? size = null)
    {
        size ??= Size;
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var shape = input.Shape.Evaluate(size).Select(d => (int)d).ToArray();
            var t = input.Role == InputRole.Offsets ? BagOffsets.For(graph, input, size, rng) : Tensor.Zeros(shape);
            var vocab = input.Role == InputRole.Categorical ? Vocabulary(graph, input.Name) : 0;
            for (var i = 0; i < t.Length && input.Role != InputRole.Offsets; i++)
            {
                t.Data[i] = input.Role == InputRole.Categorical ? rng.Next(vocab) : (float)((rng.NextDouble() * 2) - 1);
            }

            inputs[input.Name] = t;
        }

        return inputs;
    }

    public static int Vocabulary(ModelGraph graph, string input)
    {
        var vocab = long.MaxValue;
        foreach (var node in graph.Nodes)
        {
            if (node.Op is CallOp call && graph.FindModule(call.Module)!.Spec is EmbeddingSpec e && node.Operands.Any(o => o.Source == input))
            {
                vocab = Math.Min(vocab, e.NumEmbeddings);
            }
        }

        return vocab == long.MaxValue ? 1 : (int)vocab;
    }

    public static Dictionary<string, Tensor> RandomLike(IReadOnlyDictionary<string, Tensor> outputs, Random rng) =>
        outputs.ToDictionary(kv => kv.Key, kv =>
        {
            var t = Tensor.Zeros(kv.Value.ShapeArray());
            for (var i = 0; i < t.Length; i++)
            {
                t.Data[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            return t;
        });

    /// <summary>Σ over outputs of Σ out·weight, accumulated in double.</summary>
    public static double Loss(IReadOnlyDictionary<string, Tensor> outputs, IReadOnlyDictionary<string, Tensor> weights)
    {
        double loss = 0;
        foreach (var (name, w) in weights)
        {
            var o = outputs[name];
            for (var i = 0; i < o.Length; i++)
            {
                loss += (double)o.Data[i] * w.Data[i];
            }
        }

        return loss;
    }

    /// <summary>
    /// Compares backward with central differences of L = Σ out·R for every parameter and feature/state input
    /// element (up to <paramref name="maxPerTensor"/> per tensor, picked at random). Returns the number checked.
    /// </summary>
    public static int CheckGradients(
        ModelGraph graph,
        int seed,
        bool training = false,
        double h = 1e-2,
        double atol = 2e-3,
        double rtol = 2e-2,
        int maxPerTensor = 40,
        Func<string, long>? size = null,
        Action<ReferenceModel>? prepare = null)
    {
        var rng = new Random(seed);
        var model = ReferenceModel.Initialize(graph, seed);
        prepare?.Invoke(model);
        model.Training = training;
        model.DropoutSeed = seed;
        var inputs = RandomInputs(graph, rng, size);
        model.DropoutStep = 0;
        var pass = model.Forward(inputs);
        var r = RandomLike(pass.Outputs, rng);
        var grads = model.Backward(pass, r);

        double Evaluate()
        {
            model.DropoutStep = 0;
            return Loss(model.Forward(inputs).Outputs, r);
        }

        var checkedCount = 0;
        var failures = new List<string>();
        void CheckTensor(string what, float[] data, float[] analytic)
        {
            var picks = Enumerable.Range(0, data.Length).OrderBy(_ => rng.Next()).Take(maxPerTensor);
            foreach (var i in picks)
            {
                var original = data[i];
                data[i] = (float)(original + h);
                var plus = Evaluate();
                data[i] = (float)(original - h);
                var minus = Evaluate();
                data[i] = original;
                var fd = (plus - minus) / (2 * h);
                var an = analytic[i];
                checkedCount++;
                if (Math.Abs(fd - an) > atol + (rtol * Math.Max(Math.Abs(fd), Math.Abs(an))))
                {
                    failures.Add($"{what}[{i}]: backward {an:G6}, central difference {fd:G6}");
                }
            }
        }

        foreach (var (name, p) in model.Parameters)
        {
            CheckTensor("parameter " + name, p.Data, grads.Parameters[name].Data);
        }

        foreach (var (name, g) in grads.Inputs)
        {
            CheckTensor("input " + name, inputs[name].Data, g.Data);
        }

        Assert.True(failures.Count == 0, $"graph {graph.Name}: {failures.Count} of {checkedCount} gradient elements disagree:\n" + string.Join("\n", failures.Take(20)));
        return checkedCount;
    }
}
