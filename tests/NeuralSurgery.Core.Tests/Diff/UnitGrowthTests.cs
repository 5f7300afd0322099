using System;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;

namespace NeuralSurgery.Tests.Diff;

/// <summary>Growth plans on graphs built in code (issue 15 part 4): new units' slices through flattens and concats, their init rules, and refusals.</summary>
public class UnitGrowthTests
{
    private static readonly Dim B = Dim.Batch;

    private static ModelSide Side(Action<GraphBuilder> body) => UnitRemovalTests.Side(body);

    private static long[] Map(SurgeryPlan plan, string tensor, int axis) => UnitRemovalTests.Map(plan, tensor, axis);

    [Fact]
    public void New_conv_channels_under_a_flatten_get_a_whole_block_of_zero_linear_columns()
    {
        // conv [B, 4, 3] -> flatten [B, 12] -> fc: two new channels own columns 12..17, all zero.
        var side = Side(b => b.Output("y", b.Linear("fc", b.Flatten(b.Relu(b.Conv1d("conv", b.FeatureInput("x", B, 2, 5), 4, 3)), 1), 2)));
        var growth = UnitGrowth.Plan(side, "conv", 2);
        Assert.Equal((4L, 6L), (growth.OldWidth, growth.NewWidth));
        Assert.Equal([4L, 5], growth.Added);
        Assert.Equal([0L, 1, 2, 3, -1, -1], Map(growth.Plan, "conv.weight", 0));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i).Concat(Enumerable.Repeat(-1L, 6)), Map(growth.Plan, "fc.weight", 1));
        Assert.Equal(InitRule.Zeros, growth.Plan.FindTensor("fc.weight")!.Axes[1].Unmapped); // zero fan-out
        Assert.Equal(InitKind.Uniform, growth.Plan.FindTensor("conv.weight")!.Axes[0].Unmapped.Kind); // the layer's default fan-in
        Assert.Equal(18, growth.Widened.FindParameter("fc.weight")!.Shape[1].Value);
        Assert.Empty(growth.Plan.Dropped);
    }

    [Fact]
    public void Units_of_the_first_encoder_of_a_concat_are_inserted_at_its_offset()
    {
        var side = Side(b => b.Output("y", b.Linear("head", b.Concat(-1, b.Relu(b.Linear("a", b.FeatureInput("p", B, 3), 4)), b.Relu(b.Linear("b", b.FeatureInput("q", B, 2), 5))), 2)));
        var growth = UnitGrowth.Plan(side, "a", 3);
        Assert.Equal([0L, 1, 2, 3, -1, -1, -1, 4, 5, 6, 7, 8], Map(growth.Plan, "head.weight", 1));
    }

    [Fact]
    public void Chosen_fan_in_replaces_the_random_rows_by_additions()
    {
        var side = Side(b => b.Output("y", b.Linear("fc2", b.Relu(b.Linear("fc1", b.FeatureInput("x", B, 2), 3)), 1)));
        var growth = UnitGrowth.WithFanIn(UnitGrowth.Plan(side, "fc1", 1), "fc1.weight", "fc1.bias", [[0.5, -1]], [2]);
        var weight = growth.Plan.FindTensor("fc1.weight")!;
        Assert.Equal(InitRule.Zeros, weight.Axes[0].Unmapped);
        Assert.Equal([0.0, 0, 0, 0, 0, 0, 0.5, -1], weight.Add);
        Assert.Equal([0.0, 0, 0, 2], growth.Plan.FindTensor("fc1.bias")!.Add);
    }

    [Fact]
    public void Refusals_name_the_layer()
    {
        var side = Side(b => b.Output("y", b.Linear("fc2", b.Relu(b.Linear("fc1", b.FeatureInput("x", B, 2), 3)), 1)));
        Assert.Contains("units of layer 'fc2' reach output 'y' directly", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc2", 1)).Message, StringComparison.Ordinal);
        Assert.Contains("adding -2 units to layer 'fc1'", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc1", -2)).Message, StringComparison.Ordinal);
        Assert.Contains("no layer 'fc3' with units", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc3", 1)).Message, StringComparison.Ordinal);
        var deep = Side(b => b.Output("y", b.Linear("head", b.Max(b.Lstm("lstm", b.FeatureInput("x", B, 5, 2), 4, numLayers: 2, batchFirst: true).Output, 1), 1)));
        Assert.Contains("units can be removed from or added to a single-layer", Assert.Throws<PlanException>(() => UnitGrowth.Plan(deep, "lstm.l0", 1)).Message, StringComparison.Ordinal);
    }
}
