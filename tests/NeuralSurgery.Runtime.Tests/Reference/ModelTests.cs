using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Runtime.Tests.Reference;

public class ModelTests
{
    private static readonly Dim B = Dim.Batch;

    private static ModelGraph LinearGraph()
    {
        var b = new GraphBuilder("lin");
        return b.Output("y", b.Linear("fc", b.FeatureInput("x", B, 3), 2)).Build();
    }

    [Fact]
    public void Every_random_graph_runs_forward_and_backward_with_finite_values()
    {
        var traits = new HashSet<string>();
        for (var seed = 0; seed < 60; seed++)
        {
            var graph = RandomGraphs.Generate(seed);
            foreach (var node in graph.Nodes)
            {
                traits.Add(node.Op is CallOp call ? graph.FindModule(call.Module)!.Spec.Kind : node.Op.Kind);
            }

            try
            {
                RunFinite(graph, seed, training: seed % 2 == 0);
            }
            catch (ReferenceExecutionException e) when (e.Message.Contains("training needs more than 1 value per channel"))
            {
                // A BatchNorm1d over a constant batch of 1 cannot train (PyTorch refuses too); eval mode can run it.
                RunFinite(graph, seed, training: false);
            }
        }

        // The seeds reach every layer and op kind of the IR.
        string[] kinds =
        [
            "Linear", "Embedding", "Conv1d", "LSTM", "GRU", "LayerNorm", "BatchNorm1d", "dropout", "activation", "softmax", "log_softmax",
            "add", "sub", "mul", "concat", "stack", "max", "mean", "sum", "reshape", "flatten", "unsqueeze", "squeeze", "narrow", "slice", "transpose",
        ];
        var missing = kinds.Where(k => !traits.Contains(k)).ToList();
        Assert.True(missing.Count == 0, "no random graph uses " + string.Join(", ", missing));
    }

