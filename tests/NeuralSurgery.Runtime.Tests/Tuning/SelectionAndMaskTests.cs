using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Runtime.Tests.Tuning;

public class SelectionAndMaskTests
{
    [Fact]
    public void Top_n_matches_a_sort_based_oracle_on_random_inputs_with_ties()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var rng = new Random(seed);
            var tensors = new List<KeyValuePair<string, float[]>>();
            var count = rng.Next(1, 5);
            for (var t = 0; t < count; t++)
            {
                var values = new float[rng.Next(0, 300)];
                for (var i = 0; i < values.Length; i++)
                {
                    // Few distinct values in most cases so that ties at the threshold are common; ±0 included.
                    values[i] = seed % 3 == 0 ? (float)(rng.NextDouble() * 2 - 1) * 1e3f : rng.Next(-3, 4) * (seed % 2 == 0 ? 0.5f : -0f + 1);
                    if (rng.Next(20) == 0)
                    {
                        values[i] = -0f;
                    }
                }

                tensors.Add(new("t" + t, values));
            }

            ParameterMask? among = null;
            if (seed % 4 == 1)
            {
                among = ParameterMask.Empty(tensors);
                foreach (var (name, values) in tensors)
                {
                    for (var i = 0; i < values.Length; i++)
                    {
                        among[name, i] = rng.Next(3) != 0;
                    }
                }
            }

            var candidates = tensors.SelectMany((kv, t) => kv.Value.Select((v, i) => (v, t, i))).Where(x => among is null || among[tensors[x.t].Key, x.i]).ToList();
            var n = rng.Next(0, candidates.Count + 1);
            foreach (var order in new[] { SelectionOrder.LargestMagnitude, SelectionOrder.Largest, SelectionOrder.Smallest })
            {
                Func<float, double> key = order switch
                {
                    SelectionOrder.LargestMagnitude => v => -Math.Abs(v),
                    SelectionOrder.Largest => v => -v,
                    _ => v => v,
                };
                var expected = candidates.OrderBy(x => key(x.v)).ThenBy(x => x.t).ThenBy(x => x.i).Take(n).Select(x => (x.t, x.i)).ToHashSet();
                var mask = TopN.Select(tensors, n, order, among);
                Assert.Equal(n, mask.Count());
                var actual = tensors.SelectMany((kv, t) => mask.Indices(kv.Key).Select(i => (t, (int)i))).ToHashSet();
                Assert.True(expected.SetEquals(actual), $"seed {seed}, {order}, n {n}");
            }
        }
    }

    [Fact]
    public void Top_n_refuses_nan_and_too_large_n_naming_the_tensor()
    {
        var tensors = new List<KeyValuePair<string, float[]>> { new("fc.weight", [1, float.NaN, 2]) };
        var nan = Assert.Throws<ArgumentException>(() => TopN.Select(tensors, 1));
        Assert.Contains("fc.weight", nan.Message);
        Assert.Contains("element 1", nan.Message);
        var ok = new List<KeyValuePair<string, float[]>> { new("a", [1, 2]) };
        var big = Assert.Throws<ArgumentOutOfRangeException>(() => TopN.Select(ok, 3));
        Assert.Contains("2 compete", big.Message);
    }

    [Fact]
    public void Top_n_on_several_million_values_selects_exactly_n()
    {
        var rng = new Random(1);
        var values = new float[3_000_000];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = rng.Next(1000) / 10f;
        }

        var tensors = new List<KeyValuePair<string, float[]>> { new("a", values), new("b", values[..1000]) };
        var mask = TopN.Select(tensors, 12_345);
        Assert.Equal(12_345, mask.Count());
        var threshold = mask.Indices("a").Min(i => values[i]);
        // Ties at the threshold go to the earlier tensor: b contributes only values strictly above it.
        Assert.All(mask.Indices("b"), i => Assert.True(values[i] > threshold));
        Assert.True(values.Count(v => v > threshold) + values.Take(1000).Count(v => v > threshold) < 12_345);
    }

    [Fact]
    public void Mask_set_algebra_and_counts()
    {
        var lengths = new List<KeyValuePair<string, long>> { new("a", 70), new("b", 5) };
        var x = new ParameterMask(lengths);
        var y = new ParameterMask(lengths);
        x.SetRange("a", 3, 66, true);
        y.SetRange("a", 60, 10, true);
        y["b", 4] = true;
        Assert.Equal(66, x.Count());
        Assert.Equal(68, ParameterMask.Union(x, y).Count());
        Assert.Equal(9, ParameterMask.Intersection(x, y).Count());
        Assert.Equal(75 - 66, x.Clone().Invert().Count());
        var other = new ParameterMask([new("a", 70), new("c", 5)]);
        var e = Assert.Throws<ArgumentException>(() => x.UnionWith(other));
        Assert.Contains("'b'", e.Message);
    }

    [Fact]
    public void Masking_zeroes_gradients_and_restores_frozen_weights()
    {
        var mask = new ParameterMask([new("w", 130)]);
        mask.SetRange("w", 64, 3, true);
        mask["w", 129] = true;
        var grad = Enumerable.Repeat(1f, 130).ToArray();
        mask.MaskGradient("w", grad);
        Assert.Equal(new long[] { 64, 65, 66, 129 }, Enumerable.Range(0, 130).Where(i => grad[i] != 0).Select(i => (long)i));
        var weights = Enumerable.Repeat(5f, 130).ToArray();
        var initial = new float[130];
        mask.RestoreFrozen("w", weights, initial);
        Assert.Equal(4, weights.Count(v => v == 5));
    }

    [Fact]
    public void A_feature_mask_holds_exactly_the_elements_the_interaction_map_ties_to_that_feature()
    {
        var b = new GraphBuilder("m");
        var h = b.Relu(b.Linear("fc1", b.FeatureInput("x", Dim.Batch, 4), 3));
        var graph = b.Output("y", b.Linear("fc2", h, 2)).Build();
        var map = StructuredTracer.Trace(graph, FeatureSpace.FromGraph(graph));
        var template = new ParameterMask(graph.Parameters.Select(p => new KeyValuePair<string, long>(p.Name, p.Shape.Dims.Aggregate(1L, (a, d) => a * d.Value))));
        var mask = MaskSources.FromFeatures(template, map, "x", "f2");

        // fc1.weight is [3, 4]: column 2 only. fc1.bias and fc2 see every feature through the hidden units, so
        // they interact with f2 too (paper 001 section 2.3.2), but columns 0, 1, 3 of fc1.weight do not.
        Assert.Equal(new long[] { 2, 6, 10 }, mask.Indices("fc1.weight"));
        Assert.Equal(map.InteractionsOf("x", "f2").Sum(i => i.Elements), mask.Count());
    }
}
