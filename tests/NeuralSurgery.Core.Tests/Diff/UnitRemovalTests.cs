using System;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;

namespace NeuralSurgery.Tests.Diff;

/// <summary>Unit removal plans on graphs built in code (issue 15): coupled slices through flattens and concats, and refusals.</summary>
public class UnitRemovalTests
{
    private static readonly Dim B = Dim.Batch;

    internal static ModelSide Side(Action<GraphBuilder> body)
    {
        var b = new GraphBuilder("m");
        body(b);
        return ModelSide.Trace(b.Build(), null);
    }

    internal static long[] Map(SurgeryPlan plan, string tensor, int axis)
    {
        var a = plan.FindTensor(tensor)!.Axes[axis];
        return Enumerable.Range(0, (int)a.Length).Select(i => a.SourceIndex(i)).ToArray();
    }

    [Fact]
    public void Conv_channels_removed_under_a_flatten_drop_their_whole_block_of_linear_columns()
    {
        // conv [B, 4, 3] -> flatten [B, 12] -> fc: channel c owns columns 3c..3c+2.
        var side = Side(b => b.Output("y", b.Linear("fc", b.Flatten(b.Relu(b.Conv1d("conv", b.FeatureInput("x", B, 2, 5), 4, 3)), 1), 2)));
        var removal = UnitRemoval.Plan(side, "conv", [1]);
        Assert.Equal([0L, 2, 3], Map(removal.Plan, "conv.weight", 0));
        Assert.Equal([0L, 1, 2, 6, 7, 8, 9, 10, 11], Map(removal.Plan, "fc.weight", 1));
        Assert.Equal(9, removal.Narrowed.FindParameter("fc.weight")!.Shape[1].Value);
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal([3L, 4, 5], consumer.Columns);
        Assert.Contains(removal.Plan.Dropped, d => d.Kind == DroppedKind.Units && d.Name == "conv");
    }

    [Fact]
    public void An_unpadded_convolution_absorbs_removed_channels_in_its_bias_and_a_padded_one_is_only_noted()
    {
        // conv1 [B, 4, L] -> conv2: with no padding every output reads every input channel at every tap, so a
        // constant channel is a bias term; with padding the border taps read zeros.
        RemovalFrom(padding: 0, out var unpadded);
        var consumer = Assert.Single(unpadded.Consumers);
        Assert.Equal(("conv2", "conv2.weight", "conv2.bias"), (consumer.Module, consumer.Weight, consumer.Bias));
        Assert.Equal([1L], consumer.Columns);
        Assert.DoesNotContain(unpadded.Plan.Notes, n => n.Contains("not compensated", StringComparison.Ordinal));
        Assert.True(UnitRemoval.IsUnpaddedConvolution(new Conv2dSpec(4, 3, 3, 3, StrideH: 2, DilationW: 2)));

        RemovalFrom(padding: 1, out var padded);
        Assert.Empty(padded.Consumers);
        Assert.Contains(padded.Plan.Notes, n => n.Contains("'conv2.weight' (Conv1d): columns of removed units are not compensated by mean replacement (padding", StringComparison.Ordinal));
        Assert.False(UnitRemoval.IsUnpaddedConvolution(new Conv2dSpec(4, 3, 3, 3, PaddingW: 1)));

        static void RemovalFrom(long padding, out UnitRemovalPlan removal) =>
            removal = UnitRemoval.Plan(Side(b => b.Output("y", b.Conv1d("conv2", b.Relu(b.Conv1d("conv1", b.FeatureInput("x", B, 2, 9), 4, 3)), 3, 3, padding: padding))), "conv1", [1]);
    }

