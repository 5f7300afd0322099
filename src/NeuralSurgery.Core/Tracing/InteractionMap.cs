using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tracing;

/// <summary>A box of parameter elements: indices <c>[Start, Start + Size)</c> on every axis.</summary>
public sealed record ElementRegion(long[] Start, long[] Size)
{
    public long Count => Size.Aggregate(1L, (a, b) => a * b);

    public override string ToString() => "[" + string.Join(", ", Start.Zip(Size, (s, z) => z == 1 ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{s}:{s + z}")) + "]";
}

/// <summary>The elements of one parameter that interact with one feature.</summary>
public sealed record ParameterInteraction(string Parameter, long Elements, IReadOnlyList<ElementRegion> Regions);

/// <summary>
/// Φ (paper 001 section 2.3): per state_dict entry, a <see cref="Layout"/> whose element sets are the feature
/// slots that element interacts with, and whose per-axis keys say which units or slots each index belongs to.
/// </summary>
public sealed class InteractionMap
{
    internal InteractionMap(
        ModelGraph graph,
        FeatureSpace features,
        IReadOnlyList<KeySpace> keySpaces,
        IReadOnlyDictionary<string, Layout> parameters,
        IReadOnlyDictionary<ValueRef, Layout> values)
    {
        Graph = graph;
        Features = features;
        KeySpaces = keySpaces;
        Parameters = parameters;
        Values = values;
    }

    public ModelGraph Graph { get; }

    public FeatureSpace Features { get; }

    /// <summary>Index 0 is the slot space; the others are units and gate blocks of layers.</summary>
    public IReadOnlyList<KeySpace> KeySpaces { get; }

    public IReadOnlyDictionary<string, Layout> Parameters { get; }

    /// <summary>Every input (categorical ones in their one-hot view) and node output.</summary>
    public IReadOnlyDictionary<ValueRef, Layout> Values { get; }

    public Layout this[string parameter] =>
        Parameters.TryGetValue(parameter, out var layout) ? layout : throw new ArgumentException($"'{parameter}' is not a parameter or buffer of model '{Graph.Name}'", nameof(parameter));

    /// <summary>Which features does parameter <paramref name="parameter"/> see.</summary>
    public FeatureSet FeaturesOf(string parameter) => this[parameter].AllFeatures();

    /// <summary>Features that reach no parameter: the "unmapped feature" diagnostic.</summary>
    public IReadOnlyList<FeatureSlot> UnmappedFeatures()
    {
        var seen = Parameters.Values.Aggregate(FeatureSet.Empty, (s, l) => s.Union(l.AllFeatures()));
        return Features.Slots.Where(s => !seen.Contains(s.Id)).ToList();
    }

    /// <summary>Which elements of which parameters interact with feature slot <paramref name="feature"/>.</summary>
    public IReadOnlyList<ParameterInteraction> InteractionsOf(int feature)
    {
        var result = new List<ParameterInteraction>();
        foreach (var p in Graph.Parameters)
        {
            var regions = RegionsWith(this[p.Name], feature);
            if (regions.Count > 0)
            {
                result.Add(new ParameterInteraction(p.Name, regions.Sum(r => r.Count), regions));
            }
        }

        return result;
    }

    /// <summary>Interactions of every slot of a named feature (or categorical value) of an input.</summary>
    public IReadOnlyList<ParameterInteraction> InteractionsOf(string input, string feature)
    {
        var slots = Features.FeatureSlots(input, feature) ?? throw new ArgumentException($"input '{input}' has no feature '{feature}'", nameof(feature));
        return Enumerable.Range(slots.Start, slots.Length)
            .SelectMany(InteractionsOf)
            .GroupBy(i => i.Parameter)
            .Select(g => new ParameterInteraction(g.Key, g.Sum(i => i.Elements), g.SelectMany(i => i.Regions).ToList()))
            .ToList();
    }

    /// <summary>
    /// Number of (parameter element, feature) pairs that interact: the "interactions" of paper 001 Table 3.
    /// </summary>
    public long InteractionCount() => Parameters.Values.Sum(CountPairs);

    /// <summary>Features of one element.</summary>
    public FeatureSet FeaturesAt(string parameter, params long[] index) => this[parameter].FeaturesAt(index);

