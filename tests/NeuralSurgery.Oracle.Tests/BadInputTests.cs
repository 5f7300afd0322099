using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Oracle;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Oracle.Tests;

/// <summary>The script refuses bad input with a message naming the op or tensor and what it expected; the helper surfaces it.</summary>
public sealed class BadInputTests
{
    private static ModelGraph Mlp()
    {
        var b = new GraphBuilder("Mlp");
        var h = b.Relu(b.Linear("fc1", b.FeatureInput("x", Dim.Batch, 4), 8));
        b.Output("y", b.Linear("fc2", h, 2));
        return b.Build();
    }

    private static StateDict Weights(ModelGraph graph)
    {
        var w = new StateDict();
        foreach (var p in graph.Parameters)
        {
            w.Add(p.Name, Enumerable.Repeat(0.1f, (int)p.ElementCount).ToArray(), p.Shape.Dims.Select(d => d.Constant).ToArray());
        }

        return w;
    }

    private static StateDict Inputs(params long[] shape)
    {
        var i = new StateDict();
        i.Add("x", new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
        return i;
    }

    [Fact]
    public void A_good_request_runs()
    {
        var graph = Mlp();
        var t = TorchOracle.RunOne(new OracleRequest(graph, "grad") { Weights = Weights(graph), Inputs = Inputs(3, 4) }).RequireTensors();
        Assert.Equal(6, t.Float32("output.y").Length);
        Assert.Equal(32, t.Float32("grad.fc1.weight").Length);
    }

    [Fact]
    public void An_unknown_op_is_refused_with_its_node()
    {
        var graph = Mlp();
        var json = GraphJson.Write(graph).Replace("\"kind\": \"activation\"", "\"kind\": \"frobnicate\"");
        var e = Assert.Throws<OracleException>(() => TorchOracle.RunOne(new OracleRequest(graph, "forward") { GraphJsonText = json, Weights = Weights(graph), Inputs = Inputs(3, 4) }));
        Assert.Contains("node 'relu' has op kind 'frobnicate'", e.Message);
        Assert.Contains("frobnicate", e.Stderr);
    }

    [Fact]
    public void A_missing_weight_is_refused_with_its_name_and_expected_shape()
    {
        var graph = Mlp();
        var weights = Weights(graph);
        weights.Remove("fc2.bias");
        var e = Assert.Throws<OracleException>(() => TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = weights, Inputs = Inputs(3, 4) }));
        Assert.Contains("missing tensor 'fc2.bias'", e.Message);
        Assert.Contains("expected shape [2]", e.Message);
    }

    [Fact]
    public void A_weight_of_the_wrong_shape_is_refused_with_both_shapes()
    {
        var graph = Mlp();
        var weights = Weights(graph);
        weights.Replace(TensorInfo.Create("fc1.weight", DType.Float32, 4, 8), new byte[4 * 8 * 4]);
        var e = Assert.Throws<OracleException>(() => TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = weights, Inputs = Inputs(3, 4) }));
        Assert.Contains("tensor 'fc1.weight' has shape [4, 8]; module 'fc1' expects [8, 4]", e.Message);
    }

    [Fact]
    public void An_input_of_the_wrong_shape_is_refused_with_its_name()
    {
        var graph = Mlp();
        var e = Assert.Throws<OracleException>(() => TorchOracle.RunOne(new OracleRequest(graph, "forward") { Weights = Weights(graph), Inputs = Inputs(3, 5), Symbols = new System.Collections.Generic.Dictionary<string, long> { ["B"] = 3 } }));
        Assert.Contains("input 'x' has shape [3, 5]; expected [3, 4]", e.Message);
    }

    [Fact]
    public void Refusals_in_a_batch_leave_the_other_requests_answered()
    {
        var graph = Mlp();
        var bad = Weights(graph);
        bad.Remove("fc1.weight");
        var results = TorchOracle.Run([
            new OracleRequest(graph, "forward") { Weights = bad, Inputs = Inputs(2, 4) },
            new OracleRequest(graph, "forward") { Weights = Weights(graph), Inputs = Inputs(2, 4) },
        ]);
        Assert.False(results[0].Ok);
        Assert.Contains("fc1.weight", results[0].Error);
        Assert.True(results[1].Ok);
    }
}
