using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Oracle;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;
using OracleMap = NeuralSurgery.Oracle.GradientMap;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The <c>table3</c> command: paper 001 Table 3 on the OpenAI-Five-shaped graph. Version 2 appends 12 hero
/// features (paper 001 section 3). Rows: gradient maps by PyTorch autograd (tests/oracle) with random init, with
/// strictly positive init, with positive init and max → avg (the paper's remedies, section 2.3.1), and with the
/// remedies plus the Table-2 instrumentation the oracle tests use; beside each of the first three, the same
/// setting computed by our own <see cref="GradientMapper"/> (the C# reference executor, float32); then the boolean
/// map of Core's structured tracer (section 2.3.2).
/// </summary>
/// <remarks>
/// Interactions found: (element, slot) pairs of v2's boolean map that the gradient map also has, over the boolean
/// map's pairs. Parameters transferred: a plan keys elements by their feature sets (section 2.4), so we count a
/// v2 element as transferred when the boolean plan (<see cref="SurgeryDiffer"/>) copies it and the gradient map
/// gives it, and its v1 source element, the same sets as the boolean map; over all v2 parameter elements.
/// This approximates a plan built from the gradient map (an element keyed wrongly is not matched); the boolean
/// row is the plan's own copied share. Time: the one-hot passes in Python (torch import excluded), those of
/// <see cref="GradientMapper"/> (after a JIT warm-up) and the structured tracer's median, each for v1 and v2
/// together as a surgery needs both maps. Our rows use the PyTorch rows' settings: zero biases
/// (<see cref="InitOptions.ZeroBias"/>), non-bias weights from torch's default init or U(0.1, 1)/fan_in
/// (<see cref="InitOptions.PositiveNonBias"/>), symbols of size 2, C = Σ c ⊙ y over the outputs with c from
/// U(0.5, 1.5), the same seed (but other random streams, so random init draws other weights); PyTorch maps in
/// float64, we in float32. "Same as PyTorch" is the share of v2 parameter elements whose feature set is the one
/// the PyTorch row of that setting gives.
/// </remarks>
internal static class Table3Bench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<string> args)
    {
        var configName = "small";
        var seed = 1;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Count && args[i + 1] is "small" or "medium":
                    configName = args[++i];
                    break;
                case "--seed" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var s):
                    seed = s;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"table3: unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine("usage: table3 [--config small|medium (default small)] [--seed N (default 1)]");
                    return 2;
            }
        }

        var config = configName == "small" ? OpenAiFiveGraphs.Small : OpenAiFiveGraphs.Medium;
        var (g1, s1) = OpenAiFiveGraphs.Build(config, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(config, 2);
        var space1 = FeatureSpace.Bind(g1, s1);
        var space2 = FeatureSpace.Bind(g2, s2);
        Console.WriteLine($"Paper 001 Table 3 on the OpenAI-Five-shaped graph ({configName}): v1 {g1.ParameterElementCount:N0} parameters, {space1.Count} slots; v2 adds {config.ExtraHeroFeatures} hero features ({g2.ParameterElementCount:N0} parameters, {space2.Count} slots)");
        Console.WriteLine($"python: {TorchOracle.Python}; torch threads 1; seed {seed}");

        // Boolean map: structured tracer, median of repeated runs of v1 + v2.
        var boolean1 = StructuredTracer.Trace(g1, space1);
        var boolean2 = StructuredTracer.Trace(g2, space2);
        var booleanTimes = new List<double>();
        for (var r = 0; r < 21; r++)
        {
            var sw = Stopwatch.StartNew();
            StructuredTracer.Trace(g1, space1);
            StructuredTracer.Trace(g2, space2);
            booleanTimes.Add(sw.Elapsed.TotalSeconds);
        }

        booleanTimes.Sort();
        var plan = SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));

        GradMapSettings[] settings =
        [
            new(PositiveInit: false, AvgPool: false, Instrumented: false, seed),
            new(PositiveInit: true, AvgPool: false, Instrumented: false, seed),
            new(PositiveInit: true, AvgPool: true, Instrumented: false, seed),
            new(PositiveInit: true, AvgPool: true, Instrumented: true, seed),
        ];
        var requests = settings.SelectMany(s => new[] { GradientMaps.Request(g1, s), GradientMaps.Request(g2, s) }).ToList();
        var wall = Stopwatch.StartNew();
        var results = TorchOracle.Run(requests, TimeSpan.FromMinutes(9));
        Console.WriteLine($"oracle: {requests.Count} gradmap runs in one python process, {wall.Elapsed.TotalSeconds:F1} s wall");
        var failed = results.Where(r => !r.Ok).Select(r => r.Error).ToList();
        if (failed.Count > 0)
        {
            Console.Error.WriteLine("table3: the oracle refused: " + string.Join("; ", failed) + Environment.NewLine + TorchOracle.LastStderr);
            return 1;
        }

        // Our GradientMapper with the settings of the first three PyTorch rows (the instrumented row has no C# form).
        GradientMapOptions Ours(GradMapSettings s) => new()
        {
            Seed = s.Seed,
            Init = new InitOptions { PositiveNonBias = s.PositiveInit, ZeroBias = true },
            AveragePool = s.AvgPool,
            SymbolSize = 2,
        };
        GradientMapper.Map(g1, space1, Ours(settings[0])); // JIT warm-up, not timed
        var ours = settings.Where(s => !s.Instrumented).ToDictionary(s => s, s => (V1: GradientMapper.Map(g1, space1, Ours(s)), V2: GradientMapper.Map(g2, space2, Ours(s))));

        var missing = new List<(string, long, IReadOnlyDictionary<string, long>)>();
        Console.WriteLine();
        Console.WriteLine($"{"Mapping",-62} {"Interactions found",19} {"Params transferred",19} {"Same as PyTorch",16} {"Time (s)",10}");
        for (var i = 0; i < settings.Length; i++)
        {
            var m1 = OracleMap.Read(results[2 * i], space1);
            var m2 = OracleMap.Read(results[(2 * i) + 1], space2);
            var comparison = GradientMaps.Compare(m2, boolean2);
            var transferred = Transferred(plan, g2, boolean1, boolean2, m1.At, m2.At);
            var name = "Gradient, PyTorch (" + settings[i] + ")";
            Console.WriteLine($"{name,-62} {comparison.Found,19:P2} {transferred,19:P2} {"",16} {m1.Seconds + m2.Seconds,10:F3}");
            missing.Add((name, comparison.BooleanPairs, comparison.MissedPairsByParameter));
            if (ours.TryGetValue(settings[i], out var mine))
            {
                var (found, booleanPairs, missed) = Found(g2, mine.V2.FeaturesAt, boolean2);
                var mineTransferred = Transferred(plan, g2, boolean1, boolean2, mine.V1.FeaturesAt, mine.V2.FeaturesAt);
                var same = Same(g2, mine.V2.FeaturesAt, m2.At);
                name = "Gradient, ours (" + settings[i] + ")";
                Console.WriteLine($"{name,-62} {found,19:P2} {mineTransferred,19:P2} {same,16:P2} {(mine.V1.Elapsed + mine.V2.Elapsed).TotalSeconds,10:F3}");
                missing.Add((name, booleanPairs, missed));
            }
        }

        var booleanShare = Transferred(plan, g2, boolean1, boolean2, null, null);
        Console.WriteLine($"{"Boolean logic (StructuredTracer)",-62} {1.0,19:P2} {booleanShare,19:P2} {"",16} {booleanTimes[booleanTimes.Count / 2],10:F4}");
        Console.WriteLine();
        Console.WriteLine($"boolean interactions of v2: {boolean2.InteractionCount():N0}; plan copies {plan.Totals.CopiedElements:N0} of {plan.Totals.TargetElements:N0} state_dict elements");
        foreach (var (name, booleanPairs, missed) in missing.Where(m => m.Item3.Count > 0))
        {
            var top = missed.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"{kv.Key} {(double)kv.Value / booleanPairs:P1}");
            Console.WriteLine($"missed by {name}: {string.Join(", ", top)}");
        }

        Console.WriteLine("paper 001 Table 3 (OpenAI Five, 2.9 GHz Core i7): gradient (random + init.) 0.52% / 90.13%; (random init.) 49.42% / 94.91%;");
        Console.WriteLine("  (random + init., max→avg) 100% / 98.68% in 907.92 s; boolean logic 100% / 98.68% in 37.88 s");
        return 0;
    }

    /// <summary>Interactions found, counted as <see cref="GradientMaps.Compare"/> counts them (parameters, not buffers), and the missed pairs per parameter.</summary>
    private static (double Found, long BooleanPairs, IReadOnlyDictionary<string, long> Missed) Found(ModelGraph graph, Func<string, long, FeatureSet> gradient, InteractionMap boolean)
    {
        long booleanPairs = 0, common = 0;
        var missed = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in graph.Parameters.Where(p => !p.IsBuffer))
        {
            long missedHere = 0;
            var layout = boolean[p.Name];
            ForEachElement(p, (flat, index) =>
            {
                var b = layout.FeaturesAt(index);
                var both = b.Intersect(gradient(p.Name, flat)).Count;
                booleanPairs += b.Count;
                common += both;
                missedHere += b.Count - both;
            });
            if (missedHere > 0)
            {
                missed[p.Name] = missedHere;
            }
        }

        return (booleanPairs == 0 ? 1 : (double)common / booleanPairs, booleanPairs, missed);
    }

    /// <summary>Share of the graph's parameter elements to which both gradient maps give the same feature set.</summary>
    private static double Same(ModelGraph graph, Func<string, long, FeatureSet> a, Func<string, long, FeatureSet> b)
    {
        long total = 0, same = 0;
        foreach (var p in graph.Parameters.Where(p => !p.IsBuffer))
        {
            for (long flat = 0; flat < p.ElementCount; flat++)
            {
                total++;
                same += a(p.Name, flat).Equals(b(p.Name, flat)) ? 1 : 0;
            }
        }

        return total == 0 ? 1 : (double)same / total;
    }

    private static void ForEachElement(GraphParameter p, Action<long, long[]> action)
    {
        var shape = p.Shape.Dims.Select(d => d.Constant).ToArray();
        var index = new long[shape.Length];
        for (long flat = 0; flat < p.ElementCount; flat++)
        {
            var rest = flat;
            for (var a = shape.Length - 1; a >= 0; a--)
            {
                index[a] = rest % shape[a];
                rest /= shape[a];
            }

            action(flat, index);
        }
    }

    /// <summary>Share of v2 parameter elements the plan copies whose sets (and their sources' sets) the gradient maps get right; null maps: the boolean plan itself.</summary>
    private static double Transferred(SurgeryPlan plan, ModelGraph g2, InteractionMap boolean1, InteractionMap boolean2, Func<string, long, FeatureSet>? m1, Func<string, long, FeatureSet>? m2)
    {
        long total = 0, transferred = 0;
        foreach (var p in g2.Parameters.Where(p => !p.IsBuffer))
        {
            total += p.ElementCount;
            var tensor = plan.FindTensor(p.Name);
            if (tensor?.Source is not { } source)
            {
                continue;
            }

            var shape = tensor.Shape.ToArray();
            var sourceShape = tensor.SourceShape.ToArray();
            var index = new long[shape.Length];
            var sourceIndex = new long[shape.Length];
            var layout2 = boolean2[p.Name];
            var layout1 = boolean1[source];
            for (long flat = 0; flat < p.ElementCount; flat++)
            {
                var rest = flat;
                for (var a = shape.Length - 1; a >= 0; a--)
                {
                    index[a] = rest % shape[a];
                    rest /= shape[a];
                }

                if (tensor.RuleFor(index) is not null)
                {
                    continue;
                }

                if (m1 is null || m2 is null)
                {
                    transferred++;
                    continue;
                }

                long sourceFlat = 0;
                for (var a = 0; a < shape.Length; a++)
                {
                    sourceIndex[a] = tensor.Axes[a].SourceIndex(index[a]);
                    sourceFlat = (sourceFlat * sourceShape[a]) + sourceIndex[a];
                }

                if (m2(p.Name, flat).Equals(layout2.FeaturesAt(index)) && m1(source, sourceFlat).Equals(layout1.FeaturesAt(sourceIndex)))
                {
                    transferred++;
                }
            }
        }

        return total == 0 ? 1 : (double)transferred / total;
    }
}
