using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Reference tracer (baseline) against the structured tracer on the same OpenAI-Five-shaped graph, over the sizes
/// of <see cref="FiveFamily"/> where the reference takes at most about half a second per call; BenchmarkDotNet's
/// Ratio column is structured / reference. The <c>trace</c> command covers the larger sizes.
/// </summary>
[MemoryDiagnoser]
public class TracerBenchmarks
{
    private ModelGraph _graph = null!;
    private FeatureSpace _space = null!;

    /// <summary>The first four sizes of <see cref="FiveFamily.Positions"/>: Small, f0.33, f0.67, Medium.</summary>
    public static IEnumerable<FiveSize> Sizes => FiveFamily.Positions.Take(4).Select(p => new FiveSize(p));

    [ParamsSource(nameof(Sizes))]
    public FiveSize Size { get; set; } = new(0);

    [GlobalSetup]
    public void Setup()
    {
        var (graph, schema) = OpenAiFiveGraphs.Build(FiveFamily.At(Size.Position), 1);
        _graph = graph;
        _space = FeatureSpace.Bind(graph, schema);
    }

    [Benchmark(Baseline = true)]
    public ReferenceTrace Reference() => ReferenceTracer.Trace(_graph, _space);

    [Benchmark]
    public InteractionMap Structured() => StructuredTracer.Trace(_graph, _space);
}

/// <summary>A size of <see cref="FiveFamily"/>: shown by name, ordered by position (so BenchmarkDotNet lists Small first).</summary>
public sealed class FiveSize : IComparable<FiveSize>, IComparable
{
    public FiveSize(double position) => Position = position;

    public double Position { get; }

    public int CompareTo(FiveSize? other) => other is null ? 1 : Position.CompareTo(other.Position);

    public int CompareTo(object? obj) => CompareTo(obj as FiveSize);

    public override string ToString() => FiveFamily.Name(Position);
}

/// <summary>
/// The Large (OpenAI Five size, about 160M parameters) config: bind and structured trace of v1 and v2, the diff of
/// traced maps, and all three together (goal: under 50 ms).
/// </summary>
[MemoryDiagnoser]
public class LargeSurgeryBenchmarks
{
    private ModelGraph _graph1 = null!;
    private FeatureSchema _schema1 = null!;
    private ModelGraph _graph2 = null!;
    private FeatureSchema _schema2 = null!;
    private ModelSide _side1 = null!;
    private ModelSide _side2 = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_graph1, _schema1) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Large, 1);
        (_graph2, _schema2) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Large, 2);
        _side1 = ModelSide.Trace(_graph1, _schema1);
        _side2 = ModelSide.Trace(_graph2, _schema2);
    }

    [Benchmark]
    public ModelSide TraceV1() => ModelSide.Trace(_graph1, _schema1);

    [Benchmark]
    public ModelSide TraceV2() => ModelSide.Trace(_graph2, _schema2);

    [Benchmark]
    public SurgeryPlan Diff() => SurgeryDiffer.Diff(_side1, _side2);

    [Benchmark(Baseline = true)]
    public SurgeryPlan TraceBothAndDiff() =>
        SurgeryDiffer.Diff(ModelSide.Trace(_graph1, _schema1), ModelSide.Trace(_graph2, _schema2));
}