    [Fact]
    public void OpenAi_five_shaped_graph_runs_forward_and_backward()
    {
        var (graph, _) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 2);
        var grads = RunFinite(graph, 3, training: true);
        Assert.Equal(graph.Parameters.Count(p => !p.IsBuffer), grads.Parameters.Count);
        Assert.Contains(grads.Parameters["lstm.weight_hh_l0"].Data, v => v != 0);
        Assert.Contains(grads.Parameters["hero_embedding.weight"].Data, v => v != 0);
        Assert.Contains(grads.Inputs["allies"].Data, v => v != 0);
        Assert.DoesNotContain("unit_type", grads.Inputs.Keys);
    }

    [Fact]
    public void OpenAi_five_shaped_graph_gradients_match_central_differences()
    {
        var small = OpenAiFiveGraphs.Small with { HeroFeatures = 4, UnitFeatures = 3, Encoder = 4, Lstm = 3, HeadSizes = [2, 2], HeroEmbedding = 2 };
        var (graph, _) = OpenAiFiveGraphs.Build(small, 1);
        ReferenceSupport.CheckGradients(graph, seed: 11, h: 1e-3, atol: 3e-3, maxPerTensor: 12, size: s => 2);
    }

    private static Gradients RunFinite(ModelGraph graph, int seed, bool training)
    {
        var rng = new Random(seed);
        var model = ReferenceModel.Initialize(graph, seed);
        model.Training = training;
        var pass = model.Forward(ReferenceSupport.RandomInputs(graph, rng));
        foreach (var (name, y) in pass.Outputs)
        {
            Assert.True(y.Data.All(float.IsFinite), $"graph {graph.Name}: output {name} is not finite");
        }

        var grads = model.Backward(pass, ReferenceSupport.RandomLike(pass.Outputs, rng));
        foreach (var (name, g) in grads.Parameters.Concat(grads.Inputs))
        {
            Assert.True(g.Data.All(float.IsFinite), $"graph {graph.Name}: gradient of {name} is not finite\n{RandomGraphs.Describe(graph)}");
            Assert.Equal(name.Contains('.') ? model.Parameters[name].ShapeArray() : pass.Value(new ValueRef(name)).ShapeArray(), g.ShapeArray());
        }

        return grads;
    }

    [Fact]
    public void A_position_table_cut_to_the_sequence_reads_its_first_rows_and_refuses_a_longer_sequence()
    {
        // items [B, N, 2] + table[1 : 1 + N]: the narrow's length is the run-time sequence length.
        var b = new GraphBuilder("positions");
        var items = b.FeatureInput("items", B, Dim.Symbol("N"), 2);
        var graph = b.Output("y", b.Add(items, b.Narrow(b.Tensor("table", [4, 2], buffer: true), 0, 1, Dim.Symbol("N")))).Build();
        var model = ReferenceModel.Initialize(graph, 2);

        var fits = model.Forward(new Dictionary<string, Tensor> { ["items"] = Tensor.Zeros([1, 3, 2]) });
        var table = model.Buffers.Single(t => t.Key == "table").Value.Data;
        Assert.Equal(table.Skip(2).Take(6), fits.Outputs["y"].Data);

        var ex = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["items"] = Tensor.Zeros([1, 4, 2]) }));
        Assert.Contains("has 4 positions on axis 0; the narrow needs 5 (N = 4)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_round_trip_through_a_state_dict_with_buffers_in_order()
    {
        var b = new GraphBuilder("rt");
        var x = b.FeatureInput("x", B, 4);
        var graph = b.Output("y", b.BatchNorm1d("bn", b.Linear("fc", x, 4))).Build();
        var model = ReferenceModel.Initialize(graph, 4);
        model.Training = true;
        model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Full(0.5f, 3, 4) });
        var dict = model.ToStateDict();
        Assert.Equal(graph.Parameters.Select(p => p.Name), dict.Tensors.Select(t => t.Name));
        Assert.Equal(DType.Int64, dict.Find("bn.num_batches_tracked")!.DType);
        Assert.Equal(1, dict.Int64("bn.num_batches_tracked")[0]);

        var copy = ReferenceModel.Load(graph, dict);
        foreach (var (name, t) in model.Parameters.Concat(model.Buffers))
        {
            Assert.Equal(t.Data, copy.GetTensor(name).Data);
        }

        Assert.Equal(1, copy.BatchesTracked["bn.num_batches_tracked"]);
    }

    [Fact]
    public void Half_bfloat16_and_double_weights_are_converted_to_float32()
    {
        var dict = new StateDict();
        dict.Add("fc.weight", new[] { (Half)0.5f, (Half)(-1.25f), (Half)2f, (Half)0f, (Half)1f, (Half)(-3f) }, 2, 3);
        dict.Add("fc.bias", new[] { 0.25, -0.75 }, 2);
        var model = ReferenceModel.Load(LinearGraph(), dict);
        Assert.Equal([0.5f, -1.25f, 2f, 0f, 1f, -3f], model.Parameters["fc.weight"].Data);
        Assert.Equal([0.25f, -0.75f], model.Parameters["fc.bias"].Data);

        var bf = new StateDict();
        bf.Add(TensorInfo.Create("fc.weight", DType.BFloat16, 2, 3), new byte[] { 0x80, 0x3F, 0, 0x40, 0, 0, 0, 0, 0, 0, 0x40, 0xC0 });
        bf.Add("fc.bias", new float[] { 1, 2 }, 2);
        Assert.Equal([1f, 2f, 0f, 0f, 0f, -3f], ReferenceModel.Load(LinearGraph(), bf).Parameters["fc.weight"].Data);
    }

    [Fact]
    public void A_missing_weight_is_named_with_its_expected_shape()
    {
        var dict = new StateDict();
        dict.Add("fc.weight", new float[6], 2, 3);
        var ex = Assert.Throws<ReferenceExecutionException>(() => ReferenceModel.Load(LinearGraph(), dict));
        Assert.Contains("tensor 'fc.bias' is missing from the weights; expected float32[2] (Linear 'fc')", ex.Message);
    }

    [Fact]
    public void A_weight_of_the_wrong_shape_or_dtype_is_named()
    {
        var dict = new StateDict();
        dict.Add("fc.weight", new float[6], 3, 2);
        dict.Add("fc.bias", new long[2], 2);
        var ex = Assert.Throws<ReferenceExecutionException>(() => ReferenceModel.Load(LinearGraph(), dict));
        Assert.Contains("tensor 'fc.weight' has shape [3, 2]; expected [2, 3] (Linear 'fc')", ex.Message);
        Assert.Contains("tensor 'fc.bias' has dtype int64; expected a floating-point dtype", ex.Message);
    }

    [Fact]
    public void Bad_inputs_are_named_with_the_expected_shape()
    {
        var b = new GraphBuilder("inp");
        var graph = b.Output("y", b.Add(b.FeatureInput("x", B, 3), b.FeatureInput("z", B, 3))).Build();
        var model = ReferenceModel.Initialize(graph, 1);

        var missing = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(2, 3) }));
        Assert.Contains("input 'z' is missing; expected a tensor of shape [B, 3]", missing.Message);

        var width = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(2, 4), ["z"] = Tensor.Zeros(2, 3) }));
        Assert.Contains("input 'x' has shape [2, 4]; expected [B, 3] (axis 1 must be 3)", width.Message);

        var rank = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(3), ["z"] = Tensor.Zeros(2, 3) }));
        Assert.Contains("input 'x' has shape [3]; expected [B, 3] (rank 2)", rank.Message);

        var batch = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(2, 3), ["z"] = Tensor.Zeros(5, 3) }));
        Assert.Contains("input 'z' has shape [5, 3]; expected [B, 3] with B = 2 as input 'x' binds it", batch.Message);

        var unknown = Assert.Throws<ReferenceExecutionException>(() => model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(2, 3), ["z"] = Tensor.Zeros(2, 3), ["w"] = Tensor.Zeros(1) }));
        Assert.Contains("input 'w' is not an input of graph 'inp'", unknown.Message);
    }

    [Fact]
    public void An_index_outside_the_vocabulary_is_named()
    {
        var b = new GraphBuilder("emb");
        var graph = b.Output("y", b.Embedding("emb", b.CategoricalInput("c", B), 3, 2)).Build();
        var ex = Assert.Throws<ReferenceExecutionException>(() => ReferenceModel.Initialize(graph, 1).Forward(new Dictionary<string, Tensor> { ["c"] = Tensor.FromValues([1, 3], 2) }));
        Assert.Contains("(Embedding 'emb'): operand 'c' holds 3 at element 1; expected an integer index in [0, 3)", ex.Message);
    }

    [Fact]
    public void A_wrong_output_gradient_is_named()
    {
        var model = ReferenceModel.Initialize(LinearGraph(), 1);
        var pass = model.Forward(new Dictionary<string, Tensor> { ["x"] = Tensor.Zeros(2, 3) });
        var ex = Assert.Throws<ReferenceExecutionException>(() => model.Backward(pass, new Dictionary<string, Tensor> { ["y"] = Tensor.Zeros(2, 3) }));
        Assert.Contains("gradient of output 'y' has shape [2, 3]; expected [2, 2]", ex.Message);
    }
}
