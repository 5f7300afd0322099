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
