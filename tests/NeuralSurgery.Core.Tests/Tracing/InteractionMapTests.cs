using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Tracing;

public class InteractionMapTests
{
    /// <summary>Paper 001 Figure 4: two groups encoded apart, concatenated, then one deep matrix (box A).</summary>
    private static (InteractionMap Map, FeatureSchema Schema) Figure4()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(
            "model: Fig4\nversion: 1\ninputs:\n  input1:\n    features: [a, b]\n  input2:\n    features: [c, d, e]\n  unused:\n    features: [u]\noutputs:\n  out:\n    features: [y1, y2]\n",
            "fig4.features.yaml");
        var b = new GraphBuilder("Fig4");
        var x1 = b.FeatureInput("input1", Dim.Batch, 2);
        var x2 = b.FeatureInput("input2", Dim.Batch, 3);
        b.FeatureInput("unused", Dim.Batch, 1);
        var h = b.Concat(1, b.Relu(b.Linear("fc1", x1, 2)), b.Relu(b.Linear("fc2", x2, 3)));
        b.Output("out", b.Linear("deep", h, 2));
        var graph = b.Build();
        return (StructuredTracer.Trace(graph, FeatureSpace.Bind(graph, schema)), schema);
    }

    [Fact]
    public void Deep_weight_columns_know_which_group_and_unit_feed_them()
    {
        var (map, _) = Figure4();
        var deep = map["deep.weight"];
        var a = map.Features.FeatureSlots("input1", "a")!.Value.Start;
        var c = map.Features.FeatureSlots("input2", "c")!.Value.Start;
        // Columns 0-1 come from fc1 (group 1), 2-4 from fc2 (group 2).
        Assert.Equal(FeatureSet.Range(a, 2), map.FeaturesAt("deep.weight", 1, 0));
        Assert.Equal(FeatureSet.Range(c, 3), map.FeaturesAt("deep.weight", 0, 4));
        var fc1 = map.KeySpaces.Single(s => s.Name == "fc1").Id;
        var fc2 = map.KeySpaces.Single(s => s.Name == "fc2").Id;
        Assert.True(deep.Blocks.Count == 1, deep.ToString());
        var columnKeys = Enumerable.Range(0, 5).Select(i => deep.Blocks.Single().Axes[1].KeysAt(i).Single()).ToArray();
        Assert.Equal(new[] { (fc1, 0L), (fc1, 1L), (fc2, 0L), (fc2, 1L), (fc2, 2L) }, columnKeys);
    }

    [Fact]
    public void Queries_name_parameters_elements_and_features()
    {
        var (map, _) = Figure4();
        Assert.Equal(FeatureSet.Range(map.Features.FeatureSlots("input1", "a")!.Value.Start, 2), map.FeaturesOf("fc1.weight"));
        var b = map.InteractionsOf("input1", "b");
        var fc1 = b.Single(i => i.Parameter == "fc1.weight");
        Assert.Equal(2, fc1.Elements);
        Assert.Equal("[0:2, 1]", Assert.Single(fc1.Regions).ToString());
        Assert.Equal(new[] { "deep.bias", "deep.weight", "fc1.bias", "fc1.weight" }, b.Select(i => i.Parameter).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(4, b.Single(i => i.Parameter == "deep.weight").Elements);
        Assert.Equal("unused.u", Assert.Single(map.UnmappedFeatures()).ToString());
    }

    [Fact]
    public void Unknown_parameters_and_features_are_refused_by_name()
    {
        var (map, _) = Figure4();
        Assert.Equal("'fc9.weight' is not a parameter or buffer of model 'Fig4' (Parameter 'parameter')", Assert.Throws<ArgumentException>(() => map.FeaturesOf("fc9.weight")).Message);
        Assert.Equal("input 'input1' has no feature 'z' (Parameter 'feature')", Assert.Throws<ArgumentException>(() => map.InteractionsOf("input1", "z")).Message);
    }

    [Fact]
    public void Interaction_counts_and_regions_match_the_reference_tracer()
    {
        for (var seed = 0; seed < 150; seed++)
        {
            var graph = RandomGraphs.Generate(seed);
            var space = FeatureSpace.FromGraph(graph);
            var reference = ReferenceTracer.Trace(graph, space);
            var map = StructuredTracer.Trace(graph, space);
            var expectedPairs = graph.Parameters.Sum(p => reference.Parameters[p.Name].Sum(s => (long)s.Count));
            Assert.True(expectedPairs == map.InteractionCount(), $"seed {seed}: {map.InteractionCount()} interactions, reference {expectedPairs}");
            foreach (var slot in space.Slots)
            {
                var found = map.InteractionsOf(slot.Id).ToDictionary(i => i.Parameter);
                foreach (var p in graph.Parameters)
                {
                    var sets = reference.Parameters[p.Name];
                    var expected = Enumerable.Range(0, sets.Length).Where(e => sets[e].Contains(slot.Id)).ToHashSet();
                    var covered = new List<long>();
                    if (found.TryGetValue(p.Name, out var hit))
                    {
                        Assert.Equal(hit.Regions.Sum(r => r.Count), hit.Elements);
                        covered.AddRange(hit.Regions.SelectMany(r => Offsets(r, p.Shape.Dims.Select(d => d.Value).ToArray())));
                    }

                    Assert.True(covered.Count == covered.Distinct().Count(), $"seed {seed}: regions of '{p.Name}' for slot {slot} overlap");
                    Assert.True(expected.SetEquals(covered.Select(c => (int)c)), $"seed {seed}: '{p.Name}' elements with slot {slot} differ from the reference");
                }
            }

            var unmapped = map.UnmappedFeatures().Select(s => s.Id).ToHashSet();
            var seen = graph.Parameters.SelectMany(p => reference.Parameters[p.Name]).Aggregate(FeatureSet.Empty, (a, s) => a.Union(s));
            Assert.True(space.Slots.All(s => unmapped.Contains(s.Id) == !seen.Contains(s.Id)), $"seed {seed}: unmapped features differ");
        }
    }

    private static IEnumerable<long> Offsets(ElementRegion r, long[] shape)
    {
        var index = new long[shape.Length];
        for (long e = 0; e < r.Count; e++)
        {
            var rem = e;
            for (var a = shape.Length - 1; a >= 0; a--)
            {
                index[a] = r.Start[a] + (rem % r.Size[a]);
                rem /= r.Size[a];
            }

            long offset = 0;
            for (var a = 0; a < shape.Length; a++)
            {
                offset = (offset * shape[a]) + index[a];
            }

            yield return offset;
        }
    }
}
