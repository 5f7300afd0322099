using System.Linq;
using System.Text;
using NeuralSurgery.Graph;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Tracing;

/// <summary>
/// The structured tracer must give exactly the reference tracer's Φ (and every value's sets) on every graph:
/// a property over seeded random graphs that cover every op (DESIGN.md section 5).
/// </summary>
public class TracerAgreementTests
{
    public const int Cases = 600;

    [Fact]
    public void Structured_tracer_equals_reference_tracer_on_random_graphs()
    {
        var failures = new StringBuilder();
        var failed = 0;
        for (var seed = 0; seed < Cases; seed++)
        {
            var graph = RandomGraphs.Generate(seed);
            var problem = Compare(graph, FeatureSpace.FromGraph(graph));
            if (problem is not null)
            {
                failed++;
                if (failed <= 3)
                {
                    failures.AppendLine($"seed {seed}: {problem}").AppendLine(RandomGraphs.Describe(graph));
                }
            }
        }

        Assert.True(failed == 0, $"{failed} of {Cases} random graphs disagree:\n{failures}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Structured_tracer_equals_reference_tracer_on_the_small_openai_five_graph(int version)
    {
        var (graph, schema) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, version);
        var problem = Compare(graph, FeatureSpace.Bind(graph, schema));
        Assert.True(problem is null, problem);
    }

    [Fact]
    public void A_conv_wider_than_the_default_set_size_is_traced_with_the_smallest_size_that_fits()
    {
        // Conv1d of kernel 5 over a set axis N: N − 4 positions, none at the default N = 2. Without options the trace
        // takes N = 5, both tracers alike; the interaction sets do not depend on it.
        var g = new GraphBuilder("m");
        var x = g.FeatureInput("x", Dim.Batch, Dim.Symbol("N"), 3);
        var conv = g.Conv1d("conv", g.Transpose(x, 1, 2), 4, 5);
        g.Output("y", g.Reduce(conv, ReduceKind.Max, 2));
        var graph = g.Build();
        Assert.Equal(5, TraceOptions.For(graph).DefaultSymbolSize);
        var space = FeatureSpace.FromGraph(graph);
        Assert.Null(Compare(graph, space));
        // Channels are features and positions are set members: each weight element reads its one channel.
        Assert.All(StructuredTracer.Trace(graph, space)["conv.weight"].Expand(), set => Assert.Equal(1, set.Count));

        var tooSmall = Assert.Throws<GraphException>(() => StructuredTracer.Trace(graph, space, new TraceOptions { DefaultSymbolSize = 2 }));
        Assert.Contains("dimension below 1", tooSmall.Message, System.StringComparison.Ordinal);
    }

    /// <summary>Images built by hand, so every window variant is covered whatever the random graphs draw.</summary>
    public static TheoryData<string> WindowCases() => new(WindowGraphs.Keys);

    private static readonly System.Collections.Generic.Dictionary<string, System.Func<ModelGraph>> WindowGraphs = new()
    {
        // Features on W (the last axis): a strided, dilated, grouped conv mixes neighbouring features per group.
        ["conv2d_strided_dilated_grouped"] = () => Image((b, x) => b.Call(b.Module("conv", new Conv2dSpec(4, 6, 3, 3, StrideH: 2, StrideW: 2, PaddingH: 1, PaddingW: 2, DilationW: 2, Groups: 2)), x)[0], 4, 7, 9),
        ["conv2d_features_on_channels"] = () => Graph(b =>
        {
            // [B, H, W, C] transposed to channels first: each weight column reads its own channel (feature).
            var x = b.FeatureInput("x", Dim.Batch, 3, 4, 5);
            var channels = b.Transpose(b.Transpose(x, 1, 3), 2, 3);
            return b.Conv2d("conv", channels, 4, 2, stride: 2, padding: 1);
        }),
        ["bn2d_then_max_pool_padded"] = () => Image((b, x) => b.Pool(b.BatchNorm2d("bn", x), PoolKind.Max, [3, 2], stride: [2, 1], padding: [1, 1]), 2, 5, 6),
        ["avg_pool2d_and_adaptive_non_dividing"] = () => Image((b, x) => b.AdaptivePool(b.Pool(x, PoolKind.Avg, [2, 2], padding: [1, 1]), PoolKind.Avg, 3, 2), 2, 7, 7),
        ["adaptive_max_upsampling"] = () => Image((b, x) => b.AdaptivePool(x, PoolKind.Max, 4, 5), 2, 3, 4),
        ["pool1d_on_a_set"] = () => Graph(b => b.AdaptivePool(b.Pool(b.FeatureInput("x", Dim.Batch, Dim.Symbol("N"), 7), PoolKind.Max, [3], stride: [2], padding: [1], dilation: [2]), PoolKind.Avg, 2)),
        ["small_cnn"] = () => Image((b, x) =>
        {
            var c = b.Relu(b.BatchNorm2d("bn", b.Conv2d("conv", x, 4, 3, padding: 1, groups: 2)));
            return b.Linear("fc", b.Flatten(b.AdaptivePool(b.Pool(c, PoolKind.Max, [2, 2]), PoolKind.Avg, 1, 2), 1), 3);
        }, 2, 6, 6),
    };

    [Theory]
    [MemberData(nameof(WindowCases))]
    public void Structured_tracer_equals_reference_tracer_on_images(string name)
    {
        var graph = WindowGraphs[name]();
        var problem = Compare(graph, FeatureSpace.FromGraph(graph));
        Assert.True(problem is null, problem);
    }

    private static ModelGraph Graph(System.Func<GraphBuilder, GraphValue> body)
    {
        var b = new GraphBuilder("m");
        b.Output("y", body(b));
        return b.Build();
    }

    private static ModelGraph Image(System.Func<GraphBuilder, GraphValue, GraphValue> body, long c, long h, long w) =>
        Graph(b => body(b, b.FeatureInput("x", Dim.Batch, c, h, w)));

    [Fact]
    public void A_disagreement_is_detected()
    {
        // The comparison itself must be able to fail: a map traced with a different feature numbering differs.
        var b = new GraphBuilder("m");
        var x = b.FeatureInput("x", Dim.Batch, 3);
        var y = b.FeatureInput("y", Dim.Batch, 3);
        b.Output("out", b.Linear("fc", b.Concat(1, x, y), 2));
        var graph = b.Build();
        var space = FeatureSpace.FromGraph(graph);
        var reference = ReferenceTracer.Trace(graph, space);
        var swapped = new GraphBuilder("m");
        var y2 = swapped.FeatureInput("x", Dim.Batch, 3);
        var x2 = swapped.FeatureInput("y", Dim.Batch, 3);
        swapped.Output("out", swapped.Linear("fc", swapped.Concat(1, x2, y2), 2));
        var other = StructuredTracer.Trace(swapped.Build(), space);
        Assert.NotEqual(reference.Parameters["fc.weight"], other["fc.weight"].Expand());
    }

    /// <summary>Null when both tracers agree on every parameter element and every value element.</summary>
    internal static string? Compare(ModelGraph graph, FeatureSpace space)
    {
        var reference = ReferenceTracer.Trace(graph, space);
        var structured = StructuredTracer.Trace(graph, space);
        foreach (var p in graph.Parameters)
        {
            var expected = reference.Parameters[p.Name];
            var actual = structured[p.Name].Expand();
            var diff = FirstDifference(expected, actual);
            if (diff >= 0)
            {
                return $"parameter '{p.Name}' element {diff}: reference {expected[diff]}, structured {actual[diff]}";
            }
        }

        foreach (var (value, expected) in reference.Values)
        {
            var layout = structured.Values[value];
            if (!layout.Shape.SequenceEqual(expected.Shape))
            {
                return $"value '{value}': shape [{string.Join(", ", layout.Shape)}] vs reference [{string.Join(", ", expected.Shape)}]";
            }

            var actual = layout.Expand();
            var diff = FirstDifference(expected.Elements, actual);
            if (diff >= 0)
            {
                return $"value '{value}' element {diff}: reference {expected.Elements[diff]}, structured {actual[diff]}";
            }
        }

        return null;
    }

    private static int FirstDifference(FeatureSet[] expected, FeatureSet[] actual)
    {
        if (expected.Length != actual.Length)
        {
            return 0;
        }

        for (var i = 0; i < expected.Length; i++)
        {
            if (!expected[i].Equals(actual[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
