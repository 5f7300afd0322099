using System;
using System.Linq;
using System.Text;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tests.Tracing;
using NeuralSurgery.Tracing;
using static NeuralSurgery.Tests.Review.ReviewSupport;

namespace NeuralSurgery.Tests.Review;

/// <summary>Structured vs reference tracer on hand-written graphs RandomGraphs does not generate, and key sanity via identity diffs.</summary>
public class ReviewTracerTests
{
    private static void Agree(GraphBuilder b)
    {
        var graph = b.Build();
        var problem = TracerAgreementTests.Compare(graph, FeatureSpace.FromGraph(graph));
        Assert.True(problem is null, problem);
    }

    /// <summary>A diff of a graph against itself copies every element and drops nothing: the keys are consistent.</summary>
    private static void IdentityDiffCopiesEverything(ModelGraph graph)
    {
        var side = ModelSide.Trace(graph, null);
        var plan = SurgeryDiffer.Diff(side, ModelSide.Trace(graph, null));
        Assert.True(plan.Totals.CopiedElements == plan.Totals.TargetElements && plan.Dropped.Count == 0, Describe(plan));
    }

    [Fact]
    public void Reshape_splitting_a_keyed_axis_then_concat_then_linear()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 6);
        var y = b.FeatureInput("y", B, 2, 3);
        var split = b.Reshape(x, B, 2, 3);
        var cat = b.Concat(1, split, y); // [B, 4, 3]: two boxes along axis 1
        var flat = b.Flatten(cat); // [B, 12]
        b.Output("out", b.Linear("fc", flat, 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Reshape_merging_two_boxes_then_splitting_differently()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 2, 3);
        var y = b.FeatureInput("y", B, 2, 3);
        var cat = b.Concat(2, x, y); // [B, 2, 6]
        var r = b.Reshape(cat, B, 4, 3); // split each row of 6 into two rows of 3
        var t = b.Transpose(r, 1, 2); // [B, 3, 4]
        b.Output("out", b.Linear("fc", t, 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Transpose_then_linear_over_the_set_axis()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 4, 3);
        var h = b.Relu(b.Linear("enc", x, 5)); // [B, 4, 5]
        var t = b.Transpose(h, 1, 2); // [B, 5, 4]
        var mixed = b.Linear("mix", t, 2); // over the 4 set positions
        b.Output("out", b.Linear("head", b.Flatten(mixed), 3));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Theory]
    [InlineData(0, null, 2)]
    [InlineData(1, null, 3)]
    [InlineData(1, 8, 2)]
    [InlineData(2, 9, 4)]
    [InlineData(0, null, 5)]
    public void Strided_slices_across_several_boxes(long start, int? end, long step)
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 3);
        var y = b.FeatureInput("y", B, 2);
        var z = b.FeatureInput("z", B, 4);
        var cat = b.Concat(1, b.Linear("ex", x, 3), y, z); // keyed units, then slots, then slots
        var s = b.Slice(cat, 1, start, end, step);
        b.Output("out", b.Linear("fc", s, 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Strided_slice_of_a_two_box_layout_along_the_other_axis()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 3, 4);
        var y = b.FeatureInput("y", B, 2, 4);
        var cat = b.Concat(1, x, y); // [B, 5, 4], boxes along axis 1
        var s = b.Slice(b.Slice(cat, 1, 1, null, 2), 2, 1, null, 2); // [B, 2, 2]
        b.Output("out", b.Linear("fc", b.Flatten(s), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Broadcasting_a_multi_box_layout_against_a_keyed_row()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 2, 3);
        var y = b.FeatureInput("y", B, 1, 3);
        var cat = b.Concat(1, x, y); // [B, 3, 3]: two boxes
        var bias = b.Unsqueeze(b.Linear("g", b.FeatureInput("z", B, 2), 3), 1); // [B, 1, 3] keyed by g
        var sum = b.Add(cat, bias);
        var prod = b.Mul(sum, b.Sum(cat, 2, keepDim: true)); // [B, 3, 1] broadcast along the last axis
        b.Output("out", b.Linear("fc", prod, 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Softmax_and_layernorm_over_a_multi_box_layout()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 2, 3);
        var y = b.FeatureInput("y", B, 2, 3);
        var cat = b.Concat(1, x, y); // [B, 4, 3]
        var sm = b.Softmax(cat, 1);
        var ln = b.LayerNorm("ln", sm, 4, 3);
        b.Output("out", b.Linear("fc", b.Flatten(ln), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 1, 1, 1)]
    [InlineData(2, 2, 2, 1)]
    [InlineData(3, 1, 1, 2)]
    public void Conv1d_over_concatenated_channel_groups(long stride, long padding, long dilation, long groups)
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 5, 2);
        var y = b.FeatureInput("y", B, 5, 2);
        var ch = b.Transpose(b.Concat(2, x, y), 1, 2); // [B, 4, 5]
        var c = b.Conv1d("conv", ch, 4, 3, stride: stride, padding: padding, dilation: dilation, groups: groups);
        b.Output("out", b.Linear("fc", b.Flatten(c), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Bidirectional_two_layer_lstm_with_a_state_computed_from_features()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", Dim.Of(3), B, 2);
        var h0 = b.Unsqueeze(b.Linear("init_h", b.FeatureInput("ctx", B, 2), 3), 0); // [1, B, 3]
        var h0All = b.Concat(0, h0, h0, h0, h0); // [4, B, 3]
        var c0 = b.StateInput("c0", 4, B, 3);
        var (o, hn, _) = b.Lstm("lstm", x, 3, numLayers: 2, bidirectional: true, h0: h0All, c0: c0);
        b.Output("out", b.Linear("fc", b.Concat(1, b.Sum(o, 0), b.Sum(hn, 0)), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Gru_batch_first_on_a_narrowed_sequence()
    {
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", B, 5, 3);
        var n = b.Narrow(x, 1, 1, 3);
        var (o, hn) = b.Gru("gru", n, 2, batchFirst: true);
        b.Output("out", b.Linear("fc", b.Concat(1, b.Flatten(o), b.Squeeze(hn, 0)), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    [Fact]
    public void Stack_of_two_encoders_then_max()
    {
        var b = new GraphBuilder("m");
        var a = b.Linear("ea", b.FeatureInput("x", B, 3), 4);
        var c = b.Linear("eb", b.FeatureInput("y", B, 2), 4);
        var st = b.Stack(1, a, c); // [B, 2, 4]: axis 2 keyed by ea and eb in two boxes
        b.Output("out", b.Linear("fc", b.Max(st, 1), 2));
        Agree(b);
        IdentityDiffCopiesEverything(b.Build());
    }

    /// <summary>Every random graph diffed against itself copies everything and drops nothing.</summary>
    [Fact]
    public void Identity_diff_of_random_graphs_copies_everything()
    {
        var failures = new StringBuilder();
        var failed = 0;
        const int cases = 300;
        for (var seed = 0; seed < cases; seed++)
        {
            var graph = RandomGraphs.Generate(seed);
            string? problem;
            try
            {
                var plan = SurgeryDiffer.Diff(ModelSide.Trace(graph, null), ModelSide.Trace(graph, null));
                problem = plan.Totals.CopiedElements == plan.Totals.TargetElements && plan.Dropped.Count == 0 ? null : Describe(plan);
            }
            catch (Exception e)
            {
                problem = e.GetType().Name + ": " + e.Message;
            }

            if (problem is not null)
            {
                failed++;
                failures.AppendLine($"seed {seed}: " + (failed <= 2 ? problem + "\n" + RandomGraphs.Describe(graph) : problem.Split('\n').FirstOrDefault(l => l.StartsWith("dropped", StringComparison.Ordinal)) ?? problem));
            }
        }

        Assert.True(failed == 0, $"{failed} of {cases} random graphs do not copy themselves:\n{failures}");
    }
}
