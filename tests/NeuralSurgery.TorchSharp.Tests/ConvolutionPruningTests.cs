using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Benchmarks.Repro;
using NeuralSurgery.Diff;
using NeuralSurgery.Runtime.Pruning;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.TorchSharp.Pruning;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Filters of paper 002's CNN (the Fashion-MNIST reproduction's model, whose forward opens a dispose scope as
/// TorchSharp models often do): MRS and MRP score a convolution's output channels, and a constant filter read by an
/// unpadded convolution is removed exactly by mean replacement (its per-channel mean folded into the next bias over
/// every kernel tap), while zero replacement is not exact.
/// </summary>
public sealed class ConvolutionPruningTests
{
    [Fact]
    public void The_reproductions_CNN_graph_names_and_shapes_its_parameters_as_the_module_does()
    {
        using var model = new PaperCnn(6, 12, 20);
        var graph = PaperCnn.Graph(6, 12, 20);
        var live = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(live.Keys.Order(), graph.Parameters.Select(p => p.Name).Order());
        foreach (var p in graph.Parameters)
        {
            Assert.Equal(live[p.Name], p.Shape.Dims.Select(d => d.Value));
        }

        Assert.Equal(live.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)), PaperCnn.Parameters(6, 12, 20));
    }

    [Fact]
    public void A_constant_filter_is_removed_exactly_by_mean_replacement_through_an_unpadded_convolution()
    {
        torch.manual_seed(41);
        using var old = new PaperCnn();
        using (no_grad())
        {
            var state = old.state_dict();
            state["conv1.weight"][2].zero_(); // filter 2 outputs its bias, 0.3, everywhere: after pool and ReLU still 0.3
            state["conv1.bias"][2].fill_(0.3);
        }

        var x = randn(16, 1, 28, 28);
        var labels = randint(0, 10, [16]);
        var statistics = UnitSaliency.Measure(old.Layer("conv1"), () => nn.functional.cross_entropy(old.call(x), labels, reduction: nn.Reduction.None));
        Assert.Equal(8, statistics.Mrs.Length); // one per filter (axis 1), not per column of the image
        Assert.True(statistics.Mrs[2] <= 1e-5); // zero but for float rounding of the mean (0.3 is not a float)
        Assert.Equal(0.3, statistics.Mean[2], 6);
        Assert.All(statistics.Mrs.Where((_, i) => i != 2), m => Assert.True(m > 0));
        var mrp = UnitSaliency.Mrp(old.Layer("conv1"), () => nn.functional.cross_entropy(old.call(x), labels, reduction: nn.Reduction.None));
        Assert.Equal(8, mrp.Length);
        Assert.True(mrp[2] <= 1e-4 && mrp.Where((_, i) => i != 2).All(m => m > 1e-3)); // 16 losses, each changed by a rounding at most

        var graph = PaperCnn.Graph(8, 16, 32);
        var removal = UnitRemoval.Plan(ModelSide.Trace(graph, null), "conv1", [2]);
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal(("conv2", "conv2.weight", "conv2.bias"), (consumer.Module, consumer.Weight, consumer.Bias));
        Assert.Equal([2L], consumer.Columns);
        Assert.DoesNotContain(removal.Plan.Notes, n => n.Contains("not compensated", StringComparison.Ordinal));

        var means = LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(x).Dispose());
        Assert.Equal(8, means["conv2"].Length); // per input channel of conv2
        Assert.Equal(0.3, means["conv2"][2], 6);
        var reference = InputMeans.Measure(ReferenceModel.Load(graph, LiveStateDict.Of(old)), removal, [UnitRemovalTests.Batch("image", x)]);
        Assert.Equal(means["conv2"], reference["conv2"], (a, b) => Math.Abs(a - b) < 1e-5);

        CheckExactOnlyWithMeans(old, removal, means, () => new PaperCnn(7, 16, 32));
    }

    [Fact]
    public void A_constant_filter_read_through_a_flatten_is_removed_exactly_from_the_linear_layers_columns()
    {
        torch.manual_seed(42);
        using var old = new PaperCnn(5, 13, 26);
        using (no_grad())
        {
            var state = old.state_dict();
            state["conv2.weight"][7].zero_(); // conv2 filter 7 is 0.2 at all 16 positions fc1 reads (columns 112..127)
            state["conv2.bias"][7].fill_(0.2);
        }

        var removal = UnitRemoval.Plan(ModelSide.Trace(PaperCnn.Graph(5, 13, 26), null), "conv2", [2, 7, 11]);
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal("fc1", consumer.Module);
        Assert.Equal(new[] { 2, 7, 11 }.SelectMany(c => Enumerable.Range(c * 16, 16)).Select(i => (long)i), consumer.Columns);
        var x = randn(32, 1, 28, 28);
        var means = LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(x).Dispose());
        Assert.All(Enumerable.Range(112, 16), i => Assert.Equal(0.2, means["fc1"][i], 6));

        // Only filter 7 is constant, so remove it alone for the exact check; 2 and 11 above checked the columns.
        var single = UnitRemoval.Plan(ModelSide.Trace(PaperCnn.Graph(5, 13, 26), null), "conv2", [7]);
        CheckExactOnlyWithMeans(old, single, LiveMeanReplacement.MeasureInputMeans(old, single, () => old.call(x).Dispose()), () => new PaperCnn(5, 12, 26));
    }

    /// <summary>Eq. 1 on fresh images: the mean-replaced narrower model computes what the old one did (≤ 1e-5); the zero-replaced one does not.</summary>
    private static void CheckExactOnlyWithMeans(PaperCnn old, UnitRemovalPlan removal, IReadOnlyDictionary<string, double[]> means, Func<PaperCnn> narrower)
    {
        using var pruned = narrower();
        LiveSurgery.Apply(LiveMeanReplacement.Plan(removal, old, means), old, pruned);
        using var zero = narrower();
        LiveSurgery.Apply(removal.Plan, old, zero);
        var other = randn(8, 1, 28, 28);
        using var expected = old.call(other);
        Assert.True((expected - pruned.call(other)).abs().max().item<float>() <= 1e-5);
        Assert.True((expected - zero.call(other)).abs().max().item<float>() > 1e-3);
    }

    [Fact]
    public void Per_channel_input_means_refuse_values_that_are_not_whole_rows()
    {
        var means = new InputMeans(["conv2"]);
        means.Add("conv2", new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, 2, 3); // [2, 2, 3]: channel 0 = 1..3, 7..9
        Assert.Equal([5.0, 8.0], means.Means()["conv2"]);
        var error = Assert.Throws<ArgumentException>(() => means.Add("conv2", new float[10], 2, 3));
        Assert.StartsWith("input of module 'conv2': 10 values in rows of 2 × 3; expected whole rows of 2", error.Message, StringComparison.Ordinal);
    }
}
