using System;
using System.Collections.Generic;
using System.Linq;
using FsCheck;
using FsCheck.Fluent;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Tracing;

/// <summary>
/// Properties of the structured tracer's building blocks against plain per-index models: FeatureSet against
/// HashSet, AxisLayout slicing, merging, broadcasting and feature unions against expanded per-index sets.
/// </summary>
public class LayoutPropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static Gen<int[]> Ids => Gen.ArrayOf(Gen.Choose(0, 200));

    [Fact]
    public void Feature_set_algebra_matches_hash_sets()
    {
        Prop.ForAll(Ids.ToArbitrary(), Ids.ToArbitrary(), (a, b) =>
        {
            var sa = FeatureSet.FromIds(a);
            var sb = FeatureSet.FromIds(b);
            var ha = new HashSet<int>(a);
            var hb = new HashSet<int>(b);
            return sa.Union(sb).Ids().SequenceEqual(ha.Union(hb).OrderBy(x => x))
                && sa.Intersect(sb).Ids().SequenceEqual(ha.Intersect(hb).OrderBy(x => x))
                && sa.Except(sb).Ids().SequenceEqual(ha.Except(hb).OrderBy(x => x))
                && sa.Overlaps(sb) == ha.Overlaps(hb)
                && sa.IsSubsetOf(sb) == ha.IsSubsetOf(hb)
                && sa.Count == ha.Count
                && sa.Equals(FeatureSet.FromIds(ha)) && sa.GetHashCode() == FeatureSet.FromIds(ha).GetHashCode();
        }).Check(Config);
    }

    [Fact]
    public void Feature_set_ranges_match_enumerated_ids()
    {
        Prop.ForAll(Gen.Choose(0, 300).ToArbitrary(), Gen.Choose(0, 70).ToArbitrary(), Gen.Choose(1, 9).ToArbitrary(), (start, count, stride) =>
            FeatureSet.Range(start, count, stride).Ids().SequenceEqual(Enumerable.Range(0, count).Select(k => start + (k * stride))))
            .Check(Config);
    }

    /// <summary>A random axis layout: runs with random bits and 0-2 slot or unit keys with strides 0 or 1.</summary>
    private static Gen<AxisLayout> Layouts(int maxRuns) =>
        from runs in Gen.Choose(1, maxRuns)
        from parts in Gen.ListOf(
            from length in Gen.Choose(1, 4)
            from bits in Gen.ArrayOf(Gen.Choose(0, 40)).Select(ids => FeatureSet.FromIds(ids.Take(3)))
            from keys in Gen.ListOf(
                from space in Gen.Choose(0, 2)
                from start in Gen.Choose(0, 30)
                from stride in Gen.Choose(0, 1)
                select new KeySeq(space, start, stride), 2).Select(k => k.Take(2).ToArray())
            select new Run(length, bits, keys), runs)
        select AxisLayout.FromRuns(parts.Take(runs));

    private static FeatureSet[] Expand(AxisLayout layout) => Enumerable.Range(0, (int)layout.Length).Select(i => layout.FeaturesAt(i)).ToArray();

    private static string[] ExpandKeys(AxisLayout layout) =>
        Enumerable.Range(0, (int)layout.Length).Select(i => string.Join(",", layout.KeysAt(i).OrderBy(k => k.Space).ThenBy(k => k.Key))).ToArray();

    [Fact]
    public void Slicing_a_layout_selects_the_same_indices()
    {
        Prop.ForAll(Layouts(5).ToArbitrary(), Gen.Choose(0, 20).ToArbitrary(), Gen.Choose(1, 3).ToArbitrary(), (layout, seed, step) =>
        {
            var rng = new Random(seed);
            var start = rng.Next((int)layout.Length);
            var count = 1 + rng.Next((int)((layout.Length - 1 - start) / step) + 1);
            var slice = layout.Slice(start, count, step);
            var expected = Enumerable.Range(0, count).Select(k => start + (k * step)).ToArray();
            return slice.Length == count
                && Expand(slice).SequenceEqual(expected.Select(i => layout.FeaturesAt(i)))
                && ExpandKeys(slice).SequenceEqual(expected.Select(i => ExpandKeys(layout)[i]))
                && layout.FeaturesOver(start, count, step).Equals(expected.Aggregate(FeatureSet.Empty, (s, i) => s.Union(layout.FeaturesAt(i))));
        }).Check(Config);
    }

    [Fact]
    public void Merging_layouts_unions_index_by_index()
    {
        var pairs = from a in Layouts(4)
                    from b in Layouts(4)
                    select (a, b);
        Prop.ForAll(pairs.ToArbitrary(), p =>
        {
            var (a, b) = p;
            var n = Math.Min(a.Length, b.Length);
            a = a.Slice(0, n);
            b = b.Slice(0, n);
            var merged = a.Merge(b);
            var keysMatch = Enumerable.Range(0, (int)n).All(i =>
                new HashSet<(int, long)>(merged.KeysAt(i)).SetEquals(a.KeysAt(i).Concat(b.KeysAt(i))));
            return Expand(merged).SequenceEqual(Expand(a).Zip(Expand(b), (x, y) => x.Union(y)))
                && keysMatch
                && merged.AllFeatures().Equals(a.AllFeatures().Union(b.AllFeatures()))
                && merged.Equals(AxisLayout.FromRuns(merged.Runs));
        }).Check(Config);
    }

    [Fact]
    public void Canonical_form_makes_equal_layouts_equal()
    {
        // Splitting a layout into pieces and concatenating them back gives an equal layout (same runs, same hash).
        Prop.ForAll(Layouts(5).ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(), (layout, seed) =>
        {
            var rng = new Random(seed);
            var cut = rng.Next(1, (int)layout.Length + 1);
            var pieces = cut == layout.Length ? new[] { layout } : new[] { layout.Slice(0, cut), layout.Slice(cut, layout.Length - cut) };
            var joined = AxisLayout.Concat(pieces);
            return joined.Equals(layout) && joined.GetHashCode() == layout.GetHashCode();
        }).Check(Config);
    }
}
