using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Runtime.Reference.Mapping;

/// <summary>Options of <see cref="GradientMapper"/>: the weights to map with and paper 001's two remedies.</summary>
public sealed record GradientMapOptions
{
    public int Seed { get; init; }

    /// <summary>Initialisation when mapping a graph without weights; <see cref="InitOptions.PositiveNonBias"/> is the first remedy.</summary>
    public InitOptions Init { get; init; } = InitOptions.PyTorchDefault;

    /// <summary>
    /// The second remedy: max over an axis is computed as the mean, max pooling as the mean over each window's
    /// in-bounds elements and adaptive max pooling as adaptive avg pooling, so every set element gets a gradient.
    /// </summary>
    public bool AveragePool { get; init; }

    /// <summary>Size of every symbolic dimension during mapping (a one-hot fills every position of its feature).</summary>
    public int SymbolSize { get; init; } = 2;

    /// <summary>
    /// The loss is C = Σ c ⊙ y over the graph outputs. When null, c is drawn per element from U(0.5, 1.5) with
    /// <see cref="Seed"/>; given here (by output name, the output's shape at <see cref="SymbolSize"/>), it is used
    /// as is, e.g. to hand the same c to the PyTorch oracle.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor>? OutputWeights { get; init; }
}

/// <summary>Per parameter element, the feature slots whose one-hot input gave it a non-zero gradient.</summary>
public sealed class GradientMap
{
    internal GradientMap(FeatureSpace features, IReadOnlyDictionary<string, List<int>?[]> elements, TimeSpan elapsed)
    {
        Features = features;
        Elements = elements;
        Elapsed = elapsed;
    }

    public FeatureSpace Features { get; }

    public TimeSpan Elapsed { get; }

    internal IReadOnlyDictionary<string, List<int>?[]> Elements { get; }

    /// <summary>Feature slot ids that interact with element <paramref name="flatIndex"/> (row-major) of <paramref name="parameter"/>.</summary>
    public FeatureSet FeaturesAt(string parameter, long flatIndex) =>
        Elements.TryGetValue(parameter, out var e)
            ? (e[flatIndex] is { } ids ? FeatureSet.FromIds(ids) : FeatureSet.Empty)
            : throw new KeyNotFoundException($"The gradient map has no parameter named '{parameter}'.");

    /// <summary>(parameter element, feature) pairs found.</summary>
    public long InteractionCount() => Elements.Values.Sum(e => e.Sum(ids => (long)(ids?.Count ?? 0)));

    /// <summary>
    /// Compares with the boolean map of Core (paper 001 section 2.3.3: with the remedies the two agree): pairs in
    /// both, pairs only in each, and elements whose feature sets are equal; <paramref name="parameters"/> picks
    /// the parameters compared (all when null).
    /// </summary>
    public GradientMapComparison CompareWith(InteractionMap boolean, Func<string, bool>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(boolean);
        long booleanPairs = 0, gradientPairs = 0, common = 0, elements = 0, equal = 0;
        foreach (var (name, list) in Elements)
        {
            if (parameters is not null && !parameters(name))
            {
                continue;
            }

            var layout = boolean[name];
            var shape = boolean.Graph.FindParameter(name)!.Shape.Dims.Select(d => d.Value).ToArray();
            var index = new long[shape.Length];
            for (long e = 0; e < list.Length; e++)
            {
                var rest = e;
                for (var a = shape.Length - 1; a >= 0; a--)
                {
                    index[a] = rest % shape[a];
                    rest /= shape[a];
                }

                var b = layout.FeaturesAt(index);
                var g = list[e] is { } ids ? FeatureSet.FromIds(ids) : FeatureSet.Empty;
                booleanPairs += b.Count;
                gradientPairs += g.Count;
                common += b.Intersect(g).Count;
                elements++;
                equal += b.Equals(g) ? 1 : 0;
            }
        }

        return new GradientMapComparison(booleanPairs, gradientPairs, common, elements, equal);
    }
}

/// <summary>A gradient map against the boolean map; <see cref="Found"/> is paper 001 Table 3's "interactions found".</summary>
public sealed record GradientMapComparison(long BooleanPairs, long GradientPairs, long CommonPairs, long Elements, long EqualElements)
{
    public double Found => BooleanPairs == 0 ? 1 : (double)CommonPairs / BooleanPairs;
}

