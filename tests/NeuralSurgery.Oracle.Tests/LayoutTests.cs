using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Oracle;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Oracle.Tests;

/// <summary>
/// Parameter names and layouts of the graph (Layers.cs, TorchSharp's state_dict convention, TORCHSHARP.md) must be
/// PyTorch's for the same layers, so that Φ lines up with real checkpoints (DESIGN.md section 4).
/// </summary>
public sealed class LayoutTests
{
    /// <summary>Every layer kind and variant, nested module paths included.</summary>
    internal static ModelGraph EveryLayer()
    {
        var b = new GraphBuilder("EveryLayer");
        var x = b.FeatureInput("x", Dim.Batch, 3, 4);
        var ids = b.CategoricalInput("ids", Dim.Batch, 3);
        var h = b.Linear("enc.0.fc", x, 6);
        h = b.Linear("enc.1", h, 6, bias: false);
        var e = b.Embedding("emb", ids, 5, 2);
        h = b.Concat(-1, h, e);
        var conv = b.Conv1d("conv", b.Transpose(h, 1, 2), 4, 2, padding: 1, groups: 2);
        var convNoBias = b.Conv1d("conv_nb", conv, 2, 1, bias: false);
        var bn = b.BatchNorm1d("bn", convNoBias);
        var bn2 = b.Call(b.Module("bn_plain", new BatchNorm1dSpec(2, Affine: false)), bn)[0];
        var bn3 = b.Call(b.Module("bn_nostats", new BatchNorm1dSpec(2, TrackRunningStats: false)), bn2)[0];
        var seq = b.Transpose(bn3, 1, 2);
        var (lo, _, _) = b.Lstm("lstm", seq, 3, numLayers: 2, bidirectional: true);
        var (go, _) = b.Gru("gru", lo, 2, batchFirst: true, bias: false);
        var ln = b.LayerNorm("ln", go, 4, 2);
        var ln2 = b.Call(b.Module("ln_nobias", new LayerNormSpec(new long[] { 2 }.ToEquatableArray(), Bias: false)), ln)[0];
        var ln3 = b.Call(b.Module("ln_plain", new LayerNormSpec(new long[] { 2 }.ToEquatableArray(), ElementwiseAffine: false)), ln2)[0];
        b.Output("y", ln3);
        return b.Build();
    }

    [Fact]
    public void Torch_state_dict_names_shapes_and_dtypes_equal_the_graph_parameters_for_every_layer_kind()
    {
        var graph = EveryLayer();
        Assert.Equal(
            ["BatchNorm1d", "Conv1d", "Embedding", "GRU", "LSTM", "LayerNorm", "Linear"],
            graph.Modules.Select(m => m.Spec.Kind).Distinct().Order(StringComparer.Ordinal));
        var result = TorchOracle.RunOne(new OracleRequest(graph, "names"));
        var torch = result.Summary.GetProperty("state_dict").EnumerateArray()
            .Select(e => (Name: e.GetProperty("name").GetString()!,
                Shape: string.Join(",", e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())),
                DType: e.GetProperty("dtype").GetString()!,
                Buffer: e.GetProperty("buffer").GetBoolean()))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        var ours = graph.Parameters
            .Select(p => (p.Name, Shape: string.Join(",", p.Shape.Dims.Select(d => d.Constant)), DType: p.Declaration.DType, Buffer: p.IsBuffer))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        Assert.Equal(ours, torch);
        Assert.Contains(torch, t => t.Name == "lstm.weight_hh_l1_reverse" && t.Shape == "12,3");
        Assert.Contains(torch, t => t.Name == "bn.num_batches_tracked" && t.DType == "int64" && t.Buffer);
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>Weights in which every gate block has its own value, so the output tells which block PyTorch read as which gate.</summary>
    private static (StateDict Weights, double[] Rows, double[] Recurrent, double[] Bias) GateWeights(string module, int gates)
    {
        var rows = new[] { 0.3, -0.7, 1.1, 0.5 }[..gates];
        var recurrent = new[] { -0.4, 0.9, 0.2, -0.6 }[..gates];
        var bias = new[] { 0.05, -0.15, 0.25, 0.35 }[..gates];
        var w = new StateDict();
        w.Add(module + ".weight_ih_l0", rows.Select(v => (float)v).ToArray(), gates, 1);
        w.Add(module + ".weight_hh_l0", recurrent.Select(v => (float)v).ToArray(), gates, 1);
        w.Add(module + ".bias_ih_l0", new float[gates], gates);
        w.Add(module + ".bias_hh_l0", bias.Select(v => (float)v).ToArray(), gates);
        return (w, rows, recurrent, bias);
    }

