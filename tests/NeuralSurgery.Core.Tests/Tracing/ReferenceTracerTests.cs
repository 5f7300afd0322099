using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Tracing;

public class ReferenceTracerTests
{
    private static readonly Dim B = Dim.Batch;
    private static readonly Dim T = Dim.Symbol("T");

    private static FeatureSet S(params int[] ids) => FeatureSet.Of(ids);

    private static FeatureSet Upto(int count) => FeatureSet.Range(0, count);

    private static ReferenceTrace Trace(ModelGraph graph, TraceOptions? options = null) =>
        ReferenceTracer.Trace(graph, FeatureSpace.FromGraph(graph), options);

    private static TraceOptions Steps(long steps) =>
        new() { SymbolSizes = new Dictionary<string, long> { ["T"] = steps } };

    /// <summary>Asserts every element of a parameter equals the expected set for its full index.</summary>
    private static void AssertParameter(ReferenceTrace trace, ModelGraph graph, string name, System.Func<long[], FeatureSet> expected)
    {
        var shape = graph.FindParameter(name)!.Shape.Evaluate(_ => 0);
        var elements = trace.Parameters[name];
        Assert.Equal(shape.Aggregate(1L, (a, d) => a * d), elements.Length);
        for (var o = 0; o < elements.Length; o++)
        {
            var index = ReferenceIndex.Unravel(o, shape);
            Assert.True(expected(index).Equals(elements[o]), $"{name}[{string.Join(", ", index)}]: expected {expected(index)}, got {elements[o]}");
        }
    }

    /// <summary>Asserts a value's shape and every element.</summary>
    private static void AssertValue(ReferenceTrace trace, GraphValue value, long[] shape, System.Func<long[], FeatureSet> expected)
    {
        var v = trace.Values[value.Ref];
        Assert.Equal(shape, v.Shape);
        Assert.Equal(shape.Aggregate(1L, (a, d) => a * d), v.Elements.Length);
        for (var o = 0; o < v.Elements.Length; o++)
        {
            var index = ReferenceIndex.Unravel(o, shape);
            Assert.True(expected(index).Equals(v.Elements[o]), $"{value.Ref}[{string.Join(", ", index)}]: expected {expected(index)}, got {v.Elements[o]}");
        }
    }

