using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Schema;
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
        int symbolSize = 3) =>
        Run(oldGraph, oldFeatures, oldWeights, newGraph, newFeatures, newWeights, samples, seed, symbolSize, Renames.None, null);

    /// <summary>
    /// The same check with both schemas: feature and categorical-value renames of the new schema are followed, and an
    /// output whose schema output gained, lost or reordered features (a head action added or removed) is compared
    /// column by column by output feature name. Columns of new actions are not compared: eq. 1 constrains only the
    /// outputs the old model had.
    /// </summary>
    public static VerificationReport Verify(
        ModelGraph oldGraph,
        FeatureSchema oldSchema,
        ITensorSource oldWeights,
        ModelGraph newGraph,
        FeatureSchema newSchema,
        ITensorSource newWeights,
        int samples = 1000,
        int seed = 0,
        int symbolSize = 3)
        => Run(Prepare(oldGraph, oldSchema, newGraph, newSchema, samples, seed, symbolSize), oldGraph, oldWeights, newGraph, newWeights);

    private static VerificationReport Run(
        ModelGraph oldGraph,
        FeatureSpace oldFeatures,
        ITensorSource oldWeights,
        ModelGraph newGraph,
        FeatureSpace newFeatures,
        ITensorSource newWeights,
        int samples,
        int seed,
        int symbolSize,
        Renames renames,
        Dictionary<string, int[]>? outputColumns) =>
        Run(new EquivalenceCheck(oldGraph, oldFeatures, newGraph, newFeatures, samples, seed, symbolSize, renames, outputColumns), oldGraph, oldWeights, newGraph, newWeights);

    private static VerificationReport Run(EquivalenceCheck check, ModelGraph oldGraph, ITensorSource oldWeights, ModelGraph newGraph, ITensorSource newWeights)
    {
        var oldModel = ReferenceModel.Load(oldGraph, oldWeights);
        var newModel = ReferenceModel.Load(newGraph, newWeights);
        return check.Compare(oldModel.Forward(check.OldInputs).Outputs, newModel.Forward(check.NewInputs).Outputs);
    }

    /// <summary>
    /// The inputs and the comparison of a verification, without running either model: what the TorchSharp verifier
    /// feeds to the user's own <c>forward</c> and compares its outputs with, so both verifiers mean the same eq. 1.
    /// </summary>
    public static EquivalenceCheck Prepare(
        ModelGraph oldGraph,
        FeatureSchema oldSchema,
        ModelGraph newGraph,
        FeatureSchema newSchema,
        int samples = 1000,
        int seed = 0,
        int symbolSize = 3)
    {
        ArgumentNullException.ThrowIfNull(oldGraph);
        ArgumentNullException.ThrowIfNull(newGraph);
        ArgumentNullException.ThrowIfNull(oldSchema);
        ArgumentNullException.ThrowIfNull(newSchema);
        var renames = new Renames(newSchema);
        return new EquivalenceCheck(
            oldGraph,
            FeatureSpace.Bind(oldGraph, oldSchema),
            newGraph,
            FeatureSpace.Bind(newGraph, newSchema),
            samples,
            seed,
            symbolSize,
            renames,
            OutputColumns(oldGraph, oldSchema, newGraph, newSchema, renames));
    }

    /// <summary>Random world states for both models (shared features equal) and the output comparison of eq. 1.</summary>
    public sealed class EquivalenceCheck
    {
        private readonly Dictionary<string, int[]>? _outputColumns;

        internal EquivalenceCheck(
            ModelGraph oldGraph,
            FeatureSpace oldFeatures,
            ModelGraph newGraph,
            FeatureSpace newFeatures,
            int samples,
            int seed,
            int symbolSize,
            Renames renames,
            Dictionary<string, int[]>? outputColumns)
        {
            ArgumentNullException.ThrowIfNull(oldFeatures);
            ArgumentNullException.ThrowIfNull(newFeatures);
            ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(symbolSize, 1);
            Samples = samples;
            _outputColumns = outputColumns;

            // A set or sequence axis must be long enough for every shape of both graphs (a Conv1d of kernel k needs k).
            var axis = Math.Max(symbolSize, Math.Max(TraceOptions.For(oldGraph).DefaultSymbolSize, TraceOptions.For(newGraph).DefaultSymbolSize));
            // The flat index input of an EmbeddingBag holds every bag's indices: about four per bag.
            var bagIndexAxes = BagIndexAxes(oldGraph).Concat(BagIndexAxes(newGraph)).ToHashSet(StringComparer.Ordinal);
            long Size(string s) => s == Dim.BatchSymbol ? samples : bagIndexAxes.Contains(s) ? 4L * samples : axis;

            // All states run as one batch: refuse a batch whose inputs and activations cannot fit before making it.
            var bytes = (Floats(oldGraph, Size) + Floats(newGraph, Size)) * sizeof(float);
            var budget = (double)MemoryBudget.Bytes;
            if (bytes > budget)
            {
                throw new InsufficientMemoryException(string.Create(CultureInfo.InvariantCulture,
                    $"{samples} random states take about {bytes:0} bytes of inputs and activations in the two models, more than the {budget:0} this process has for them; pass at most {Math.Max(1, (long)(samples * budget / bytes))}"));
            }

            var rng = new Random(seed);
            var oldInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var input in oldGraph.Inputs)
            {
                oldInputs[input.Name] = RandomInput(oldGraph, input, oldFeatures, Size, rng);
            }

            var newInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var input in newGraph.Inputs)
            {
                var t = RandomInput(newGraph, input, newFeatures, Size, rng);
                if (oldInputs.TryGetValue(input.Name, out var old))
                {
                    if (input.Role == InputRole.Features && newFeatures.HasInput(input.Name) && oldFeatures.HasInput(input.Name))
                    {
                        CopyFeatures(input, old, t, oldFeatures, newFeatures, renames);
                    }
                    else if (input.Role == InputRole.Categorical && newFeatures.HasInput(input.Name) && oldFeatures.HasInput(input.Name) && old.SameShape(t))
                    {
                        var (oldStart, _) = oldFeatures.InputSlots(input.Name);
                        var (newStart, _) = newFeatures.InputSlots(input.Name);
                        for (var i = 0; i < t.Length; i++)
                        {
                            var value = oldFeatures.Slots[oldStart + (int)old.Data[i]].Feature;
                            if (newFeatures.FeatureSlots(input.Name, renames.ToNew(input.Name, value)) is { } match)
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

            OldInputs = oldInputs;
            NewInputs = newInputs;
        }

        public int Samples { get; }

        /// <summary>The old model's inputs by graph input name (categorical inputs hold indices as floats).</summary>
        public IReadOnlyDictionary<string, Tensor> OldInputs { get; }

        /// <summary>The new model's inputs: the same world states as <see cref="OldInputs"/>, new features random.</summary>
        public IReadOnlyDictionary<string, Tensor> NewInputs { get; }

        /// <summary>max |F_old − F_new| per old output, matched by name (and by column for schema outputs).</summary>
        public VerificationReport Compare(IReadOnlyDictionary<string, Tensor> oldOutputs, IReadOnlyDictionary<string, Tensor> newOutputs)
        {
            ArgumentNullException.ThrowIfNull(oldOutputs);
            ArgumentNullException.ThrowIfNull(newOutputs);
            var results = new List<OutputDifference>();
            var skipped = new List<string>();
            foreach (var (name, a) in oldOutputs)
            {
                if (!newOutputs.TryGetValue(name, out var b))
                {
                    skipped.Add(name);
                    continue;
                }

                if (_outputColumns is not null && _outputColumns.TryGetValue(name, out var columns) && a.Rank == b.Rank && a.Rank > 0
                    && a.Dim(a.Rank - 1) == columns.Length && a.Length / columns.Length == b.Length / b.Dim(b.Rank - 1))
                {
                    // Old column c is new column columns[c] (by output feature name); -1: the new model dropped it.
                    var (oldWidth, newWidth) = (columns.Length, b.Dim(b.Rank - 1));
                    double most = 0;
                    long compared = 0;
                    for (var r = 0; r < a.Length / oldWidth; r++)
                    {
                        for (var c = 0; c < oldWidth; c++)
                        {
                            if (columns[c] >= 0)
                            {
                                most = Math.Max(most, Difference(a.Data[(r * oldWidth) + c], b.Data[(r * newWidth) + columns[c]]));
                                compared++;
                            }
                        }
                    }

                    results.Add(new OutputDifference(name, most, compared));
                    continue;
                }

                if (!a.SameShape(b))
                {
                    skipped.Add(name);
                    continue;
                }

                results.Add(new OutputDifference(name, MaxDifference(a, b), a.Length));
            }

            return new VerificationReport(results, skipped, Samples);
        }

        /// <summary>max |a − b| over two tensors of one shape; NaN on either side counts as infinitely different.</summary>
        public static double MaxDifference(Tensor a, Tensor b)
        {
            ArgumentNullException.ThrowIfNull(a);
            ArgumentNullException.ThrowIfNull(b);
            if (!a.SameShape(b))
            {
                throw new ArgumentException($"shapes differ: {a.ShapeString} and {b.ShapeString}", nameof(b));
            }

            double worst = 0;
            for (var i = 0; i < a.Length; i++)
            {
                worst = Math.Max(worst, Difference(a.Data[i], b.Data[i]));
            }

            return worst;
        }

        // A NaN must fail the check, and Math.Max(0, NaN) would hide it in the running maximum's next comparison.
        private static double Difference(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? double.PositiveInfinity : Math.Abs((double)a - b);
    }

    private static IEnumerable<string> BagIndexAxes(ModelGraph graph) =>
        graph.Inputs.Where(i => i.Role == InputRole.Offsets)
            .SelectMany(i => BagOffsets.ReaderOf(graph, i).Indices.Shape.Dims.SelectMany(d => d.Terms.Select(t => t.Symbol)))
            .Where(s => s != Dim.BatchSymbol);

    /// <summary>Floats of a graph's inputs and node outputs at these sizes: the most one batched forward holds.</summary>
    private static double Floats(ModelGraph graph, Func<string, long> size)
    {
        double floats = 0;
        foreach (var input in graph.Inputs)
        {
            floats += input.Shape.Evaluate(size).Aggregate(1.0, (n, d) => n * d);
        }

        foreach (var node in graph.Nodes)
        {
            foreach (var shape in node.OutputShapes)
            {
                floats += shape.Evaluate(size).Aggregate(1.0, (n, d) => n * d);
            }
        }

        return floats;
    }

    private static Tensor RandomInput(ModelGraph graph, GraphInput input, FeatureSpace features, Func<string, long> size, Random rng)
    {
        if (input.Role == InputRole.Offsets)
        {
            return BagOffsets.For(graph, input, size, rng);
        }

        var t = Tensor.Zeros(input.Shape.Evaluate(size).Select(d => (int)d).ToArray());
        var vocab = input.Role == InputRole.Categorical && features.HasInput(input.Name) ? features.InputSlots(input.Name).Length : 1;
        for (var i = 0; i < t.Length; i++)
        {
            t.Data[i] = input.Role == InputRole.Categorical ? rng.Next(vocab) : (float)((rng.NextDouble() * 2) - 1);
        }

        return t;
    }

    private static void CopyFeatures(GraphInput graphInput, Tensor old, Tensor t, FeatureSpace oldFeatures, FeatureSpace newFeatures, Renames renames)
    {
        var input = graphInput.Name;
        var (oldStart, oldWidth) = oldFeatures.InputSlots(input);
        var (newStart, newWidth) = newFeatures.InputSlots(input);
        if (old.Length / oldWidth != t.Length / newWidth)
        {
            return;
        }

        // Positions after the feature axis (an image's pixels) are the same in both versions.
        var shape = t.ShapeArray();
        var inner = 1;
        for (var a = graphInput.FeatureAxisIndex + 1; a < shape.Length; a++)
        {
            inner *= shape[a];
        }

        var outer = t.Length / newWidth / inner;

        for (var k = 0; k < newWidth; k++)
        {
            var slot = newFeatures.Slots[newStart + k];
            var within = slot.Id - newFeatures.FeatureSlots(input, slot.Feature)!.Value.Start;
            if (oldFeatures.FeatureSlots(input, renames.ToOld(input, slot.Feature)) is not { } source || within >= source.Length)
            {
                continue;
            }

            var from = source.Start - oldStart + within;
            for (var r = 0; r < outer; r++)
            {
                old.Data.AsSpan(((r * oldWidth) + from) * inner, inner).CopyTo(t.Data.AsSpan(((r * newWidth) + k) * inner, inner));
            }
        }
    }

    /// <summary>Per graph output bound to a schema output: for each old column, the new column of the same feature and slot, or -1.</summary>
    private static Dictionary<string, int[]> OutputColumns(ModelGraph oldGraph, FeatureSchema oldSchema, ModelGraph newGraph, FeatureSchema newSchema, Renames renames)
    {
        var columns = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var oldOutput in oldGraph.Outputs)
        {
            var newOutput = newGraph.Outputs.FirstOrDefault(o => o.Name == oldOutput.Name);
            if (oldOutput.SchemaOutput is not { } oldName || newOutput?.SchemaOutput is not { } newName
                || oldSchema.FindOutput(oldName) is not { } from || newSchema.FindOutput(newName) is not { } to)
            {
                continue;
            }

            var map = new int[from.Features.Sum(f => f.Width)];
            foreach (var feature in from.Features)
            {
                var target = to.Features.FirstOrDefault(f => f.Name == renames.ToNew(newName, feature.Name));
                for (var k = 0; k < feature.Width; k++)
                {
                    map[feature.Offset + k] = target is not null && k < target.Width ? target.Offset + k : -1;
                }
            }

            columns[oldOutput.Name] = map;
        }

        return columns;
    }

    /// <summary>The new schema's renames of features and values, plain (<c>hp</c>) or qualified (<c>hero.hp</c>).</summary>
    internal sealed class Renames
    {
        public static readonly Renames None = new(null);

        private readonly IReadOnlyList<SchemaRename> _renames;

        public Renames(FeatureSchema? schema) => _renames = schema is null ? [] : schema.Renames;

        /// <summary>The old name of what input (or output) <paramref name="owner"/> now calls <paramref name="name"/>.</summary>
        public string ToOld(string owner, string name)
        {
            foreach (var r in _renames)
            {
                if (Matches(r.To, owner, name))
                {
                    return Unqualified(r.From);
                }
            }

            return name;
        }

        /// <summary>The new name of what <paramref name="owner"/> called <paramref name="name"/>.</summary>
        public string ToNew(string owner, string name)
        {
            foreach (var r in _renames)
            {
                if (Matches(r.From, owner, name))
                {
                    return Unqualified(r.To);
                }
            }

            return name;
        }

        private static bool Matches(string reference, string owner, string name) =>
            reference == name || reference == owner + "." + name;

        private static string Unqualified(string reference) => reference[(reference.LastIndexOf('.') + 1)..];
    }
}
