using System;
using System.Linq;
using NeuralSurgery.Graph;
using static NeuralSurgery.Tests.Graph.TestGraphs;

namespace NeuralSurgery.Tests.Graph;

public class ShapeInferenceTests
{
    private static Shape S(params Dim[] dims) => new(dims);

    private static GraphException Rejects(Action build) => Assert.Throws<GraphException>(build);

    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }

    // ------------------------------------------------------------ output shapes

    [Fact]
    public void Linear_replaces_the_last_axis_and_keeps_symbolic_leading_axes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        Assert.Equal(S(B, N, 7), b.Linear("fc", x, 7).Shape);
    }

    [Fact]
    public void Embedding_appends_the_embedding_axis()
    {
        var b = new GraphBuilder("M");
        var t = b.CategoricalInput("t", B, N);
        Assert.Equal(S(B, N, 5), b.Embedding("emb", t, 20, 5).Shape);
    }

    [Fact]
    public void Activations_dropout_and_softmax_keep_the_shape()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        foreach (var kind in Enum.GetValues(typeof(ActivationKind)).Cast<ActivationKind>())
        {
            Assert.Equal(x.Shape, b.Activation(x, kind).Shape);
        }

        Assert.Equal(x.Shape, b.Dropout(x, 0.3).Shape);
        Assert.Equal(x.Shape, b.Softmax(x, -1).Shape);
        Assert.Equal(x.Shape, b.Softmax(x, 1, log: true).Shape);
    }

    [Fact]
    public void Softmax_axis_is_stored_normalised()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        b.Output("y", b.Softmax(x, -1, log: true));
        var g = b.Build();
        Assert.Equal(new SoftmaxOp(2, true), g.Nodes[0].Op);
        Assert.Equal("log_softmax", g.Nodes[0].Op.Kind);
    }

    [Fact]
    public void Binary_ops_broadcast_like_pytorch()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        var bias = b.FeatureInput("bias", 4);
        var col = b.FeatureInput("col", B, 1, 4);
        Assert.Equal(S(B, N, 4), b.Add(x, bias).Shape);
        Assert.Equal(S(B, N, 4), b.Sub(col, x).Shape);
        Assert.Equal(S(B, N, 4), b.Mul(bias, x).Shape);
    }

    [Fact]
    public void Concat_along_symbolic_axes_sums_the_linear_forms()
    {
        var b = new GraphBuilder("M");
        var items = b.FeatureInput("items", B, N, 4);
        var others = b.FeatureInput("others", B, M, 4);
        var all = b.Concat(1, items, others, items);
        Assert.Equal(S(B, M + (N * 2), 4), all.Shape);
        Assert.Equal("M+2*N", all.Shape[1].ToString());
        Assert.Equal(S(B, N, 8), b.Concat(-1, items, items).Shape);
    }

    [Fact]
    public void Stack_inserts_an_axis_of_the_operand_count()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        Assert.Equal(S(3, B, 4), b.Stack(0, x, x, x).Shape);
        Assert.Equal(S(B, 2, 4), b.Stack(1, x, x).Shape);
        Assert.Equal(S(B, 4, 2), b.Stack(-1, x, x).Shape);
    }

    [Fact]
    public void Reductions_drop_or_keep_the_axis()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        Assert.Equal(S(B, 4), b.Max(x, 1).Shape);
        Assert.Equal(S(B, 1, 4), b.Mean(x, 1, keepDim: true).Shape);
        Assert.Equal(S(B, N), b.Sum(x, -1).Shape);
    }

    [Fact]
    public void Flatten_with_a_constant_factor_scales_the_symbol()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 2, 3);
        Assert.Equal(S(B, N * 6), b.Flatten(x).Shape);
        Assert.Equal(S(B, N, 6), b.Flatten(x, 2, 3).Shape);
        Assert.Equal("6*N", b.Flatten(x).Shape[1].ToString());
    }

    [Fact]
    public void Reshape_infers_minus_one_with_constants_and_symbols()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 12);
        Assert.Equal(S(B, 3, 4), b.Reshape(x, B, 3, -1).Shape);
        Assert.Equal(S(B, 2, 2, 3), b.Reshape(x, B, 2, -1, 3).Shape);

        var items = b.FeatureInput("items", B, N, 4);
        var wide = b.Reshape(items, B, -1);
        Assert.Equal(S(B, N * 4), wide.Shape);
        Assert.Equal(S(B, N, 4), b.Reshape(wide, B, N, -1).Shape);
        Assert.Equal(S(B, N * 2, 2), b.Reshape(wide, B, -1, 2).Shape);
        Assert.Equal(S(B, N, 2, 2), b.Reshape(items, B, N, 2, 2).Shape);
    }

    [Fact]
    public void Unsqueeze_and_squeeze_insert_and_remove_a_unit_axis()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        var u = b.Unsqueeze(x, 1);
        Assert.Equal(S(B, 1, 4), u.Shape);
        Assert.Equal(S(B, 4, 1), b.Unsqueeze(x, -1).Shape);
        Assert.Equal(S(B, 4), b.Squeeze(u, 1).Shape);
    }

    [Fact]
    public void Narrow_and_slice_with_step()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 10);
        Assert.Equal(S(B, 3), b.Narrow(x, 1, 2, 3).Shape);
        Assert.Equal(S(B, 2), b.Narrow(x, 1, -2, 2).Shape);
        Assert.Equal(S(B, 4), b.Slice(x, 1, 1, 9, 2).Shape);   // 1, 3, 5, 7
        Assert.Equal(S(B, 4), b.Slice(x, 1, 0, 10, 3).Shape);  // 0, 3, 6, 9
        Assert.Equal(S(B, 3), b.Slice(x, -1, -3, null).Shape); // 7, 8, 9
        Assert.Equal(S(B, 10), b.Slice(x, 1, null, 100).Shape); // clamped like Python
    }

    [Fact]
    public void Slice_is_stored_normalised()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 10);
        b.Output("y", b.Slice(x, -1, -8, -1, 2));
        Assert.Equal(new SliceOp(1, 2, 9, 2), b.Build().Nodes[0].Op);
        Assert.Equal(4, ShapeInference.SliceLength(new SliceOp(1, 2, 9, 2)));
    }

    [Fact]
    public void Transpose_swaps_two_axes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        Assert.Equal(S(B, 4, N), b.Transpose(x, 1, 2).Shape);
        Assert.Equal(S(N, B, 4), b.Transpose(x, 0, -2).Shape);
    }

    [Theory]
    [InlineData(10, 3, 1, 0, 1, 8)]
    [InlineData(10, 3, 2, 1, 1, 5)]
    [InlineData(10, 3, 1, 0, 2, 6)]
    [InlineData(11, 5, 3, 2, 2, 3)]
    [InlineData(7, 7, 1, 0, 1, 1)]
    public void Conv1d_output_length_follows_torch(long length, long kernel, long stride, long padding, long dilation, long expected)
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4, length);
        var y = b.Conv1d("conv", x, 6, kernel, stride, padding, dilation);
        Assert.Equal(S(B, 6, expected), y.Shape);

        // floor((L + 2p - d(k-1) - 1) / s) + 1
        Assert.Equal(((length + (2 * padding) - (dilation * (kernel - 1)) - 1) / stride) + 1, expected);
    }

    [Fact]
    public void Conv1d_with_groups_and_a_symbolic_length()
    {
        var b = new GraphBuilder("M");
        var x = b.Transpose(b.FeatureInput("x", B, N, 6), 1, 2);
        var y = b.Conv1d("conv", x, 9, 3, padding: 2, groups: 3);
        Assert.Equal(S(B, 9, N + 2), y.Shape);
        var g = b.Build();
        Assert.Equal(Shape.Of(9, 2, 3), g.FindParameter("conv.weight")!.Shape);

        var unbatched = new GraphBuilder("U");
        var u = unbatched.FeatureInput("u", 4, 10);
        Assert.Equal(S(2, 8), unbatched.Conv1d("conv", u, 2, 3).Shape);
    }

    [Fact]
    public void Lstm_tuple_shapes_sequence_first_and_batch_first()
    {
        var b = new GraphBuilder("M");
        var seqFirst = b.FeatureInput("s", 7, B, 4);
        var (o, h, c) = b.Lstm("lstm", seqFirst, 5, numLayers: 2);
        Assert.Equal(S(7, B, 5), o.Shape);
        Assert.Equal(S(2, B, 5), h.Shape);
        Assert.Equal(S(2, B, 5), c.Shape);

        var batchFirst = b.FeatureInput("bf", B, N, 4);
        var (o2, h2, c2) = b.Lstm("lstm2", batchFirst, 5, batchFirst: true, bidirectional: true);
        Assert.Equal(S(B, N, 10), o2.Shape);
        Assert.Equal(S(2, B, 5), h2.Shape);
        Assert.Equal(S(2, B, 5), c2.Shape);
        Assert.Equal(new[] { "lstm2", "lstm2:1", "lstm2:2" }, new[] { o2.Ref.ToString(), h2.Ref.ToString(), c2.Ref.ToString() });
    }

    [Fact]
    public void Gru_tuple_shapes_bidirectional_and_unbatched()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", N, B, 4);
        var (o, h) = b.Gru("gru", x, 6, numLayers: 3, bidirectional: true);
        Assert.Equal(S(N, B, 12), o.Shape);
        Assert.Equal(S(6, B, 6), h.Shape);

        var u = b.FeatureInput("u", N, 4);
        var (uo, uh) = b.Gru("gru2", u, 6, numLayers: 2);
        Assert.Equal(S(N, 6), uo.Shape);
        Assert.Equal(S(2, 6), uh.Shape);

        var h0 = b.StateInput("h0", 2, 6);
        var (_, uh2) = b.Gru("gru2", u, 6, numLayers: 2, h0: h0);
        Assert.Equal(S(2, 6), uh2.Shape);
    }

    [Fact]
    public void Lstm_with_initial_states_checks_and_passes_them()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        var h0 = b.StateInput("h0", 2, B, 5);
        var c0 = b.StateInput("c0", 2, B, 5);
        var (o, h, _) = b.Lstm("lstm", x, 5, batchFirst: true, bidirectional: true, h0: h0, c0: c0);
        Assert.Equal(S(B, N, 10), o.Shape);
        Assert.Equal(h0.Shape, h.Shape);
    }

    [Fact]
    public void LayerNorm_and_BatchNorm1d_keep_the_shape()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 3, 4);
        Assert.Equal(x.Shape, b.LayerNorm("ln", x, 3, 4).Shape);
        Assert.Equal(x.Shape, b.LayerNorm("ln2", x).Shape);
        var c = b.Transpose(b.FeatureInput("c", B, N, 6), 1, 2);
        Assert.Equal(c.Shape, b.BatchNorm1d("bn", c).Shape);
        var f = b.FeatureInput("f", B, 6);
        Assert.Equal(f.Shape, b.BatchNorm1d("bn", f).Shape);
    }

    [Fact]
    public void Every_node_of_the_everything_graph_has_its_expected_shape()
    {
        var g = Everything();
        Shape Of(string id, int index = 0) => g.ShapeOf(new ValueRef(id, index));
        Assert.Equal(S(B, 10, 8), Of("emb"));
        Assert.Equal(S(B, 10, 12), Of("lstm"));
        Assert.Equal(S(1, B, 12), Of("lstm", 2));
        Assert.Equal(S(B, 10, 12), Of("gru"));
        Assert.Equal(S(4, B, 6), Of("gru", 1));
        Assert.Equal(S(B, 6, 5), Of("conv"));
        Assert.Equal(S(B, 30), Of("ln"));
        Assert.Equal(S(B, M + N, 4), Of("cat"));
        Assert.Equal(S(B, N * 4), Of("reshape"));
        Assert.Equal(S(B, 4, 4), Of("reshape_2"));
        Assert.Equal(S(B, 3, 4), Of("stack"));
        Assert.Equal(S(B, 19), Of("cat_1"));
        Assert.Equal(S(B, 3), Of("softmax"));
        Assert.Equal(S(B, 4, 2, 4), Of("conv2d"));
        Assert.Equal(S(B, 4, 3, 3), Of("max_pool2d"));
        Assert.Equal(S(B, 4, 2, 1), Of("adaptive_avg_pool2d"));
        Assert.Equal(S(B, 4, 3), Of("avg_pool1d"));
        Assert.Equal(S(B, 4, 2), Of("adaptive_max_pool1d"));
    }

    // ------------------------------------------------------------ rejections

    [Fact]
    public void Linear_width_mismatch_names_node_operand_and_shapes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        b.Module("fc", new LinearSpec(5, 3));
        var e = Rejects(() => b.Call("fc", x));
        Mentions(e, "node 'fc'", "Linear 'fc'", "operand 'x'", "[B, 4]", "last dimension 5 (in_features)");
    }

    [Fact]
    public void Linear_width_mismatch_in_create_names_the_node()
    {
        var nodes = new[]
        {
            new GraphNode("fc", new CallOp("fc"), new[] { new ValueRef("x") }, default),
        };
        var e = Rejects(() => ModelGraph.Create(
            "M",
            new[] { new GraphInput("x", S(B, 4), InputRole.Features, "x") },
            new[] { new GraphModule("fc", new LinearSpec(6, 3)) },
            nodes,
            Array.Empty<GraphOutput>()));
        Mentions(e, "node 'fc'", "[B, 4]", "6");
    }

    [Fact]
    public void Non_broadcastable_add_names_both_shapes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        var y = b.FeatureInput("y", B, 3);
        var e = Rejects(() => b.Add(x, y));
        Mentions(e, "node 'add' (add)", "operand 'x' has shape [B, 4]", "operand 'y' has shape [B, 3]", "do not broadcast");
    }

    [Fact]
    public void Symbolic_dims_that_differ_do_not_broadcast()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        var y = b.FeatureInput("y", B, M, 4);
        Mentions(Rejects(() => b.Mul(x, y)), "node 'mul' (mul)", "[B, N, 4]", "[B, M, 4]", "axis 1: N vs M");
    }

    [Fact]
    public void Concat_mismatch_names_both_operands_and_shapes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4, 2);
        var y = b.FeatureInput("y", B, 3, 3);
        var e = Rejects(() => b.Concat(1, x, y));
        Mentions(e, "node 'cat' (concat)", "operand 'y' has shape [B, 3, 3]", "operand 'x' has shape [B, 4, 2]", "axis 1");

        var z = b.FeatureInput("z", B, 4);
        Mentions(Rejects(() => b.Concat(1, x, z)), "node 'cat' (concat)", "[B, 4]", "[B, 4, 2]");
    }

    [Fact]
    public void Stack_mismatch_names_both_shapes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        var y = b.FeatureInput("y", B, 5);
        Mentions(Rejects(() => b.Stack(0, x, y)), "node 'stack' (stack)", "[B, 5]", "[B, 4]");
    }

    [Fact]
    public void Squeeze_of_a_non_unit_axis_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        Mentions(Rejects(() => b.Squeeze(x, 1)), "node 'squeeze' (squeeze)", "operand 'x' has shape [B, 4]", "size 1 on axis 1");
        Mentions(Rejects(() => b.Squeeze(x, 0)), "node 'squeeze' (squeeze)", "[B, 4]", "axis 0");
    }

    [Fact]
    public void Narrow_out_of_range_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        Mentions(Rejects(() => b.Narrow(x, 1, 2, 3)), "node 'narrow' (narrow)", "[B, 4]", "narrow(start 2, length 3)");
        Mentions(Rejects(() => b.Narrow(x, 0, 0, 1)), "node 'narrow' (narrow)", "[B, 4]", "constant size on axis 0");
    }

    [Fact]
    public void Empty_or_backward_slices_are_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        Mentions(Rejects(() => b.Slice(x, 1, 3, 1)), "node 'slice' (slice)", "[B, 4]", "[3:1:1]");
        Mentions(Rejects(() => b.Slice(x, 1, 0, 4, 0)), "node 'slice' (slice)", "[B, 4]", "step >= 1");
    }

    [Fact]
    public void Reshape_of_incompatible_sizes_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 6);
        Mentions(Rejects(() => b.Reshape(x, B, 4)), "node 'reshape' (reshape)", "operand 'x' has shape [B, 6]", "[B, 4]");
        Mentions(Rejects(() => b.Reshape(x, B, 4, -1)), "node 'reshape' (reshape)", "[B, 6]", "[B, 4, -1]");
        Mentions(Rejects(() => b.Reshape(x, N, -1)), "node 'reshape' (reshape)", "[B, 6]", "uses N");
        Mentions(Rejects(() => b.Reshape(x, -1, -1)), "node 'reshape' (reshape)", "more than one -1");

        var y = b.FeatureInput("y", B, N, 2);
        Mentions(Rejects(() => b.Reshape(y, -1)), "node 'reshape' (reshape)", "[B, N, 2]", "product of symbolic sizes");
    }

    [Fact]
    public void Flatten_of_two_symbolic_dims_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        Mentions(Rejects(() => b.Flatten(x, 0, 1)), "node 'flatten' (flatten)", "[B, N, 4]", "two symbolic dimensions");
    }

    [Fact]
    public void Bad_lstm_state_shape_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 4);
        var h0 = b.StateInput("h0", 2, B, 5);
        var c0 = b.StateInput("c0", 1, B, 5);
        var e = Rejects(() => b.Lstm("lstm", x, 5, batchFirst: true, h0: h0, c0: c0));
        Mentions(e, "node 'lstm' (LSTM 'lstm')", "operand 'h0' has shape [2, B, 5]", "[1, B, 5]");
    }

    [Fact]
    public void Lstm_input_width_mismatch_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", N, B, 4);
        b.Module("lstm", new RecurrentSpec(RecurrentKind.Lstm, 3, 5));
        Mentions(Rejects(() => b.Call("lstm", x)), "node 'lstm' (LSTM 'lstm')", "[N, B, 4]", "input_size 3");
    }

    [Fact]
    public void Conv1d_and_norm_layers_reject_wrong_channels()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4, 10);
        b.Module("conv", new Conv1dSpec(5, 2, 3));
        Mentions(Rejects(() => b.Call("conv", x)), "node 'conv' (Conv1d 'conv')", "[B, 4, 10]", "in_channels 5");
        b.Module("bn", new BatchNorm1dSpec(3));
        Mentions(Rejects(() => b.Call("bn", x)), "node 'bn' (BatchNorm1d 'bn')", "[B, 4, 10]", "num_features 3");
        b.Module("ln", new LayerNormSpec(new long[] { 4 }));
        Mentions(Rejects(() => b.Call("ln", x)), "node 'ln' (LayerNorm 'ln')", "[B, 4, 10]", "[4]");
        b.Module("short", new Conv1dSpec(4, 2, 11));
        Mentions(Rejects(() => b.Call("short", x)), "node 'short' (Conv1d 'short')", "[B, 4, 10]", "kernel_size 11");
    }

    [Theory]
    [InlineData(2, 3, 2, 0)]
    [InlineData(2, 4, 3, 0)]
    [InlineData(1, 5, 2, 1)]
    public void Strided_conv1d_shorter_than_its_receptive_field_is_rejected(long length, long kernel, long stride, long padding)
    {
        // torch: floor((L + 2p - (k-1) - 1) / s) + 1 <= 0 is an error; truncating division would give 1.
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4, length);
        Mentions(Rejects(() => b.Conv1d("conv", x, 2, kernel, stride: stride, padding: padding)), "'conv'", "Conv1d", $"[B, 4, {length}]");
    }

    [Fact]
    public void Out_of_range_axes_in_create_name_the_node()
    {
        var e = Rejects(() => ModelGraph.Create(
            "M",
            new[] { new GraphInput("x", S(B, 4), InputRole.Features, "x") },
            Array.Empty<GraphModule>(),
            new[] { new GraphNode("t", new TransposeOp(0, 2), new[] { new ValueRef("x") }, default) },
            Array.Empty<GraphOutput>()));
        Mentions(e, "node 't' (transpose)", "axis 2", "[B, 4]");
    }
}
