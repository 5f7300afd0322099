using NeuralSurgery.Graph;
using NeuralSurgery.Schema;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>One side of a diff: a graph, the schema it is bound to (if any), and its interaction map.</summary>
public sealed record ModelSide(ModelGraph Graph, FeatureSchema? Schema, InteractionMap Map)
{
    /// <summary>Binds the graph to the schema (or reads the feature space off the graph) and traces it.</summary>
    public static ModelSide Trace(ModelGraph graph, FeatureSchema? schema, TraceOptions? options = null)
    {
        var space = schema is null ? FeatureSpace.FromGraph(graph) : FeatureSpace.Bind(graph, schema);
        return new ModelSide(graph, schema, StructuredTracer.Trace(graph, space, options));
    }
}