    [Fact]
    public void Linear_weight_columns_see_their_slot_and_the_bias_sees_all_slots()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 3);
        var y = g.Linear("fc", x, 2);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        AssertValue(trace, x, [2, 3], i => S((int)i[1]));
        AssertParameter(trace, graph, "fc.weight", i => S((int)i[1]));
        AssertParameter(trace, graph, "fc.bias", _ => Upto(3));
        AssertValue(trace, y, [2, 2], _ => Upto(3));
        Assert.Equal(2, trace.Parameters.Count);
    }

    [Fact]
    public void Concat_of_two_branches_gives_the_deep_weight_column_blocks_of_each_group()
    {
        // Paper 001 Figure 4 box A: two feature groups through separate Linears, concatenated, then a Linear.
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 2);
        var b = g.FeatureInput("b", B, 3);
        var fa = g.Relu(g.Linear("fa", a, 2));
        var fb = g.Relu(g.Linear("fb", b, 2));
        var cat = g.Concat(-1, fa, fb);
        var deep = g.Linear("deep", cat, 1);
        var graph = g.Output("y", deep).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "fa.weight", i => S((int)i[1]));
        AssertParameter(trace, graph, "fb.weight", i => S(2 + (int)i[1]));
        AssertValue(trace, cat, [2, 4], i => i[1] < 2 ? S(0, 1) : S(2, 3, 4));
        AssertParameter(trace, graph, "deep.weight", i => i[1] < 2 ? S(0, 1) : S(2, 3, 4));
        AssertParameter(trace, graph, "deep.bias", _ => Upto(5));
    }

    [Fact]
    public void Embedding_row_v_sees_value_v_and_the_output_sees_the_vocabulary()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 2);
        var c = g.CategoricalInput("c", B);
        var e = g.Embedding("emb", c, 5, 3);
        var y = g.Linear("fc", g.Concat(-1, x, e), 1);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        // The categorical input is stored as its one-hot view [B, V]; its slots follow x's.
        AssertValue(trace, c, [2, 5], i => S(2 + (int)i[1]));
        AssertParameter(trace, graph, "emb.weight", i => S(2 + (int)i[0]));
        AssertValue(trace, e, [2, 3], _ => FeatureSet.Range(2, 5));
        AssertParameter(trace, graph, "fc.weight", i => i[1] < 2 ? S((int)i[1]) : FeatureSet.Range(2, 5));
    }

    [Fact]
    public void Mul_of_two_inputs_is_the_union_with_broadcasting()
    {
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 2);
        var b = g.FeatureInput("b", B, 2);
        var s = g.FeatureInput("s", B, 1);
        var m = g.Mul(a, b);
        var k = g.Sub(m, s);
        var y = g.Linear("fc", k, 1);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        AssertValue(trace, m, [2, 2], i => S((int)i[1], 2 + (int)i[1]));
        AssertValue(trace, k, [2, 2], i => S((int)i[1], 2 + (int)i[1], 4));
        AssertParameter(trace, graph, "fc.weight", i => S((int)i[1], 2 + (int)i[1], 4));
    }

    [Fact]
    public void Max_over_a_set_axis_keeps_the_feature_axis_and_sum_over_the_feature_axis_mixes_it()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, Dim.Symbol("N"), 3);
        var h = g.Linear("enc", x, 2);
        var pooled = g.Max(x, 1);
        var kept = g.Max(x, 1, keepDim: true);
        var summed = g.Sum(x, 2);
        var encodedPool = g.Mean(h, 1);
        var graph = g.Output("y", pooled).Output("e", encodedPool).Output("k", kept).Output("s", summed).Build();
        var options = new TraceOptions { SymbolSizes = new Dictionary<string, long> { ["N"] = 3 } };
        var trace = Trace(graph, options);

        AssertValue(trace, x, [2, 3, 3], i => S((int)i[2]));
        AssertValue(trace, pooled, [2, 3], i => S((int)i[1]));
        AssertValue(trace, kept, [2, 1, 3], i => S((int)i[2]));
        AssertValue(trace, summed, [2, 3], _ => Upto(3));
        AssertValue(trace, encodedPool, [2, 2], _ => Upto(3));
    }

    [Fact]
    public void Softmax_unions_along_its_axis_only()
    {
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 3);
        var b = g.FeatureInput("b", B, 3);
        var st = g.Stack(1, a, b);
        var sm = g.Softmax(st, 1);
        var graph = g.Output("y", sm).Build();
        var trace = Trace(graph);

        AssertValue(trace, st, [2, 2, 3], i => S((int)((i[1] * 3) + i[2])));
        AssertValue(trace, sm, [2, 2, 3], i => S((int)i[2], 3 + (int)i[2]));
    }

    [Fact]
    public void Conv1d_with_padding_gives_edge_taps_fewer_positions()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 2, 4); // slots along the length axis
        var y = g.Conv1d("conv", x, 1, 3, padding: 1);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "conv.weight", i => i[2] switch
        {
            0 => S(0, 1, 2),
            1 => S(0, 1, 2, 3),
            _ => S(1, 2, 3),
        });
        AssertParameter(trace, graph, "conv.bias", _ => Upto(4));
        AssertValue(trace, y, [2, 1, 4], i => FeatureSet.Range(System.Math.Max(0, i[2] - 1), System.Math.Min(3, i[2] + 1) - System.Math.Max(0, i[2] - 1) + 1));
    }

    [Fact]
    public void Conv1d_groups_read_only_their_channels()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 3, 4); // [B, L, C]: channel c is slot c
        var t = g.Transpose(x, 1, 2);
        var y = g.Conv1d("conv", t, 2, 1, groups: 2, bias: false);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        AssertValue(trace, t, [2, 4, 3], i => S((int)i[1]));
        AssertParameter(trace, graph, "conv.weight", i => S((int)((i[0] * 2) + i[1])));
        AssertValue(trace, y, [2, 2, 3], i => i[1] == 0 ? S(0, 1) : S(2, 3));
        Assert.Null(graph.FindParameter("conv.bias"));
    }

    [Fact]
    public void Conv1d_unbatched_with_stride_and_dilation()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", 1, 5);
        var y = g.Conv1d("conv", x, 1, 2, stride: 2, dilation: 2);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        // l = 2t + 2k: t = 0 reads {0, 2}, t = 1 reads {2, 4}.
        AssertValue(trace, y, [1, 2], i => i[1] == 0 ? S(0, 2) : S(2, 4));
        AssertParameter(trace, graph, "conv.weight", i => i[2] == 0 ? S(0, 2) : S(2, 4));
        AssertParameter(trace, graph, "conv.bias", _ => S(0, 2, 4));
    }

    [Fact]
    public void Lstm_with_one_step_and_no_state_leaves_w_hh_empty()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", T, B, 3);
        var (output, h, c) = g.Lstm("lstm", x, 2);
        var graph = g.Output("y", output).StateOutput("h", h).StateOutput("c", c).Build();
        var trace = Trace(graph, Steps(1));

        AssertParameter(trace, graph, "lstm.weight_ih_l0", i => S((int)i[1]));
        AssertParameter(trace, graph, "lstm.weight_hh_l0", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "lstm.bias_ih_l0", _ => Upto(3));
        AssertParameter(trace, graph, "lstm.bias_hh_l0", _ => Upto(3));
        AssertValue(trace, output, [1, 2, 2], _ => Upto(3));
        AssertValue(trace, h, [1, 2, 2], _ => Upto(3));
        AssertValue(trace, c, [1, 2, 2], _ => Upto(3));
    }

    [Fact]
    public void Lstm_with_two_steps_gives_w_hh_every_feature()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", T, B, 3);
        var (output, _, _) = g.Lstm("lstm", x, 2);
        var graph = g.Output("y", output).Build();
        var trace = Trace(graph, Steps(2));

        AssertParameter(trace, graph, "lstm.weight_hh_l0", _ => Upto(3));
        AssertParameter(trace, graph, "lstm.weight_ih_l0", i => S((int)i[1]));
        AssertValue(trace, output, [2, 2, 2], _ => Upto(3));
    }

    [Fact]
    public void Recurrent_steps_run_forward_and_in_reverse_with_batch_first()
    {
        // Step 0 carries {0, 1}, step 1 carries {2, 3}: the direction of the recurrence is visible.
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 2);
        var b = g.FeatureInput("b", B, 2);
        var seq = g.Stack(1, a, b); // [B, T=2, 2]
        var (output, h, c) = g.Lstm("lstm", seq, 1, batchFirst: true, bidirectional: true);
        var graph = g.Output("y", output).StateOutput("h", h).StateOutput("c", c).Build();
        var trace = Trace(graph);

        AssertValue(trace, output, [2, 2, 2], i => (i[1], i[2]) switch
        {
            (0, 0) => S(0, 1),
            (1, 1) => S(2, 3),
            _ => Upto(4),
        });
        AssertValue(trace, h, [2, 2, 1], _ => Upto(4));
        AssertValue(trace, c, [2, 2, 1], _ => Upto(4));
        AssertParameter(trace, graph, "lstm.weight_ih_l0", i => S((int)i[1], 2 + (int)i[1]));
        AssertParameter(trace, graph, "lstm.weight_ih_l0_reverse", i => S((int)i[1], 2 + (int)i[1]));
        AssertParameter(trace, graph, "lstm.weight_hh_l0", _ => S(0, 1));
        AssertParameter(trace, graph, "lstm.weight_hh_l0_reverse", _ => S(2, 3));
        AssertParameter(trace, graph, "lstm.bias_hh_l0", _ => Upto(4));
    }

    [Fact]
    public void Unbatched_lstm_reads_time_then_features()
    {
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", 2);
        var b = g.FeatureInput("b", 2);
        var seq = g.Stack(0, a, b); // [T=2, 2]
        var (output, h, c) = g.Lstm("lstm", seq, 1);
        var graph = g.Output("y", output).StateOutput("h", h).StateOutput("c", c).Build();
        var trace = Trace(graph);

        AssertValue(trace, output, [2, 1], i => i[0] == 0 ? S(0, 1) : Upto(4));
        AssertValue(trace, h, [1, 1], _ => Upto(4));
        AssertParameter(trace, graph, "lstm.weight_hh_l0", _ => S(0, 1));
    }

    [Fact]
    public void Gru_reads_its_initial_state_and_a_state_input_contributes_nothing()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", T, B, 2);
        var h0 = g.FeatureInput("h0", 1, B, 3); // an initial state carrying features: slots 2..4
        var (output, hn) = g.Gru("gru", x, 3, h0: h0);
        var s0 = g.StateInput("s0", 1, B, 3);
        var (output2, hn2) = g.Gru("gru2", x, 3, h0: s0);
        var graph = g.Output("y", output).StateOutput("h", hn).Output("y2", output2).StateOutput("h2", hn2).Build();
        var trace = Trace(graph, Steps(1));

        AssertParameter(trace, graph, "gru.weight_ih_l0", i => S((int)i[1]));
        AssertParameter(trace, graph, "gru.weight_hh_l0", i => S(2 + (int)i[1]));
        AssertParameter(trace, graph, "gru.bias_ih_l0", _ => Upto(5));
        AssertValue(trace, output, [1, 2, 3], _ => Upto(5));
        AssertValue(trace, hn, [1, 2, 3], _ => Upto(5));

        AssertValue(trace, s0, [1, 2, 3], _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "gru2.weight_hh_l0", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "gru2.bias_hh_l0", _ => Upto(2));
        AssertValue(trace, hn2, [1, 2, 3], _ => Upto(2));
    }

    [Fact]
    public void Lstm_cell_state_feeds_the_hidden_state()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", T, B, 2);
        var h0 = g.StateInput("h0", 1, B, 2);
        var c0 = g.FeatureInput("c0", 1, B, 2); // slots 2, 3
        var (output, h, c) = g.Lstm("lstm", x, 2, h0: h0, c0: c0);
        var graph = g.Output("y", output).StateOutput("h", h).StateOutput("c", c).Build();
        var trace = Trace(graph, Steps(2));

        // Step 0: G = {0, 1}; c[j] = G ∪ {2 + j}; h[j] = G ∪ c[j]. Step 1: G = {0, 1} ∪ h, so everything.
        AssertValue(trace, output, [2, 2, 2], i => i[0] == 0 ? S(0, 1, 2 + (int)i[2]) : Upto(4));
        AssertValue(trace, c, [1, 2, 2], _ => Upto(4));
        AssertParameter(trace, graph, "lstm.weight_hh_l0", i => S(0, 1, 2 + (int)i[1]));
        AssertParameter(trace, graph, "lstm.bias_ih_l0", _ => Upto(4));
    }

    [Fact]
    public void Bidirectional_two_layer_lstm_gives_every_deep_input_column_every_feature()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", T, B, 3);
        var (output, h, c) = g.Lstm("lstm", x, 2, numLayers: 2, bidirectional: true);
        var graph = g.Output("y", output).StateOutput("h", h).StateOutput("c", c).Build();
        var trace = Trace(graph, Steps(1));

        Assert.Equal(new long[] { 8, 4 }, graph.FindParameter("lstm.weight_ih_l1")!.Shape.Evaluate(_ => 0));
        AssertParameter(trace, graph, "lstm.weight_ih_l0", i => S((int)i[1]));
        AssertParameter(trace, graph, "lstm.weight_ih_l0_reverse", i => S((int)i[1]));
        AssertParameter(trace, graph, "lstm.weight_ih_l1", _ => Upto(3));
        AssertParameter(trace, graph, "lstm.weight_ih_l1_reverse", _ => Upto(3));
        AssertParameter(trace, graph, "lstm.weight_hh_l1", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "lstm.weight_hh_l1_reverse", _ => FeatureSet.Empty);
        AssertValue(trace, output, [1, 2, 4], _ => Upto(3));
        AssertValue(trace, h, [4, 2, 2], _ => Upto(3));
    }

    [Fact]
    public void Layer_norm_mixes_only_the_normalised_block()
    {
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 2);
        var b = g.FeatureInput("b", B, 2);
        var st = g.Stack(1, a, b); // [B, 2, 2]: row 0 {0, 1}, row 1 {2, 3}
        var ln = g.LayerNorm("ln", st);
        var ln2 = g.LayerNorm("ln2", st, 2, 2);
        var graph = g.Output("y", ln).Output("y2", ln2).Build();
        var trace = Trace(graph);

        AssertValue(trace, ln, [2, 2, 2], i => i[1] == 0 ? S(0, 1) : S(2, 3));
        AssertParameter(trace, graph, "ln.weight", _ => Upto(4));
        AssertParameter(trace, graph, "ln.bias", _ => Upto(4));
        AssertValue(trace, ln2, [2, 2, 2], _ => Upto(4));
        AssertParameter(trace, graph, "ln2.weight", _ => Upto(4));
    }

    [Fact]
    public void Layer_norm_of_a_state_sees_nothing()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 3);
        var s = g.StateInput("s", B, 3);
        var ln = g.LayerNorm("ln", s);
        var graph = g.Output("y", g.Add(ln, x)).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "ln.weight", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "ln.bias", _ => FeatureSet.Empty);
    }

    [Fact]
    public void Batch_norm_statistics_see_their_channel()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 3);
        var bn = g.BatchNorm1d("bn", x);
        var seq = g.FeatureInput("seq", B, 5, 4); // [B, L, C]
        var t = g.Transpose(seq, 1, 2);          // [B, C, L]: channel c is slot 3 + c
        var bn3 = g.BatchNorm1d("bn3", t);
        var graph = g.Output("y", bn).Output("y3", bn3).Build();
        var trace = Trace(graph);

        AssertValue(trace, bn, [2, 3], i => S((int)i[1]));
        foreach (var p in new[] { "weight", "bias", "running_mean", "running_var" })
        {
            AssertParameter(trace, graph, "bn." + p, i => S((int)i[0]));
            AssertParameter(trace, graph, "bn3." + p, i => S(3 + (int)i[0]));
        }

        AssertParameter(trace, graph, "bn.num_batches_tracked", _ => FeatureSet.Empty);
        Assert.Single(trace.Parameters["bn.num_batches_tracked"]);
        AssertValue(trace, bn3, [2, 4, 5], i => S(3 + (int)i[1]));
    }

    [Fact]
    public void Narrow_and_slice_pick_a_subset_of_slots()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 5);
        var n = g.Narrow(x, -1, 1, 3);
        var s = g.Slice(x, 1, null, null, 2);
        var s2 = g.Slice(x, 1, -2, null);
        var fn = g.Linear("fn", n, 1);
        var fs = g.Linear("fs", s, 1);
        var graph = g.Output("a", fn).Output("b", fs).Output("c", s2).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "fn.weight", i => S(1 + (int)i[1]));
        AssertParameter(trace, graph, "fn.bias", _ => S(1, 2, 3));
        AssertParameter(trace, graph, "fs.weight", i => S(2 * (int)i[1]));
        AssertParameter(trace, graph, "fs.bias", _ => S(0, 2, 4));
        AssertValue(trace, s2, [2, 2], i => S(3 + (int)i[1]));
    }

    [Fact]
    public void Reshape_transpose_and_flatten_move_slots_to_the_right_positions()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 6);
        var r = g.Reshape(x, B, 2, 3);      // r[b, p, q] = {3p + q}
        var t = g.Transpose(r, 1, 2);       // t[b, q, p] = {3p + q}
        var f = g.Flatten(t);               // f[b, 2q + p] = {3p + q}
        var u = g.Unsqueeze(f, 1);
        var sq = g.Squeeze(u, 1);
        var d = g.Dropout(g.Tanh(sq));
        var y = g.Linear("fc", d, 1);
        var graph = g.Output("y", y).Build();
        var trace = Trace(graph);

        AssertValue(trace, r, [2, 2, 3], i => S((int)((3 * i[1]) + i[2])));
        AssertValue(trace, t, [2, 3, 2], i => S((int)((3 * i[2]) + i[1])));
        var order = new[] { 0, 3, 1, 4, 2, 5 };
        AssertValue(trace, f, [2, 6], i => S(order[i[1]]));
        AssertValue(trace, u, [2, 1, 6], i => S(order[i[2]]));
        AssertValue(trace, d, [2, 6], i => S(order[i[1]]));
        AssertParameter(trace, graph, "fc.weight", i => S(order[i[1]]));
    }

    [Fact]
    public void A_state_input_contributes_nothing()
    {
        var g = new GraphBuilder("M");
        var x = g.FeatureInput("x", B, 3);
        var s = g.StateInput("s", B, 3);
        var fs = g.Linear("fs", s, 2);
        var y = g.Linear("fc", g.Add(x, s), 2);
        var graph = g.Output("y", y).Output("z", fs).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "fs.weight", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "fs.bias", _ => FeatureSet.Empty);
        AssertParameter(trace, graph, "fc.weight", i => S((int)i[1]));
        AssertValue(trace, fs, [2, 2], _ => FeatureSet.Empty);
    }

    [Fact]
    public void A_module_called_twice_accumulates_both_calls()
    {
        var g = new GraphBuilder("M");
        var a = g.FeatureInput("a", B, 2);
        var b = g.FeatureInput("b", B, 2);
        var ya = g.Linear("fc", a, 1);
        var yb = g.Linear("fc", b, 1);
        var graph = g.Output("ya", ya).Output("yb", yb).Build();
        var trace = Trace(graph);

        AssertParameter(trace, graph, "fc.weight", i => S((int)i[1], 2 + (int)i[1]));
        AssertParameter(trace, graph, "fc.bias", _ => Upto(4));
        Assert.Equal(S(0, 1), trace.Value(ya.Ref, 1, 0));
        Assert.Equal(S(2, 3), trace.Value(yb.Ref, 0, 0));
    }

    [Fact]
    public void What_cannot_be_evaluated_throws_a_graph_exception()
    {
        var g = new GraphBuilder("M");
        var x = g.StateInput("x", B, 2, Dim.Symbol("L"));
        var y = g.Conv1d("conv", x, 1, 5);
        var graph = g.Output("y", y).Build();

        // L = 2, given explicitly, instantiates the conv output length to -2; without options the trace takes the
        // smallest size that gives every shape positive dimensions (L = 5: one position).
        Assert.Throws<GraphException>(() => Trace(graph, new TraceOptions { DefaultSymbolSize = 2 }));
        Assert.Equal(new long[] { 5, 1, 1 }, Trace(graph).Values[y.Ref].Shape);
        var ok = Trace(graph, new TraceOptions { SymbolSizes = new Dictionary<string, long> { ["L"] = 6 } });
        Assert.Equal(new long[] { 2, 1, 2 }, ok.Values[y.Ref].Shape);
    }
}