    /// <summary>
    /// Disjoint boxes covering the elements whose set holds <paramref name="feature"/>: within a box of the
    /// layout the feature is in the common set, or in the runs of some axes; axis a's slab excludes the
    /// slabs of earlier axes so the boxes do not overlap.
    /// </summary>
    internal static List<ElementRegion> RegionsWith(Layout layout, int feature)
    {
        var regions = new List<ElementRegion>();
        foreach (var b in layout.Blocks)
        {
            if (b.Common.Contains(feature))
            {
                regions.Add(new ElementRegion(b.Start, b.Size));
                continue;
            }

            var hits = b.Axes.Select(a => Intervals(a, feature)).ToArray();
            for (var a = 0; a < b.Rank; a++)
            {
                foreach (var (s, n) in hits[a])
                {
                    // Earlier axes take their complement intervals, later axes their full range.
                    var ranges = new List<List<(long, long)>>();
                    for (var e = 0; e < b.Rank; e++)
                    {
                        ranges.Add(e < a ? Complement(hits[e], b.Size[e]) : e == a ? [(s, n)] : [(0, b.Size[e])]);
                    }

                    foreach (var combo in Product(ranges))
                    {
                        regions.Add(new ElementRegion(
                            combo.Select((r, e) => b.Start[e] + r.Item1).ToArray(),
                            combo.Select(r => r.Item2).ToArray()));
                    }
                }
            }
        }

        return regions;
    }

    private static List<(long Start, long Count)> Intervals(AxisLayout axis, int feature)
    {
        var result = new List<(long, long)>();
        long start = 0;
        foreach (var run in axis.Runs)
        {
            if (run.Bits.Contains(feature))
            {
                Add(result, start, run.Length);
            }
            else
            {
                foreach (var k in run.Keys)
                {
                    if (k.Space != 0)
                    {
                        continue;
                    }

                    if (k.Stride == 0)
                    {
                        if (k.Start == feature)
                        {
                            Add(result, start, run.Length);
                        }
                    }
                    else if ((feature - k.Start) % k.Stride == 0)
                    {
                        var offset = (feature - k.Start) / k.Stride;
                        if (offset >= 0 && offset < run.Length)
                        {
                            Add(result, start + offset, 1);
                        }
                    }
                }
            }

            start += run.Length;
        }

        result.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        var merged = new List<(long, long)>();
        foreach (var r in result)
        {
            if (merged.Count > 0 && merged[merged.Count - 1].Item1 + merged[merged.Count - 1].Item2 >= r.Item1)
            {
                var last = merged[merged.Count - 1];
                merged[merged.Count - 1] = (last.Item1, Math.Max(last.Item2, r.Item1 + r.Item2 - last.Item1));
            }
            else
            {
                merged.Add(r);
            }
        }

        return merged;

        static void Add(List<(long, long)> list, long s, long n) => list.Add((s, n));
    }

    private static List<(long, long)> Complement(List<(long Start, long Count)> intervals, long length)
    {
        var result = new List<(long, long)>();
        long at = 0;
        foreach (var (s, n) in intervals)
        {
            if (s > at)
            {
                result.Add((at, s - at));
            }

            at = s + n;
        }

        if (at < length)
        {
            result.Add((at, length - at));
        }

        return result;
    }

    private static IEnumerable<(long, long)[]> Product(List<List<(long, long)>> ranges)
    {
        IEnumerable<(long, long)[]> acc = [[]];
        foreach (var r in ranges)
        {
            var current = acc;
            acc = current.SelectMany(prefix => r.Select(x => prefix.Concat([x]).ToArray()));
        }

        return acc;
    }

    /// <summary>Σ over elements of the size of its set, per box: Σ_f (elements holding f).</summary>
    private static long CountPairs(Layout layout)
    {
        long total = 0;
        foreach (var b in layout.Blocks)
        {
            var features = b.AllFeatures();
            var volume = b.Volume;
            foreach (var f in features.Ids())
            {
                if (b.Common.Contains(f))
                {
                    total += volume;
                    continue;
                }

                long missing = 1;
                for (var a = 0; a < b.Rank; a++)
                {
                    var covered = Intervals(b.Axes[a], f).Sum(i => i.Count);
                    missing *= b.Size[a] - covered;
                }

                total += volume - missing;
            }
        }

        return total;
    }
}