/// <summary>
/// Gradient mapping, paper 001 section 2.3.1: for each input feature slot, an input that is one-hot in that slot
/// (every position of the feature set to 1, every other feature 0, categorical inputs selecting no row except the
/// slot's value, states 0) and a backward pass of C = Σ c ⊙ y over the outputs (c positive per element); every parameter element with a non-zero
/// gradient interacts with the feature. The model runs in eval mode, and BatchNorm without running statistics in
/// the mirror's eval form (mean 0, variance 1), as the PyTorch oracle's gradmap mode reads every BatchNorm.
/// </summary>
public static class GradientMapper
{
    public static GradientMap Map(ModelGraph graph, FeatureSpace features, GradientMapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new GradientMapOptions();
        return Map(ReferenceModel.Initialize(graph, options.Seed, options.Init), features, options);
    }

    public static GradientMap Map(ReferenceModel model, FeatureSpace features, GradientMapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(features);
        options ??= new GradientMapOptions();
        var graph = model.Graph;
        var watch = Stopwatch.StartNew();
        var elements = new Dictionary<string, List<int>?[]>(StringComparer.Ordinal);
        foreach (var (name, p) in model.Parameters)
        {
            elements[name] = new List<int>?[p.Length];
        }

        // Paper 001 eq. 4 needs ∂C/∂y ≠ 0 for every output element, and generically so: with C the plain sum of
        // the outputs, an output whose elements sum to a constant (softmax sums to 1, a LayerNorm with unit weight
        // to its bias) has ∂C/∂x = 0 upstream in exact arithmetic, and float32 leaves rounding noise that the map
        // reads as interactions or not by chance (found against the PyTorch oracle, seed 10 of RandomGraphs).
        // Positive random weights per element remove the cancellation, as the oracle's own loss does.
        Dictionary<string, Tensor>? weights = null;
        var wasTraining = model.Training;
        model.Training = false;
        try
        {
            foreach (var slot in features.Slots)
            {
                var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var input in graph.Inputs)
                {
                    if (input.Role == InputRole.Offsets)
                    {
                        inputs[input.Name] = BagOffsets.For(graph, input, _ => options.SymbolSize, rng: null);
                        continue;
                    }

                    var shape = input.Shape.Evaluate(_ => options.SymbolSize).Select(d => (int)d).ToArray();
                    var t = Tensor.Zeros(shape);
                    var mine = input.Name == slot.Input;
                    var offset = mine ? slot.Id - features.InputSlots(input.Name).Start : -1;
                    if (input.Role == InputRole.Categorical)
                    {
                        Array.Fill(t.Data, mine ? offset : -1f);
                    }
                    else if (input.Role == InputRole.Features && mine)
                    {
                        // One-hot along the feature axis, wherever the schema puts it.
                        var axis = input.FeatureAxisIndex;
                        var width = shape[axis];
                        var inner = 1;
                        for (var a = axis + 1; a < shape.Length; a++)
                        {
                            inner *= shape[a];
                        }

                        for (var i = 0; i < t.Length; i++)
                        {
                            if (i / inner % width == offset)
                            {
                                t.Data[i] = 1f;
                            }
                        }
                    }

                    inputs[input.Name] = t;
                }

                var pass = model.ForwardCore(inputs, absentIndices: true, maxAsMean: options.AveragePool, mirrorNorms: true);
                weights ??= options.OutputWeights?.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) ?? PositiveWeights(pass.Outputs, options.Seed);
                var grads = model.Backward(pass, weights);
                foreach (var (name, g) in grads.Parameters)
                {
                    var list = elements[name];
                    for (var i = 0; i < g.Length; i++)
                    {
                        if (g.Data[i] != 0)
                        {
                            (list[i] ??= []).Add(slot.Id);
                        }
                    }
                }
            }
        }
        finally
        {
            model.Training = wasTraining;
        }

        return new GradientMap(features, elements, watch.Elapsed);
    }

    private static Dictionary<string, Tensor> PositiveWeights(IReadOnlyDictionary<string, Tensor> outputs, int seed)
    {
        var rng = new Random(seed + 1);
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, y) in outputs)
        {
            var c = Tensor.Zeros(y.ShapeArray());
            for (var i = 0; i < c.Length; i++)
            {
                c.Data[i] = (float)(0.5 + rng.NextDouble());
            }

            weights[name] = c;
        }

        return weights;
    }
}
