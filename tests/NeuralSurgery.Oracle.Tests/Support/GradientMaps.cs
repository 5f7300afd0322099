using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Oracle;

/// <summary>
/// How a gradient map is computed (paper 001 section 2.3.1). <see cref="PositiveInit"/> and <see cref="AvgPool"/>
/// are the paper's remedies; <see cref="Instrumented"/> adds what makes autograd ask the mirror's question
/// (section 2.3.3's preconditions, tests/oracle/README.md): ∂C/∂y ≠ 0 for every value (a loss over all node
/// values), a bias judged by the value it is added to (Table 2, x + w), and Table-2 surrogates for ops whose
/// zero input does not give a zero output or that flip signs (softmax, sigmoid, softplus, sub, LayerNorm, LSTM/GRU
/// gates).
/// </summary>
public sealed record GradMapSettings(bool PositiveInit, bool AvgPool, bool Instrumented, int Seed = 1)
{
    public JsonObject ToOptions() => new()
    {
        ["init"] = PositiveInit ? "positive" : "random",
        ["avg_pool"] = AvgPool,
        ["loss"] = Instrumented ? "all_values" : "outputs",
        ["gate_bias"] = Instrumented,
        ["table2"] = Instrumented,
        ["seed"] = Seed,
        ["dtype"] = "float64",
    };

    public override string ToString() =>
        (PositiveInit ? "positive init" : "random init") + (AvgPool ? ", max→avg" : string.Empty) + (Instrumented ? ", Table-2 instrumented" : string.Empty);
}

/// <summary>A gradient map read back from the oracle: per parameter element, the slots whose one-hot pass gave it a non-zero gradient.</summary>
public sealed class GradientMap
{
    private readonly Dictionary<string, int[]> _ids;

    private GradientMap(IReadOnlyList<FeatureSet> sets, Dictionary<string, int[]> ids, IReadOnlyDictionary<int, string[]> footnote5, double seconds, int slots)
    {
        Sets = sets;
        _ids = ids;
        Footnote5 = footnote5;
        Seconds = seconds;
        SlotCount = slots;
    }

    public IReadOnlyList<FeatureSet> Sets { get; }

    /// <summary>Slots whose pass met a product of values with exclusive features (paper 001 footnote 5), with the nodes.</summary>
    public IReadOnlyDictionary<int, string[]> Footnote5 { get; }

    /// <summary>Seconds of the one-hot passes in Python (not counting the import of torch).</summary>
    public double Seconds { get; }

    public int SlotCount { get; }

    public IEnumerable<string> Parameters => _ids.Keys;

    public FeatureSet At(string parameter, long flatIndex) => Sets[_ids[parameter][flatIndex]];

    /// <summary>Reads a gradmap result; the slots must be those of <paramref name="features"/> in order.</summary>
    public static GradientMap Read(OracleResult result, FeatureSpace features)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(features);
        var tensors = result.RequireTensors();
        var summary = result.Summary;
        var slots = summary.GetProperty("slots").EnumerateArray().Select(e => (Input: e[0].GetString()!, Index: e[1].GetInt32())).ToList();
        if (slots.Count != features.Count)
        {
            throw new OracleException($"oracle enumerated {slots.Count} slots for graph '{result.Request.Graph.Name}' but the feature space has {features.Count}");
        }

        for (var i = 0; i < slots.Count; i++)
        {
            if (slots[i].Input != features.Slots[i].Input)
            {
                throw new OracleException($"oracle slot {i} belongs to input '{slots[i].Input}' but feature slot {i} is {features.Slots[i]}");
            }
        }

        var sets = summary.GetProperty("sets").EnumerateArray().Select(s => FeatureSet.FromIds(s.EnumerateArray().Select(x => x.GetInt32()))).ToList();
        var ids = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var t in tensors.Tensors)
        {
            if (t.Name.StartsWith("gradmap.", StringComparison.Ordinal))
            {
                ids[t.Name.Substring("gradmap.".Length)] = tensors.Values<int>(t.Name).ToArray();
            }
        }

        var footnote5 = new Dictionary<int, string[]>();
        foreach (var p in summary.GetProperty("footnote5").EnumerateObject())
        {
            footnote5[int.Parse(p.Name, CultureInfo.InvariantCulture)] = p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray();
        }

        return new GradientMap(sets, ids, footnote5, summary.GetProperty("seconds").GetDouble(), slots.Count);
    }
}

