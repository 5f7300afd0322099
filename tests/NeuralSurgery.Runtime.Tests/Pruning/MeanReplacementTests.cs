using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Pruning;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Tests.Pruning;

/// <summary>
/// Mean replacement without TorchSharp (issue 15): means by the reference executor, the bias terms folded into the
/// plan, the plan applied by the file executor, eq. 1 checked by the reference executor on the narrowed graph.
/// </summary>
public sealed class MeanReplacementTests
{
    private static readonly Dim B = Dim.Batch;

    private static ModelGraph Graph()
    {
        var b = new GraphBuilder("m");
        var h = b.Sigmoid(b.Linear("fc1", b.FeatureInput("x", Dim.Symbol("T"), B, 4), 6));
        var (sequence, _) = b.Gru("gru", h, 3);
        b.Output("y", b.Linear("head", b.Mean(b.Concat(-1, sequence, h), 0), 2));
        return b.Build();
    }

    [Fact]
    public void A_constant_unit_feeding_a_GRU_and_a_head_is_removed_exactly_and_zero_replacement_is_not()
    {
        var graph = Graph();
        var model = ReferenceModel.Initialize(graph, seed: 3);
        model.Parameters["fc1.weight"].Data.AsSpan(2 * 4, 4).Clear(); // unit 2: sigmoid(bias), whatever the input
        model.Parameters["fc1.bias"].Data[2] = 0.7f;
        var weights = model.ToStateDict();
        var removal = UnitRemoval.Plan(ModelSide.Trace(graph, null), "fc1", [2]);
        Assert.Equal(["gru.weight_ih_l0", "head.weight"], removal.Consumers.Select(c => c.Weight).Order(StringComparer.Ordinal));
        Assert.Equal([5L], removal.Consumers.Single(c => c.Weight == "head.weight").Columns); // after the GRU's 3 units

        var means = InputMeans.Measure(model, removal, [Inputs(5, 7, seed: 1)]);
        var plan = MeanReplacement.Fold(removal, means, weights);
        Assert.Equal(plan, PlanJson.Read(PlanJson.Write(plan)));

        var other = Inputs(4, 9, seed: 2);
        var before = model.Forward(other)["y"].Data;
        Assert.True(MaxDiff(before, Run(removal.Narrowed, plan, weights, other)) <= 1e-6);
        Assert.True(MaxDiff(before, Run(removal.Narrowed, removal.Plan, weights, other)) > 1e-3);
    }

    [Fact]
    public void Means_of_the_wrong_width_or_a_missing_consumer_are_refused_naming_them()
    {
        var graph = Graph();
        var weights = ReferenceModel.Initialize(graph, seed: 3).ToStateDict();
        var removal = UnitRemoval.Plan(ModelSide.Trace(graph, null), "fc1", [0]);
        var missing = Assert.Throws<PlanApplicationException>(() => MeanReplacement.Fold(removal, new Dictionary<string, double[]> { ["head"] = new double[9] }, weights));
        Assert.Contains("no input mean for module 'gru'", missing.Message, StringComparison.Ordinal);
        var wide = Assert.Throws<PlanApplicationException>(() => MeanReplacement.Fold(removal, new Dictionary<string, double[]> { ["head"] = new double[9], ["gru"] = new double[7] }, weights));
        Assert.Contains("input mean of module 'gru' has 7 values; expected 6 finite values, the width of axis 1 of 'gru.weight_ih_l0'", wide.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<PlanApplicationException>(() => MeanReplacement.Fold(removal, new Dictionary<string, double[]> { ["head"] = new double[9], ["gru"] = [double.NaN, 0, 0, 0, 0, 0] }, weights));
        Assert.Contains("some not finite", nan.Message, StringComparison.Ordinal);
    }

    private static float[] Run(ModelGraph narrowed, NeuralSurgery.Plan.SurgeryPlan plan, StateDict weights, Dictionary<string, Tensor> inputs) =>
        ReferenceModel.Load(narrowed, PlanExecutor.ApplyInMemory(plan, weights)).Forward(inputs)["y"].Data;

    private static Dictionary<string, Tensor> Inputs(int time, int batch, int seed)
    {
        var rng = new Random(seed);
        var x = Tensor.Zeros(time, batch, 4);
        for (var i = 0; i < x.Length; i++)
        {
            x.Data[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["x"] = x };
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}
