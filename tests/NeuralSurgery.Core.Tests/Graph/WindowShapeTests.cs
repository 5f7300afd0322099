using System;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using static NeuralSurgery.Tests.Graph.TestGraphs;

namespace NeuralSurgery.Tests.Graph;

/// <summary>Shape rules of Conv2d, BatchNorm2d, pooling and adaptive pooling: accepted shapes and the exact refusals.</summary>
public class WindowShapeTests
{
    private static Shape S(params Dim[] dims) => new(dims);

    private static void Refused(string expected, Action build) => Assert.Equal(expected, Assert.Throws<GraphException>(build).Message);

    private static GraphValue Conv(GraphBuilder b, GraphValue x, Conv2dSpec spec) => b.Call(b.Module("conv", spec), x)[0];

    // ------------------------------------------------------------ accepted

    [Fact]
    public void Conv2d_output_follows_torch_per_axis_with_groups()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4, 9, 8);

        // H: floor((9 + 2 − 2 − 1)/2) + 1 = 5; W: floor((8 − 2·1 − 1)/1) + 1 = 6.
        var y = Conv(b, x, new Conv2dSpec(4, 6, 3, 2, StrideH: 2, PaddingH: 1, DilationW: 2, Groups: 2));
        Assert.Equal(S(B, 6, 5, 6), y.Shape);
        b.Output("y", y);
        Assert.Equal(Shape.Of(6, 2, 3, 2), b.Build().FindParameter("conv.weight")!.Shape);
    }

    [Fact]
    public void Conv2d_unbatched_and_with_a_symbolic_height_at_stride_1()
    {
        var b = new GraphBuilder("M");
        Assert.Equal(S(2, 3, 3), b.Conv2d("c1", b.FeatureInput("u", 3, 5, 5), 2, 3).Shape);
        var x = b.FeatureInput("x", B, 3, N, 5);
        Assert.Equal(S(B, 2, N, 5), b.Conv2d("c2", x, 2, 3, padding: 1).Shape);
        Assert.Equal(S(B, 2, N - 2, 3), b.Conv2d("c3", x, 2, 3).Shape);
    }

    [Fact]
    public void BatchNorm2d_keeps_the_shape()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 3, 4, 5);
        Assert.Equal(x.Shape, b.BatchNorm2d("bn", x).Shape);
    }

    [Fact]
    public void Pooling_output_follows_torch_on_the_last_axes()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 2, 7, 6);

        // H: floor((7 + 2 − 2 − 1)/2) + 1 = 4; W: floor((6 + 2 − 1 − 1)/1) + 1 = 7.
        Assert.Equal(S(B, 2, 4, 7), b.Pool(x, PoolKind.Max, [3, 2], stride: [2, 1], padding: [1, 1]).Shape);
        Assert.Equal(S(B, 2, 3, 3), b.Pool(x, PoolKind.Avg, [2, 2]).Shape);
        Assert.Equal(S(B, 2, 3, 4), b.Pool(x, PoolKind.Max, [2, 2], stride: [2, 1], dilation: [1, 2]).Shape);
        var u = b.FeatureInput("u", 3, 7);
        Assert.Equal(S(3, 8), b.Pool(u, PoolKind.Avg, [2], stride: [1], padding: [1]).Shape);
    }

    [Fact]
    public void Adaptive_pooling_sets_the_sizes_even_of_symbolic_axes()
    {
        var b = new GraphBuilder("M");
        Assert.Equal(S(B, 2, 3, 2), b.AdaptivePool(b.FeatureInput("x", B, 2, 7, 5), PoolKind.Avg, 3, 2).Shape);
        Assert.Equal(S(B, 4, 3), b.AdaptivePool(b.FeatureInput("s", B, 4, N), PoolKind.Max, 3).Shape);
        Assert.Equal(S(4, 1), b.AdaptivePool(b.FeatureInput("u", 4, 6), PoolKind.Avg, 1).Shape);
    }

    [Fact]
    public void Pool_kinds_name_the_dimensions()
    {
        Assert.Equal("max_pool2d", new PoolOp(PoolKind.Max, EquatableArray.Create(2L, 2L), EquatableArray.Create(2L, 2L), EquatableArray.Create(0L, 0L), EquatableArray.Create(1L, 1L)).Kind);
        Assert.Equal("avg_pool1d", new PoolOp(PoolKind.Avg, EquatableArray.Create(2L), EquatableArray.Create(2L), EquatableArray.Create(0L), EquatableArray.Create(1L)).Kind);
        Assert.Equal("adaptive_max_pool1d", new AdaptivePoolOp(PoolKind.Max, EquatableArray.Create(3L)).Kind);
        Assert.Equal("adaptive_avg_pool2d", new AdaptivePoolOp(PoolKind.Avg, EquatableArray.Create(3L, 2L)).Kind);
    }

    // ------------------------------------------------------------ refused

    [Fact]
    public void Conv2d_refusals_name_node_operand_and_shape()
    {
        var b = new GraphBuilder("M");
        Refused(
            "node 'conv' (Conv2d 'conv'): operand 'x' has shape [B, 3, 8, 8]; expected [B, 4, H, W] or [4, H, W] (in_channels 4)",
            () => Conv(b, b.FeatureInput("x", B, 3, 8, 8), new Conv2dSpec(4, 2, 3, 3)));
        Refused(
            "node 'conv' (Conv2d 'conv'): operand 'x2' has shape [B, 4]; expected [B, 4, H, W] or [4, H, W] (in_channels 4)",
            () => Conv(b, b.FeatureInput("x2", B, 4), new Conv2dSpec(4, 2, 3, 3)));
        Refused(
            "node 'conv' (Conv2d 'conv'): operand 'short' has shape [B, 4, 2, 8]; expected at least one output position on axis 2 for Conv2d (the input is shorter than its window)",
            () => Conv(b, b.FeatureInput("short", B, 4, 2, 8), new Conv2dSpec(4, 2, 3, 3)));
        Refused(
            "node 'strided' (Conv2d 'strided'): operand 'sym' has shape [B, 4, 8, N]; expected a constant size on axis 3 for Conv2d (give the schema input's spatial sizes as numbers)",
            () => b.Call(b.Module("strided", new Conv2dSpec(4, 2, 3, 3, StrideW: 2)), b.FeatureInput("sym", B, 4, 8, N)));
    }

    [Fact]
    public void BatchNorm2d_refuses_other_ranks_and_channel_counts()
    {
        var b = new GraphBuilder("M");
        b.Module("bn", new BatchNorm2dSpec(3));
        Refused("node 'bn' (BatchNorm2d 'bn'): operand 'x' has shape [B, 3, 4]; expected [B, 3, H, W] (num_features 3)", () => b.Call("bn", b.FeatureInput("x", B, 3, 4)));
        Refused("node 'bn' (BatchNorm2d 'bn'): operand 'y' has shape [B, 2, 4, 4]; expected [B, 3, H, W] (num_features 3)", () => b.Call("bn", b.FeatureInput("y", B, 2, 4, 4)));
    }

    [Fact]
    public void Pooling_refusals()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 2, 7, 6);
        Refused(
            "node 'max_pool1d' (max_pool1d): kernel 2, stride 2, padding 2, dilation 1 on axis 0; expected kernel, stride and dilation >= 1 and padding at most half the kernel",
            () => b.Pool(b.FeatureInput("l", B, 2, 7), PoolKind.Max, [2], padding: [2]));
        Refused(
            "node 'max_pool1d' (max_pool1d): operand 'x' has shape [B, 2, 7, 6]; expected [B, C, L] or [C, L]",
            () => b.Pool(x, PoolKind.Max, [2]));
        Refused(
            "node 'avg_pool2d' (avg_pool2d): kernel 2, stride 0, padding 0, dilation 1 on axis 1; expected kernel, stride and dilation >= 1 and padding at most half the kernel",
            () => b.Pool(x, PoolKind.Avg, [2, 2], stride: [1, 0]));
        Refused(
            "node 'max_pool2d' (max_pool2d): operand 'f' has shape [B, 4]; expected [B, C, H, W] or [C, H, W]",
            () => b.Pool(b.FeatureInput("f", B, 4), PoolKind.Max, [2, 2]));
        Refused(
            "node 'max_pool2d' (max_pool2d): operand 'x' has shape [B, 2, 7, 6]; expected at least one output position on axis 2 for max_pool2d (the input is shorter than its window)",
            () => b.Pool(x, PoolKind.Max, [5, 2], dilation: [2, 1]));
        Refused(
            "node 'avg_pool1d' (avg_pool1d): operand 's' has shape [B, 2, N]; expected a constant size on axis 2 for avg_pool1d (give the schema input's spatial sizes as numbers)",
            () => b.Pool(b.FeatureInput("s", B, 2, N), PoolKind.Avg, [2], stride: [1]));
        Refused(
            "node 'adaptive_avg_pool2d' (adaptive_avg_pool2d): output size [0, 2]; expected 1 or 2 sizes, each >= 1",
            () => b.AdaptivePool(x, PoolKind.Avg, 0, 2));
        Refused(
            "node 'adaptive_max_pool2d' (adaptive_max_pool2d): operand 'g' has shape [B, 4]; expected [B, C, H, W] or [C, H, W]",
            () => b.AdaptivePool(b.FeatureInput("g", B, 4), PoolKind.Max, 2, 2));
    }

    [Fact]
    public void A_pool_op_with_mismatched_arrays_is_refused()
    {
        var op = new PoolOp(PoolKind.Max, EquatableArray.Create(2L, 2L), EquatableArray.Create(2L), EquatableArray.Create(0L, 0L), EquatableArray.Create(1L, 1L));
        var e = Assert.Throws<GraphException>(() => ModelGraph.Create(
            "M",
            [new GraphInput("x", S(B, 2, 4, 4), InputRole.Features, "x")],
            [],
            [new GraphNode("p", op, EquatableArray.Create(new ValueRef("x")), default)],
            []));
        Assert.Equal("node 'p' (max_pool2d): pooling over 2 axes with 1 strides, 2 paddings and 2 dilations; expected 1 or 2 axes and one of each per axis", e.Message);
    }
}