/// <summary>Gradient map against the boolean map, counted in (element, slot) pairs as paper 001 Table 3 counts interactions.</summary>
public sealed record MapComparison(
    long BooleanPairs,
    long GradientPairs,
    long CommonPairs,
    long Elements,
    long EqualElements,
    long NotSubsetElements,
    long MismatchedElements,
    IReadOnlyList<string> Examples,
    IReadOnlyDictionary<string, long> MissedPairsByParameter)
{
    /// <summary>Share of the boolean map's interactions the gradient map found (Table 3, "interactions found").</summary>
    public double Found => BooleanPairs == 0 ? 1 : (double)CommonPairs / BooleanPairs;
}

public static class GradientMaps
{
    /// <summary>
    /// Compares parameter by parameter (buffers get no gradient and are skipped). An element mismatches when its
    /// sets differ outside <paramref name="relaxed"/>, or when the gradient set is not a subset of the boolean set.
    /// </summary>
    public static MapComparison Compare(GradientMap gradient, InteractionMap boolean, IReadOnlySet<int>? relaxed = null, int maxExamples = 8)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(boolean);
        var relax = FeatureSet.FromIds(relaxed ?? new HashSet<int>());
        long bPairs = 0, gPairs = 0, common = 0, elements = 0, equal = 0, notSubset = 0, mismatched = 0;
        var examples = new List<string>();
        var missed = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in boolean.Graph.Parameters.Where(p => !p.IsBuffer))
        {
            long missedHere = 0;
            var shape = p.Shape.Dims.Select(d => d.Constant).ToArray();
            var index = new long[shape.Length];
            var layout = boolean[p.Name];
            for (long flat = 0; flat < p.ElementCount; flat++)
            {
                var rest = flat;
                for (var a = shape.Length - 1; a >= 0; a--)
                {
                    index[a] = rest % shape[a];
                    rest /= shape[a];
                }

                var b = layout.FeaturesAt(index);
                var g = gradient.At(p.Name, flat);
                elements++;
                bPairs += b.Count;
                gPairs += g.Count;
                var both = b.Intersect(g).Count;
                common += both;
                missedHere += b.Count - both;
                if (b.Equals(g))
                {
                    equal++;
                    continue;
                }

                var subset = g.IsSubsetOf(b);
                if (!subset)
                {
                    notSubset++;
                }

                if (!subset || !b.Except(relax).Equals(g.Except(relax)))
                {
                    mismatched++;
                    if (examples.Count < maxExamples)
                    {
                        examples.Add($"{p.Name}[{string.Join(", ", index)}]: boolean {Describe(b, boolean.Features)}, gradient {Describe(g, boolean.Features)}");
                    }
                }
            }

            if (missedHere > 0)
            {
                missed[p.Name] = missedHere;
            }
        }

        return new MapComparison(bPairs, gPairs, common, elements, equal, notSubset, mismatched, examples, missed);
    }

    public static string Describe(FeatureSet set, FeatureSpace space) =>
        "{" + string.Join(", ", set.Ids().Take(12).Select(i => i < space.Count ? space.Slots[i].ToString() : "#" + i.ToString(CultureInfo.InvariantCulture))) + (set.Count > 12 ? ", …" : string.Empty) + "}";

    /// <summary>Every symbol of the graph's input shapes at the mirror's default size (TraceOptions.DefaultSymbolSize).</summary>
    public static Dictionary<string, long> Symbols(ModelGraph graph, long size = 2)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var d in graph.Inputs.SelectMany(i => i.Shape.Dims))
        {
            foreach (var t in d.Terms)
            {
                symbols[t.Symbol] = size;
            }
        }

        return symbols;
    }

    public static OracleRequest Request(ModelGraph graph, GradMapSettings settings) =>
        new(graph, "gradmap") { Symbols = Symbols(graph), Options = settings.ToOptions() };
}
