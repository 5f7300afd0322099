using System;
using System.Collections.Generic;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Tests.Reference;

/// <summary>
/// Backward of every op and layer against central differences of float32 forwards (h = 1e-2, tolerance
/// 2e-3 + 2% relative), on small graphs built for each case.
/// </summary>
public class GradientCheckTests
{
    private static readonly Dim B = Dim.Batch;
    private static readonly Dim N = Dim.Symbol("N");

    private static readonly Dictionary<string, (Func<ModelGraph> Build, bool Training)> Cases = new()
    {
        ["linear"] = (() => One(b => b.Linear("fc", b.FeatureInput("x", B, 4), 3)), false),
        ["linear_rank3_no_bias"] = (() => One(b => b.Linear("fc", b.FeatureInput("x", B, N, 4), 5, bias: false)), false),
        ["linear_shared_twice"] = (() => One(b => b.Add(b.Linear("fc", b.FeatureInput("x", B, 4), 3), b.Linear("fc", b.FeatureInput("y", B, 4), 3))), false),
        ["embedding"] = (() => One(b => b.Mul(b.Embedding("emb", b.CategoricalInput("c", B, N), 4, 3), b.FeatureInput("x", B, N, 3))), false),
        ["conv1d"] = (() => One(b => b.Conv1d("conv", b.FeatureInput("x", B, 4, 9), 6, 3, stride: 2, padding: 1, dilation: 2, groups: 2)), false),
        ["conv1d_unbatched_no_bias"] = (() => One(b => b.Conv1d("conv", b.FeatureInput("x", 3, 5), 2, 2, padding: 2, bias: false)), false),
        ["conv1d_depthwise"] = (() => One(b => b.Conv1d("conv", b.FeatureInput("x", B, 3, 6), 3, 3, groups: 3)), false),
        ["conv2d"] = (() => One(b => b.Call(b.Module("conv", new Conv2dSpec(4, 6, 3, 2, StrideH: 2, StrideW: 1, PaddingH: 1, PaddingW: 2, DilationH: 1, DilationW: 2, Groups: 2)), b.FeatureInput("x", B, 4, 7, 6))[0]), false),
        ["conv2d_unbatched_no_bias"] = (() => One(b => b.Conv2d("conv", b.FeatureInput("x", 3, 4, 5), 2, 2, padding: 1, bias: false)), false),
        ["conv2d_depthwise_stride"] = (() => One(b => b.Conv2d("conv", b.FeatureInput("x", B, 3, 6, 5), 3, 3, stride: 2, groups: 3)), false),
        ["batch_norm2d_train"] = (() => One(b => b.BatchNorm2d("bn", b.FeatureInput("x", B, 3, 2, 3))), true),
        ["batch_norm2d_eval"] = (() => One(b => b.BatchNorm2d("bn", b.FeatureInput("x", B, 3, 2, 3))), false),
        ["batch_norm2d_no_affine_train"] = (() => One(b => b.Call(b.Module("bn", new BatchNorm2dSpec(2, Affine: false)), b.FeatureInput("x", B, 2, 3, 2))[0]), true),
        ["max_pool2d_padding"] = (() => One(b => b.Pool(b.FeatureInput("x", B, 2, 5, 6), PoolKind.Max, [3, 2], stride: [2, 1], padding: [1, 1])), false),
        ["max_pool2d_dilation"] = (() => One(b => b.Pool(b.FeatureInput("x", 2, 7, 5), PoolKind.Max, [2, 2], stride: [1, 2], dilation: [2, 1])), false),
        ["max_pool1d"] = (() => One(b => b.Pool(b.FeatureInput("x", B, 3, 7), PoolKind.Max, [3], stride: [2], padding: [1])), false),
        ["avg_pool2d_padding"] = (() => One(b => b.Pool(b.FeatureInput("x", B, 2, 5, 6), PoolKind.Avg, [3, 2], stride: [2, 2], padding: [1, 1])), false),
        ["avg_pool1d"] = (() => One(b => b.Pool(b.FeatureInput("x", B, 3, 7), PoolKind.Avg, [2], stride: [1], padding: [1])), false),
        ["adaptive_avg_pool2d"] = (() => One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 7, 5), PoolKind.Avg, 3, 2)), false),
        ["adaptive_max_pool2d"] = (() => One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 7, 5), PoolKind.Max, 3, 4)), false),
        ["adaptive_avg_pool1d"] = (() => One(b => b.AdaptivePool(b.FeatureInput("x", 2, 7), PoolKind.Avg, 4)), false),
        ["adaptive_max_pool1d"] = (() => One(b => b.AdaptivePool(b.FeatureInput("x", B, 2, 5), PoolKind.Max, 3)), false),
        ["lstm_states"] = (() => Lstm(layers: 1, bidirectional: false, batchFirst: false), false),
        ["lstm_two_layers_bidirectional"] = (() => Lstm(layers: 2, bidirectional: true, batchFirst: false), false),
        ["lstm_batch_first"] = (() => Lstm(layers: 1, bidirectional: true, batchFirst: true), false),
        ["lstm_unbatched_no_state"] = (() => Graph(b =>
        {
            var (o, h, c) = b.Lstm("lstm", b.FeatureInput("x", 4, 3), 3, numLayers: 2);
            b.Output("y", o).StateOutput("h_n", h).StateOutput("c_n", c);
        }), false),
        ["gru_states"] = (() => Gru(layers: 1, bidirectional: false, batchFirst: false, bias: true), false),
        ["gru_two_layers_bidirectional"] = (() => Gru(layers: 2, bidirectional: true, batchFirst: true, bias: true), false),
        ["gru_no_bias"] = (() => Gru(layers: 1, bidirectional: false, batchFirst: false, bias: false), false),
        ["layer_norm"] = (() => One(b => b.LayerNorm("ln", b.FeatureInput("x", B, 5), 5)), false),
        ["layer_norm_two_axes"] = (() => One(b => b.LayerNorm("ln", b.FeatureInput("x", B, 3, 4), 3, 4)), false),
        ["layer_norm_no_affine"] = (() => One(b => b.Call(b.Module("ln", new LayerNormSpec(NeuralSurgery.Collections.EquatableArray.Create(4L), ElementwiseAffine: false)), b.FeatureInput("x", B, 4))[0]), false),
        ["layer_norm_no_bias"] = (() => One(b => b.Call(b.Module("ln", new LayerNormSpec(NeuralSurgery.Collections.EquatableArray.Create(4L), Bias: false)), b.FeatureInput("x", B, 4))[0]), false),
        ["batch_norm_train"] = (() => One(b => b.BatchNorm1d("bn", b.FeatureInput("x", B, 4))), true),
        ["batch_norm_train_3d"] = (() => One(b => b.BatchNorm1d("bn", b.FeatureInput("x", B, 3, 5))), true),
        ["batch_norm_eval"] = (() => One(b => b.BatchNorm1d("bn", b.FeatureInput("x", B, 3, 5))), false),
        ["batch_norm_no_stats_eval"] = (() => One(b => b.Call(b.Module("bn", new BatchNorm1dSpec(4, TrackRunningStats: false)), b.FeatureInput("x", B, 4))[0]), false),
        ["batch_norm_no_affine_train"] = (() => One(b => b.Call(b.Module("bn", new BatchNorm1dSpec(4, Affine: false)), b.FeatureInput("x", B, 4))[0]), true),
        ["dropout_train"] = (() => One(b => b.Dropout(b.Linear("fc", b.FeatureInput("x", B, 6), 5), 0.3)), true),
        ["dropout_eval"] = (() => One(b => b.Dropout(b.Linear("fc", b.FeatureInput("x", B, 6), 5), 0.3)), false),
        ["softmax_last"] = (() => One(b => b.Softmax(b.FeatureInput("x", B, 5), -1)), false),
        ["softmax_middle"] = (() => One(b => b.Softmax(b.FeatureInput("x", B, 4, 3), 1)), false),
        ["log_softmax_first"] = (() => One(b => b.Softmax(b.FeatureInput("x", B, 4), 0, log: true)), false),
        ["add_broadcast"] = (() => One(b => b.Add(b.FeatureInput("x", B, 3, 4), b.FeatureInput("y", 3, 1))), false),
        ["sub_broadcast_both"] = (() => One(b => b.Sub(b.FeatureInput("x", B, 1, 4), b.FeatureInput("y", 3, 1))), false),
        ["mul_broadcast"] = (() => One(b => b.Mul(b.FeatureInput("x", 1, 4), b.FeatureInput("y", B, 3, 4))), false),
        ["mul_same_operand"] = (() => One(b =>
        {
            var x = b.FeatureInput("x", B, 4);
            return b.Mul(x, x);
        }), false),
        ["concat"] = (() => One(b => b.Concat(1, b.FeatureInput("x", B, 2, 3), b.FeatureInput("y", B, 4, 3))), false),
        ["concat_last_repeated"] = (() => One(b =>
        {
            var x = b.FeatureInput("x", B, 2);
            return b.Concat(-1, x, b.FeatureInput("y", B, 3), x);
        }), false),
        ["stack"] = (() => One(b => b.Stack(1, b.FeatureInput("x", B, 3), b.FeatureInput("y", B, 3))), false),
        ["max"] = (() => One(b => b.Max(b.FeatureInput("x", B, N, 4), 1)), false),
        ["max_keepdim_last"] = (() => One(b => b.Max(b.FeatureInput("x", B, 5), 1, keepDim: true)), false),
        ["mean"] = (() => One(b => b.Mean(b.FeatureInput("x", B, N, 4), 1, keepDim: true)), false),
        ["sum"] = (() => One(b => b.Sum(b.FeatureInput("x", B, 3, 4), 2)), false),
        ["views"] = (() => One(b =>
        {
            var x = b.FeatureInput("x", B, 2, 6);
            var r = b.Reshape(x, B, 3, 4);
            var f = b.Flatten(r, 1);
            var u = b.Unsqueeze(f, 1);
            return b.Linear("fc", b.Squeeze(u, 1), 2);
        }), false),
        ["narrow"] = (() => One(b => b.Linear("fc", b.Narrow(b.FeatureInput("x", B, 6), 1, 2, 3), 2)), false),
        ["slice_step"] = (() => One(b => b.Linear("fc", b.Slice(b.FeatureInput("x", B, 7, 2), 1, 1, 7, 2), 2)), false),
        ["transpose"] = (() => One(b => b.Linear("fc", b.Transpose(b.FeatureInput("x", B, 3, 4), 0, 1), 2)), false),
        ["transpose_inner"] = (() => One(b => b.Linear("fc", b.Transpose(b.FeatureInput("x", B, 3, 4), 1, 2), 2)), false),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    public static TheoryData<ActivationKind> ActivationKinds()
    {
        var data = new TheoryData<ActivationKind>();
        foreach (var kind in Enum.GetValues<ActivationKind>())
        {
            data.Add(kind);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Backward_matches_central_differences(string name)
    {
        var (build, training) = Cases[name];
        var count = ReferenceSupport.CheckGradients(build(), seed: name.Length * 31, training: training);
        Assert.True(count > 0);
    }

    [Theory]
    [MemberData(nameof(ActivationKinds))]
    public void Activation_backward_matches_central_differences(ActivationKind kind)
    {
        // Through a Linear so the check covers the chain rule and inputs spread over both branches of each kink.
        var graph = One(b => b.Activation(b.Linear("fc", b.FeatureInput("x", B, 4), 6), kind));
        ReferenceSupport.CheckGradients(graph, seed: 7 + (int)kind, h: 1e-3, atol: 3e-3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Small_cnn_backward_matches_central_differences(bool training)
    {
        // A smaller step than the single-kernel cases: in train mode a weight moves every batch-normalised value,
        // and h = 1e-2 carries some of them across ReLU and max-pool kinks.
        var graph = One(b => SmallCnn(b, b.FeatureInput("x", B, 2, 6, 6)));
        Assert.True(ReferenceSupport.CheckGradients(graph, seed: training ? 17 : 19, training: training, h: 1e-3, atol: 3e-3) > 0);
    }

    /// <summary>conv → bn → relu → max pool → adaptive avg pool → flatten → linear.</summary>
    private static GraphValue SmallCnn(GraphBuilder b, GraphValue x)
    {
        var c = b.Activation(b.BatchNorm2d("bn", b.Conv2d("conv", x, 4, 3, padding: 1)), ActivationKind.Relu);
        var p = b.AdaptivePool(b.Pool(c, PoolKind.Max, [2, 2]), PoolKind.Avg, 2, 2);
        return b.Linear("fc", b.Flatten(p, 1), 3);
    }

    private static ModelGraph One(Func<GraphBuilder, GraphValue> body) => Graph(b => b.Output("y", body(b)));

    private static ModelGraph Graph(Action<GraphBuilder> body)
    {
        var b = new GraphBuilder("case");
        body(b);
        return b.Build();
    }

    private static ModelGraph Lstm(int layers, bool bidirectional, bool batchFirst) => Graph(b =>
    {
        var d = bidirectional ? 2 : 1;
        var x = batchFirst ? b.FeatureInput("x", B, 4, 3) : b.FeatureInput("x", 4, B, 3);
        var h0 = b.StateInput("h0", layers * d, B, 2);
        var c0 = b.StateInput("c0", layers * d, B, 2);
        var (o, h, c) = b.Lstm("lstm", x, 2, layers, batchFirst, bidirectional, h0: h0, c0: c0);
        b.Output("y", o).StateOutput("h_n", h).StateOutput("c_n", c);
    });

    private static ModelGraph Gru(int layers, bool bidirectional, bool batchFirst, bool bias) => Graph(b =>
    {
        var d = bidirectional ? 2 : 1;
        var x = batchFirst ? b.FeatureInput("x", B, 4, 3) : b.FeatureInput("x", 4, B, 3);
        var h0 = b.StateInput("h0", layers * d, B, 3);
        var (o, h) = b.Gru("gru", x, 3, layers, batchFirst, bidirectional, bias, h0);
        b.Output("y", o).StateOutput("h_n", h);
    });
}
