using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Runtime.Reference.Mapping;

/// <summary>max |F_old − F_new| over one output's elements.</summary>
public sealed record OutputDifference(string Output, double MaxAbsDifference, long Compared);

public sealed record VerificationReport(IReadOnlyList<OutputDifference> Outputs, IReadOnlyList<string> NotCompared, int Samples)
{
    public double MaxAbsDifference => Outputs.Count == 0 ? 0 : Outputs.Max(o => o.MaxAbsDifference);
}

/// <summary>
/// Output equivalence of a surgery (paper 001 eq. 1): the old and the new model, in eval mode, on the same random
/// world states. A feature of the new schema that the old one has (same input and feature name) gets the old
/// value; new features get free random values, as eq. 1 allows; categorical values are matched by name; a state
/// input of the same name and shape is copied. Outputs are compared by name where shapes agree.
/// </summary>
public static class Verifier
{
    public static VerificationReport Verify(
        ModelGraph oldGraph,
        FeatureSpace oldFeatures,
        ITensorSource oldWeights,
        ModelGraph newGraph,
        FeatureSpace newFeatures,
        ITensorSource newWeights,
        int samples = 1000,
        int seed = 0,
        int symbolSize = 3)
    {
        ArgumentNullException.ThrowIfNull(oldFeatures);
        ArgumentNullException.ThrowIfNull(newFeatures);
        var oldModel = ReferenceModel.Load(oldGraph, oldWeights);
        var newModel = ReferenceModel.Load(newGraph, newWeights);
        long Size(string s) => s == Dim.BatchSymbol ? samples : symbolSize;
        var rng = new Random(seed);
        var oldInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in oldGraph.Inputs)
        {
            oldInputs[input.Name] = RandomInput(input, oldGraph, oldFeatures, Size, rng);
        }

        var newInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in newGraph.Inputs)
        {
            var t = RandomInput(input, newGraph, newFeatures, Size, rng);
            if (oldInputs.TryGetValue(input.Name, out var old))
            {
                if (input.Role == InputRole.Features && newFeatures.HasInput(input.Name) && oldFeatures.HasInput(input.Name))
                {
                    CopyFeatures(input.Name, old, t, oldFeatures, newFeatures);
                }
                else if (input.Role == InputRole.Categorical && newFeatures.HasInput(input.Name) && oldFeatures.HasInput(input.Name) && old.SameShape(t))
                {
                    var (oldStart, _) = oldFeatures.InputSlots(input.Name);
                    var (newStart, _) = newFeatures.InputSlots(input.Name);
                    for (var i = 0; i < t.Length; i++)
                    {
                        var value = oldFeatures.Slots[oldStart + (int)old.Data[i]].Feature;
                        if (newFeatures.FeatureSlots(input.Name, value) is { } match)
                        {
                            t.Data[i] = match.Start - newStart;
                        }
                    }
                }
                else if (old.SameShape(t))
                {
                    old.Data.CopyTo(t.Data, 0);
                }
            }

            newInputs[input.Name] = t;
        }

        var oldOut = oldModel.Forward(oldInputs).Outputs;
        var newOut = newModel.Forward(newInputs).Outputs;
        var results = new List<OutputDifference>();
        var skipped = new List<string>();
        foreach (var (name, a) in oldOut)
        {
            if (!newOut.TryGetValue(name, out var b) || !a.SameShape(b))
            {
                skipped.Add(name);
                continue;
            }

            double worst = 0;
            for (var i = 0; i < a.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs((double)a.Data[i] - b.Data[i]));
            }

            results.Add(new OutputDifference(name, worst, a.Length));
        }

        return new VerificationReport(results, skipped, samples);
    }

    private static Tensor RandomInput(GraphInput input, ModelGraph graph, FeatureSpace features, Func<string, long> size, Random rng)
    {
        var t = Tensor.Zeros(input.Shape.Evaluate(size).Select(d => (int)d).ToArray());
        var vocab = input.Role == InputRole.Categorical && features.HasInput(input.Name) ? features.InputSlots(input.Name).Length : 1;
        for (var i = 0; i < t.Length; i++)
        {
            t.Data[i] = input.Role == InputRole.Categorical ? rng.Next(vocab) : (float)((rng.NextDouble() * 2) - 1);
        }

        return t;
    }

    private static void CopyFeatures(string input, Tensor old, Tensor t, FeatureSpace oldFeatures, FeatureSpace newFeatures)
    {
        var (oldStart, oldWidth) = oldFeatures.InputSlots(input);
        var (newStart, newWidth) = newFeatures.InputSlots(input);
        if (old.Length / oldWidth != t.Length / newWidth)
        {
            return;
        }

        for (var k = 0; k < newWidth; k++)
        {
            var slot = newFeatures.Slots[newStart + k];
            var within = slot.Id - newFeatures.FeatureSlots(input, slot.Feature)!.Value.Start;
            if (oldFeatures.FeatureSlots(input, slot.Feature) is not { } source || within >= source.Length)
            {
                continue;
            }

            var from = source.Start - oldStart + within;
            for (var r = 0; r < t.Length / newWidth; r++)
            {
                t.Data[(r * newWidth) + k] = old.Data[(r * oldWidth) + from];
            }
        }
    }
}