    [Fact]
    public void A_transposed_convolution_loses_its_own_filters_on_axis_1_and_the_input_rows_of_removed_units()
    {
        // conv [B, 3, 4] -> deconv (weight [3, 2, 2]) -> flatten -> fc: removing conv unit 1 drops deconv's input row 1;
        // removing deconv unit 0 drops its weight's axis-1 index 0 and the fc columns of that channel.
        ModelSide Build() => Side(b => b.Output("y", b.Linear("fc", b.Flatten(b.ConvTranspose("up", b.Relu(b.Conv1d("conv", b.FeatureInput("x", B, 2, 4), 3, 1)), 1, 2, 2), 1), 2)));
        var fromConv = UnitRemoval.Plan(Build(), "conv", [1]);
        Assert.Equal([0L, 2], Map(fromConv.Plan, "up.weight", 0));
        Assert.Equal(ConvTransposeSpec.OneD(2, 2, 2), fromConv.Narrowed.FindModule("up")!.Spec);
        Assert.Contains(fromConv.Plan.Notes, n => n.Contains("'up.weight' (ConvTranspose1d): input rows of removed units are not compensated"));

        var fromDeconv = UnitRemoval.Plan(Build(), "up", [0]);
        Assert.Equal([1L], Map(fromDeconv.Plan, "up.weight", 1));
        Assert.Equal([5L, 6, 7, 8, 9], Map(fromDeconv.Plan, "fc.weight", 1));
    }

    [Fact]
    public void Units_of_the_second_encoder_of_a_concat_drop_columns_at_its_offset()
    {
        var side = Side(b =>
        {
            var a = b.Relu(b.Linear("a", b.FeatureInput("x", B, 3), 4));
            var c = b.Tanh(b.Linear("c", b.FeatureInput("z", B, 2), 3));
            b.Output("y", b.Linear("head", b.Concat(-1, a, c), 2));
        });
        var removal = UnitRemoval.Plan(side, "c", [0, 2]);
        Assert.Equal([0L, 1, 2, 3, 5], Map(removal.Plan, "head.weight", 1));
        Assert.Equal([1L], Map(removal.Plan, "c.weight", 0));
        Assert.Equal([4L, 6], Assert.Single(removal.Consumers).Columns);
        Assert.Equal(removal.Plan, PlanJson.Read(PlanJson.Write(removal.Plan)));
    }

    [Fact]
    public void LayerNorm_channels_follow_the_removed_units_and_the_plan_says_its_statistics_change()
    {
        var side = Side(b => b.Output("y", b.Linear("head", b.LayerNorm("norm", b.Linear("fc", b.FeatureInput("x", B, 3), 5), 5), 2)));
        var removal = UnitRemoval.Plan(side, "fc", [3]);
        Assert.Equal([0L, 1, 2, 4], Map(removal.Plan, "norm.weight", 0));
        Assert.Equal([0L, 1, 2, 4], Map(removal.Plan, "norm.bias", 0));
        Assert.Equal([0L, 1, 2, 4], Map(removal.Plan, "head.weight", 1));
        Assert.Equal(4, removal.Narrowed.FindParameter("norm.weight")!.Shape[0].Value);
        Assert.Contains(removal.Plan.Notes, n => n.Contains("LayerNorm 'norm'", StringComparison.Ordinal));
    }

    [Fact]
    public void Layers_whose_width_cannot_follow_are_refused_naming_them()
    {
        var stacked = Side(b =>
        {
            var (o, _, _) = b.Lstm("lstm", b.FeatureInput("x", B, 4, 3), 5, numLayers: 2);
            b.Output("y", b.Linear("head", b.Max(o, 0), 2));
        });
        var e = Assert.Throws<PlanException>(() => UnitRemoval.Plan(stacked, "lstm.l0", [1]));
        Assert.Contains("LSTM 'lstm' has 2 layer(s)", e.Message, StringComparison.Ordinal);

        var literal = Side(b => b.Output("y", b.Linear("head", b.Reshape(b.Tanh(b.Linear("fc", b.FeatureInput("x", B, 3), 4)), B, 2, 2), 2)));
        var r = Assert.Throws<PlanException>(() => UnitRemoval.Plan(literal, "fc", [0]));
        Assert.Contains("removing units of layer 'fc'", r.Message, StringComparison.Ordinal);

        var ambiguous = Side(b =>
        {
            var (o, _, _) = b.Lstm("lstm", b.FeatureInput("x", B, 4, 3), 5, numLayers: 2);
            b.Output("y", b.Linear("head", b.Max(o, 0), 2));
        });
        Assert.Contains("has 2 unit spaces ('lstm.l0', 'lstm.l1'); name one", Assert.Throws<PlanException>(() => UnitRemoval.Plan(ambiguous, "lstm", [1])).Message, StringComparison.Ordinal);
    }
}