    [Fact]
    public void Lstm_gate_rows_are_i_f_g_o_as_in_torch()
    {
        var b = new GraphBuilder("LstmGates");
        var (o, _, _) = b.Lstm("lstm", b.FeatureInput("x", 1, 1, 1), 1, h0: b.StateInput("h0", 1, 1, 1), c0: b.StateInput("c0", 1, 1, 1));
        b.Output("y", o);
        var graph = b.Build();
        var spec = (RecurrentSpec)graph.Modules[0].Spec;
        var (weights, rows, recurrent, bias) = GateWeights("lstm", 4);
        const double x = 1.5, h = 0.8, c = -1.2;
        var inputs = new StateDict();
        inputs.Add("x", new[] { (float)x }, 1, 1, 1);
        inputs.Add("h0", new[] { (float)h }, 1, 1, 1);
        inputs.Add("c0", new[] { (float)c }, 1, 1, 1);
        var y = TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = weights, Inputs = inputs }).RequireTensors().Float32("output.y")[0];

        // Read each gate from the block that Layers.cs's GateNames says holds it.
        double Pre(string gate)
        {
            var k = spec.GateNames.ToList().IndexOf(gate);
            return (rows[k] * x) + (recurrent[k] * h) + bias[k];
        }

        var cell = (Sigmoid(Pre("f")) * c) + (Sigmoid(Pre("i")) * Math.Tanh(Pre("g")));
        var expected = Sigmoid(Pre("o")) * Math.Tanh(cell);
        Assert.Equal(["i", "f", "g", "o"], spec.GateNames);
        Assert.Equal(expected, y, 5);
    }

    [Fact]
    public void Gru_gate_rows_are_r_z_n_as_in_torch()
    {
        var b = new GraphBuilder("GruGates");
        var (o, _) = b.Gru("gru", b.FeatureInput("x", 1, 1, 1), 1, h0: b.StateInput("h0", 1, 1, 1));
        b.Output("y", o);
        var graph = b.Build();
        var spec = (RecurrentSpec)graph.Modules[0].Spec;
        var (weights, rows, recurrent, bias) = GateWeights("gru", 3);
        const double x = 1.5, h = 0.8;
        var inputs = new StateDict();
        inputs.Add("x", new[] { (float)x }, 1, 1, 1);
        inputs.Add("h0", new[] { (float)h }, 1, 1, 1);
        var y = TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = weights, Inputs = inputs }).RequireTensors().Float32("output.y")[0];

        int K(string gate) => spec.GateNames.ToList().IndexOf(gate);
        var r = Sigmoid((rows[K("r")] * x) + (recurrent[K("r")] * h) + bias[K("r")]);
        var z = Sigmoid((rows[K("z")] * x) + (recurrent[K("z")] * h) + bias[K("z")]);
        // PyTorch's n gate: r scales the recurrent part including b_hn.
        var n = Math.Tanh((rows[K("n")] * x) + (r * ((recurrent[K("n")] * h) + bias[K("n")])));
        var expected = ((1 - z) * n) + (z * h);
        Assert.Equal(["r", "z", "n"], spec.GateNames);
        Assert.Equal(expected, y, 5);
    }

    [Fact]
    public void Linear_conv1d_and_embedding_weights_are_laid_out_as_in_torch()
    {
        var b = new GraphBuilder("Layouts");
        var x = b.FeatureInput("x", 1, 2, 3);
        var ids = b.CategoricalInput("ids", 1);
        var lin = b.Linear("fc", x, 2);
        var conv = b.Conv1d("conv", x, 2, 2);
        var emb = b.Embedding("emb", ids, 3, 2);
        b.Output("lin", lin).Output("conv", conv).Output("emb", emb);
        var graph = b.Build();
        float[] xs = [1, 2, 3, 4, 5, 6];
        var wl = Enumerable.Range(0, 6).Select(i => (float)(i + 1) / 10).ToArray(); // [out 2, in 3]
        var wc = Enumerable.Range(0, 8).Select(i => (float)(i - 3) / 10).ToArray(); // [out 2, in 2, k 2]
        var we = Enumerable.Range(0, 6).Select(i => (float)i).ToArray(); // [num 3, dim 2]
        var weights = new StateDict();
        weights.Add("fc.weight", wl, 2, 3);
        weights.Add("fc.bias", new float[] { 0.5f, -0.5f }, 2);
        weights.Add("conv.weight", wc, 2, 2, 2);
        weights.Add("conv.bias", new float[] { 0, 1 }, 2);
        weights.Add("emb.weight", we, 3, 2);
        var inputs = new StateDict();
        inputs.Add("x", xs, 1, 2, 3);
        inputs.Add("ids", new long[] { 2 }, 1);
        var t = TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = weights, Inputs = inputs }).RequireTensors();

        // Linear: y[r, o] = Σ_i W[o, i] x[r, i] + b[o], W row-major [out, in].
        for (var r = 0; r < 2; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                var expected = (o == 0 ? 0.5 : -0.5) + Enumerable.Range(0, 3).Sum(i => wl[(o * 3) + i] * xs[(r * 3) + i]);
                Assert.Equal(expected, t.Float32("output.lin")[(r * 2) + o], 5);
            }
        }

        // Conv1d: y[o, l] = b[o] + Σ_c Σ_k W[o, c, k] x[c, l + k], W row-major [out, in, k].
        for (var o = 0; o < 2; o++)
        {
            for (var l = 0; l < 2; l++)
            {
                double expected = o;
                for (var c = 0; c < 2; c++)
                {
                    for (var k = 0; k < 2; k++)
                    {
                        expected += wc[(o * 4) + (c * 2) + k] * xs[(c * 3) + l + k];
                    }
                }

                Assert.Equal(expected, t.Float32("output.conv")[(o * 2) + l], 5);
            }
        }

        // Embedding: row 2 of [num, dim].
        Assert.Equal(new[] { 4f, 5f }, t.Float32("output.emb").ToArray());
    }
}
