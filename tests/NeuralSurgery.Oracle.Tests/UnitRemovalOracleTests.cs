using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Pruning;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Oracle.Tests;

/// <summary>
/// Coupled unit removals against PyTorch (issue 15): tests/oracle/torch_oracle.py's <c>remove_units</c> mode follows
/// the removed units through the graph in Python (concat offsets, set pooling, BatchNorm channels, LSTM/GRU gate
/// blocks), slices the state_dict by hand with torch indexing and folds the mean replacement into the consumers'
/// biases in float64. Our plan, with <see cref="MeanReplacement"/>, applied by the file executor, must give the same
/// tensors: sliced ones exactly, folded biases within 1e-6.
/// </summary>
public sealed class UnitRemovalOracleTests
{
    private static readonly Dim B = Dim.Batch;

    public static TheoryData<string, string, long[]> Cases => new()
    {
        { "mlp_batchnorm", "fc1", [1, 4] },
        { "mlp_batchnorm", "fc2", [0, 5] },
        { "encoders_concat_set", "units_enc", [0, 3] },
        { "encoders_concat_set", "hero_enc", [2] },
        { "lstm", "lstm", [1, 6] },
        { "lstm", "enc", [3] },
        { "gru", "gru", [0, 2, 4] },
        { "gru", "enc", [5] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Removal_with_mean_replacement_matches_slicing_by_hand_in_PyTorch(string model, string layer, long[] units)
    {
        var graph = Graph(model);
        var reference = ExecutorComparison.InitModel(graph, seed: 5);
        var weights = reference.ToStateDict();
        var (inputs, oracleInputs) = Inputs(graph, seed: 9);

        var removal = UnitRemoval.Plan(ModelSide.Trace(graph, null), layer, units);
        var means = InputMeans.Measure(reference, removal, [inputs]);
        var plan = MeanReplacement.Fold(removal, means, weights);
        var ours = PlanExecutor.ApplyInMemory(plan, weights);

        var request = new OracleRequest(graph, "remove_units")
        {
            Weights = weights,
            Inputs = oracleInputs,
            Options = new JsonObject { ["dtype"] = "float64" },
            Extra = new JsonObject { ["removal"] = new JsonObject { ["module"] = layer.Split('.')[0], ["units"] = new JsonArray(units.Select(u => (JsonNode)u).ToArray()), ["meanReplacement"] = true } },
        };
        var torch = TorchOracle.Run([request], TimeSpan.FromMinutes(2))[0];
        Assert.True(torch.Ok, torch.Error + "\n" + TorchOracle.LastStderr);
        var tensors = torch.RequireTensors();
        Assert.Equal(ours.Tensors.Select(t => "param." + t.Name).Order(StringComparer.Ordinal), tensors.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var info in ours.Tensors)
        {
            Assert.Equal(info.Shape, tensors.Get("param." + info.Name).Shape);
            var expected = ExecutorComparison.ReadDoubles(tensors, "param." + info.Name);
            var actual = ExecutorComparison.ReadDoubles(ours, info.Name);
            var folded = plan.FindTensor(info.Name)!.Add.Count > 0;
            for (var i = 0; i < expected.Length; i++)
            {
                var tolerance = folded ? 1e-6 : Math.Abs(expected[i]) * 1e-7; // float32 copies of float64 values
                Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{model}/{layer}: '{info.Name}'[{i}] is {actual[i]}, PyTorch's hand slicing gives {expected[i]}");
            }
        }

        Assert.Contains(plan.Tensors, t => t.Add.Count > 0);
    }

    private static ModelGraph Graph(string name) => name switch
    {
        "mlp_batchnorm" => ExecutorComparison.Graph(b =>
        {
            var h = b.Tanh(b.Linear("fc1", b.FeatureInput("x", B, 5), 7));
            b.Output("y", b.Linear("fc3", b.Relu(b.BatchNorm1d("norm", b.Linear("fc2", h, 6))), 3));
        }),
        "encoders_concat_set" => ExecutorComparison.Graph(b =>
        {
            var hero = b.Relu(b.Linear("hero_enc", b.FeatureInput("hero", B, 3), 4));
            var units = b.Max(b.Tanh(b.Linear("units_enc", b.FeatureInput("units", B, Dim.Symbol("N"), 4), 5)), 1);
            b.Output("y", b.Linear("head", b.Concat(-1, hero, units), 2));
        }),
        "lstm" => ExecutorComparison.Graph(b =>
        {
            var (sequence, _, _) = b.Lstm("lstm", b.Tanh(b.Linear("enc", b.FeatureInput("track", B, Dim.Symbol("T"), 3), 6)), 8, batchFirst: true);
            b.Output("y", b.Linear("head", b.Max(sequence, 1), 2));
        }),
        _ => ExecutorComparison.Graph(b =>
        {
            var (sequence, _) = b.Gru("gru", b.Tanh(b.Linear("enc", b.FeatureInput("track", B, Dim.Symbol("T"), 3), 6)), 5, batchFirst: true);
            b.Output("y", b.Linear("head", b.Max(sequence, 1), 2));
        }),
    };

    private static (Dictionary<string, Tensor> Inputs, StateDict Oracle) Inputs(ModelGraph graph, int seed)
    {
        var rng = new Random(seed);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var oracle = new StateDict();
        foreach (var input in graph.Inputs)
        {
            var shape = input.Shape.Evaluate(s => s == "B" ? 6 : 4).Select(d => (int)d).ToArray();
            var t = Tensor.Zeros(shape);
            for (var i = 0; i < t.Length; i++)
            {
                t.Data[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            inputs[input.Name] = t;
            oracle.Add(input.Name, (float[])t.Data.Clone(), shape.Select(d => (long)d).ToArray());
        }

        return (inputs, oracle);
    }
}
