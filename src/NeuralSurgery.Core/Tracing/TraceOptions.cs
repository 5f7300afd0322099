using System;
using System.Collections.Generic;

namespace NeuralSurgery.Tracing;

/// <summary>
/// Concrete sizes for symbolic dimensions (batch, set sizes, sequence lengths) while tracing. Feature sets do
/// not depend on these sizes along uniform axes, but a recurrence needs two steps before its hidden-to-hidden
/// weights see features, so the default is 2.
/// </summary>
public sealed class TraceOptions
{
    public static TraceOptions Default { get; } = new();

    public long DefaultSymbolSize { get; init; } = 2;

    public IReadOnlyDictionary<string, long> SymbolSizes { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    public long SizeOf(string symbol) => SymbolSizes.TryGetValue(symbol, out var size) ? size : DefaultSymbolSize;

    /// <summary>The largest symbol size <see cref="For"/> tries before it gives up.</summary>
    public const long MaxAutomaticSize = 4096;

    /// <summary>
    /// The options a trace of <paramref name="graph"/> uses when none are given: the default size, or the smallest
    /// larger one for which every shape of the graph has positive dimensions. A Conv1d of kernel k over a set or
    /// sequence axis N makes N − k + 1 positions, which the default N = 2 cannot give for k ≥ 3; the interaction
    /// sets do not depend on the size once every shape exists, so the smallest size that fits is the right one.
    /// </summary>
    public static TraceOptions For(Graph.ModelGraph graph)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        for (var size = Default.DefaultSymbolSize; size <= MaxAutomaticSize; size++)
        {
            if (Fits(graph, size))
            {
                return size == Default.DefaultSymbolSize ? Default : new TraceOptions { DefaultSymbolSize = size };
            }
        }

        return Default; // no size fits: the trace reports the shape that never has a positive size
    }

    private static bool Fits(Graph.ModelGraph graph, long size)
    {
        long Size(string _) => size;
        foreach (var input in graph.Inputs)
        {
            if (!Positive(input.Shape.Evaluate(Size)))
            {
                return false;
            }
        }

        foreach (var node in graph.Nodes)
        {
            foreach (var shape in node.OutputShapes)
            {
                if (!Positive(shape.Evaluate(Size)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool Positive(long[] dims)
    {
        foreach (var d in dims)
        {
            if (d < 1)
            {
                return false;
            }
        }

        return true;
    }
}
