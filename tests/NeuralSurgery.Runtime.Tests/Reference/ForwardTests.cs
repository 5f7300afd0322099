using System;
using System.Collections.Generic;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Tests.Reference;

/// <summary>Forward values against hand-computed ones (PyTorch's formulas written out per scalar).</summary>
public class ForwardTests
{
    private static readonly Dim B = Dim.Batch;

    private static Dictionary<string, Tensor> In(params (string Name, Tensor Value)[] values)
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (name, value) in values)
        {
            d[name] = value;
        }

        return d;
    }

    private static void Set(ReferenceModel model, string name, params float[] values) => values.CopyTo(model.GetTensor(name).Data, 0);

    private static double S(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void Lstm_uses_gate_order_i_f_g_o_and_initial_states()
    {
        var b = new GraphBuilder("lstm");
        var (o, h, c) = b.Lstm("lstm", b.FeatureInput("x", 2, 1, 1), 1, h0: b.StateInput("h0", 1, 1, 1), c0: b.StateInput("c0", 1, 1, 1));
        var graph = b.Output("y", o).StateOutput("h_n", h).StateOutput("c_n", c).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        Set(model, "lstm.weight_ih_l0", 0.1f, 0.2f, 0.3f, 0.4f);
        Set(model, "lstm.weight_hh_l0", 0.5f, 0.6f, 0.7f, 0.8f);
        Set(model, "lstm.bias_ih_l0", 0.01f, 0.02f, 0.03f, 0.04f);
        Set(model, "lstm.bias_hh_l0", 0.05f, 0.06f, 0.07f, 0.08f);
        var pass = model.Forward(In(("x", Tensor.FromValues([1f, -0.5f], 2, 1, 1)), ("h0", Tensor.FromValues([0.2f], 1, 1, 1)), ("c0", Tensor.FromValues([-0.3f], 1, 1, 1))));

        double hv = 0.2, cv = -0.3;
        var ys = new List<double>();
        foreach (var x in new[] { 1.0, -0.5 })
        {
            var i = S((0.1 * x) + 0.01 + (0.5 * hv) + 0.05);
            var f = S((0.2 * x) + 0.02 + (0.6 * hv) + 0.06);
            var g = Math.Tanh((0.3 * x) + 0.03 + (0.7 * hv) + 0.07);
            var og = S((0.4 * x) + 0.04 + (0.8 * hv) + 0.08);
            cv = (f * cv) + (i * g);
            hv = og * Math.Tanh(cv);
            ys.Add(hv);
        }

        Assert.Equal(ys[0], pass["y"].Data[0], 6);
        Assert.Equal(ys[1], pass["y"].Data[1], 6);
        Assert.Equal(hv, pass["h_n"].Data[0], 6);
        Assert.Equal(cv, pass["c_n"].Data[0], 6);
    }

    [Fact]
    public void Gru_multiplies_r_into_the_hidden_projection_with_its_bias()
    {
        var b = new GraphBuilder("gru");
        var (o, h) = b.Gru("gru", b.FeatureInput("x", 2, 1, 1), 1, h0: b.StateInput("h0", 1, 1, 1));
        var graph = b.Output("y", o).StateOutput("h_n", h).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        Set(model, "gru.weight_ih_l0", 0.1f, 0.2f, 0.3f);
        Set(model, "gru.weight_hh_l0", 0.5f, 0.6f, 0.7f);
        Set(model, "gru.bias_ih_l0", 0.01f, 0.02f, 0.03f);
        Set(model, "gru.bias_hh_l0", 0.05f, 0.06f, 0.07f);
        var pass = model.Forward(In(("x", Tensor.FromValues([1f, -0.5f], 2, 1, 1)), ("h0", Tensor.FromValues([0.2f], 1, 1, 1))));

        double hv = 0.2;
        foreach (var x in new[] { 1.0, -0.5 })
        {
            var r = S((0.1 * x) + 0.01 + (0.5 * hv) + 0.05);
            var z = S((0.2 * x) + 0.02 + (0.6 * hv) + 0.06);
            var n = Math.Tanh((0.3 * x) + 0.03 + (r * ((0.7 * hv) + 0.07)));
            hv = ((1 - z) * n) + (z * hv);
        }

        Assert.Equal(hv, pass["h_n"].Data[0], 6);
        Assert.Equal(hv, pass["y"].Data[1], 6);
    }

    [Fact]
    public void Bidirectional_reverse_direction_reads_the_sequence_backwards()
    {
        // Two directions with the same weights: the reverse output at t equals the forward output of the reversed sequence.
        var b = new GraphBuilder("bi");
        var (o, _, _) = b.Lstm("lstm", b.FeatureInput("x", 3, 1, 2), 2, bidirectional: true);
        var graph = b.Output("y", o).Build();
        var model = ReferenceModel.Initialize(graph, 3);
        foreach (var local in new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" })
        {
            model.GetTensor($"lstm.{local}_l0").Data.CopyTo(model.GetTensor($"lstm.{local}_l0_reverse").Data, 0);
        }

        var forward = model.Forward(In(("x", Tensor.FromValues([1, 2, 3, 4, 5, 6], 3, 1, 2))))["y"];
        var reversed = model.Forward(In(("x", Tensor.FromValues([5, 6, 3, 4, 1, 2], 3, 1, 2))))["y"];
        for (var t = 0; t < 3; t++)
        {
            for (var j = 0; j < 2; j++)
            {
                Assert.Equal(forward.Data[(t * 4) + 2 + j], reversed.Data[((2 - t) * 4) + j], 6);
            }
        }
    }

    [Fact]
    public void BatchNorm_train_mode_updates_running_stats_like_pytorch()
    {
        var b = new GraphBuilder("bn");
        var graph = b.Output("y", b.BatchNorm1d("bn", b.FeatureInput("x", B, 2))).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        model.Training = true;
        var x = Tensor.FromValues([1, 10, 2, 20, 3, 30, 6, 40], 4, 2);
        var y = model.Forward(In(("x", x)))["y"];

        // Channel 0: mean 3, biased variance 3.5, unbiased 14/3.
        Assert.Equal((1 - 3) / Math.Sqrt(3.5 + 1e-5), y.Data[0], 5);
        Assert.Equal(0.1 * 3, model.Buffers["bn.running_mean"].Data[0], 6);
        Assert.Equal((0.9 * 1) + (0.1 * 14.0 / 3), model.Buffers["bn.running_var"].Data[0], 5);
        Assert.Equal((0.9 * 1) + (0.1 * 500.0 / 3), model.Buffers["bn.running_var"].Data[1], 4);
        Assert.Equal(1, model.BatchesTracked["bn.num_batches_tracked"]);

        model.Training = false;
        var eval = model.Forward(In(("x", x)))["y"];
        Assert.Equal((1 - 0.3) / Math.Sqrt(0.9 + (1.4 / 3) + 1e-5), eval.Data[0], 5);
        Assert.Equal(1, model.BatchesTracked["bn.num_batches_tracked"]);
    }

    [Fact]
    public void Conv1d_applies_stride_padding_and_bias()
    {
        var b = new GraphBuilder("conv");
        var graph = b.Output("y", b.Conv1d("conv", b.FeatureInput("x", B, 1, 5), 1, 3, stride: 2, padding: 1)).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        Set(model, "conv.weight", 1, 0, -1);
        Set(model, "conv.bias", 0.5f);
        var y = model.Forward(In(("x", Tensor.FromValues([1, 2, 3, 4, 5], 1, 1, 5))))["y"];
        Assert.Equal([1, 1, 3], y.ShapeArray());
        Assert.Equal([-1.5f, -1.5f, 4.5f], y.Data);
    }

    [Theory]
    [InlineData(ActivationKind.Gelu, 1.0, 0.8413447460685429)]
    [InlineData(ActivationKind.Gelu, -0.5, -0.15426876936299344)]
    [InlineData(ActivationKind.Silu, 1.0, 0.7310585786300049)]
    [InlineData(ActivationKind.Elu, -1.0, -0.6321205588285577)]
    [InlineData(ActivationKind.LeakyRelu, -2.0, -0.02)]
    [InlineData(ActivationKind.Softplus, 1.0, 1.3132616875182228)]
    [InlineData(ActivationKind.Softplus, 25.0, 25.0)]
    [InlineData(ActivationKind.Sigmoid, 0.0, 0.5)]
    [InlineData(ActivationKind.Tanh, 0.5, 0.46211715726000974)]
    [InlineData(ActivationKind.Relu, -0.5, 0.0)]
    [InlineData(ActivationKind.Identity, -0.5, -0.5)]
    public void Activations_match_pytorch_values(ActivationKind kind, double x, double expected)
    {
        var b = new GraphBuilder("act");
        var graph = b.Output("y", b.Activation(b.FeatureInput("x", B, 1), kind)).Build();
        var y = ReferenceModel.Initialize(graph, 1).Forward(In(("x", Tensor.FromValues([(float)x], 1, 1))))["y"];
        Assert.Equal(expected, y.Data[0], 6);
    }

    [Fact]
    public void Softmax_and_log_softmax_values()
    {
        var b = new GraphBuilder("sm");
        var x = b.FeatureInput("x", B, 3);
        var graph = b.Output("p", b.Softmax(x, -1)).Output("lp", b.Softmax(x, -1, log: true)).Build();
        var pass = ReferenceModel.Initialize(graph, 1).Forward(In(("x", Tensor.FromValues([1, 2, 3, 1000, 1000, 1000], 2, 3))));
        Assert.Equal(0.09003057317038046, pass["p"].Data[0], 6);
        Assert.Equal(0.6652409557748219, pass["p"].Data[2], 6);
        Assert.Equal(Math.Log(0.09003057317038046), pass["lp"].Data[0], 5);
        Assert.Equal(1 / 3.0, pass["p"].Data[4], 6);
    }

    [Fact]
    public void Max_routes_its_gradient_to_the_first_maximum()
    {
        var b = new GraphBuilder("max");
        var graph = b.Output("y", b.Max(b.FeatureInput("x", B, 3), 1)).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        var pass = model.Forward(In(("x", Tensor.FromValues([2, 5, 5, 7, 7, 1], 2, 3))));
        Assert.Equal([5f, 7f], pass["y"].Data);
        var grads = model.Backward(pass, In(("y", Tensor.FromValues([1, 2], 2))));
        Assert.Equal([0f, 1f, 0f, 2f, 0f, 0f], grads.Inputs["x"].Data);
    }

    [Fact]
    public void Broadcasting_aligns_trailing_axes_and_backward_sums_the_stretched_ones()
    {
        var b = new GraphBuilder("bc");
        var graph = b.Output("y", b.Sub(b.FeatureInput("a", B, 1), b.FeatureInput("c", 3))).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        var pass = model.Forward(In(("a", Tensor.FromValues([10, 20], 2, 1)), ("c", Tensor.FromValues([1, 2, 3], 3))));
        Assert.Equal([9f, 8f, 7f, 19f, 18f, 17f], pass["y"].Data);
        var grads = model.Backward(pass, In(("y", Tensor.Full(1f, 2, 3))));
        Assert.Equal([3f, 3f], grads.Inputs["a"].Data);
        Assert.Equal([-2f, -2f, -2f], grads.Inputs["c"].Data);
    }

    [Fact]
    public void Slice_with_step_and_embedding_rows()
    {
        var b = new GraphBuilder("sl");
        var graph = b.Output("s", b.Slice(b.FeatureInput("x", B, 6), 1, 1, 6, 2)).Output("e", b.Embedding("emb", b.CategoricalInput("c", B), 3, 2)).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        Set(model, "emb.weight", 0, 1, 10, 11, 20, 21);
        var pass = model.Forward(In(("x", Tensor.FromValues([0, 1, 2, 3, 4, 5], 1, 6)), ("c", Tensor.FromValues([2], 1))));
        Assert.Equal([1f, 3f, 5f], pass["s"].Data);
        Assert.Equal([20f, 21f], pass["e"].Data);
    }

    [Fact]
    public void Dropout_is_identity_in_eval_and_a_scaled_seeded_mask_in_train()
    {
        var b = new GraphBuilder("drop");
        var graph = b.Output("y", b.Dropout(b.FeatureInput("x", B, 1000), 0.25)).Build();
        var model = ReferenceModel.Initialize(graph, 1);
        var x = Tensor.Full(1f, 2, 1000);
        Assert.Same(x.Data, model.Forward(In(("x", x)))["y"].Data);

        model.Training = true;
        model.DropoutSeed = 5;
        var first = model.Forward(In(("x", x)))["y"];
        var kept = 0;
        foreach (var v in first.Data)
        {
            Assert.True(v == 0f || Math.Abs(v - (1 / 0.75f)) < 1e-6);
            kept += v == 0f ? 0 : 1;
        }

        Assert.InRange(kept, 1400, 1600);
        model.DropoutStep = 0;
        Assert.Equal(first.Data, model.Forward(In(("x", x)))["y"].Data);
        Assert.NotEqual(first.Data, model.Forward(In(("x", x)))["y"].Data);
    }
}
