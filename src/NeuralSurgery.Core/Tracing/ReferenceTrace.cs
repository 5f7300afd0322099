using System.Collections.Generic;
using System.Collections.ObjectModel;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tracing;

/// <summary>
/// A value of the mirror as the <see cref="ReferenceTracer"/> computes it: the instantiated shape and one
/// feature set per element, in row-major order.
/// </summary>
public sealed record ReferenceValue(long[] Shape, FeatureSet[] Elements)
{
    /// <summary>The element at a full index (one coordinate per axis).</summary>
    public FeatureSet this[params long[] index] => Elements[ReferenceIndex.Offset(Shape, index)];
}

/// <summary>
/// The result of <see cref="ReferenceTracer.Trace"/>: the feature set of every element of every parameter
/// (the interaction map Φ) and of every value of the graph (docs/mirror.md).
/// </summary>
public sealed class ReferenceTrace
{
    private readonly Dictionary<string, long[]> _parameterShapes;

    internal ReferenceTrace(
        FeatureSpace features,
        IDictionary<string, FeatureSet[]> parameters,
        Dictionary<string, long[]> parameterShapes,
        IReadOnlyDictionary<ValueRef, ReferenceValue> values)
    {
        Features = features;
        _parameterShapes = parameterShapes;
        Parameters = new ReadOnlyDictionary<string, FeatureSet[]>(parameters);
        Values = values;
    }

    public FeatureSpace Features { get; }

    /// <summary>
    /// Per state_dict entry (<see cref="ModelGraph.Parameters"/>, buffers included): one feature set per element,
    /// row-major over the parameter's constant shape.
    /// </summary>
    public IReadOnlyDictionary<string, FeatureSet[]> Parameters { get; }

    /// <summary>
    /// Every graph input and every node output: instantiated shape and one feature set per element. A categorical
    /// input is stored as its one-hot view: the index shape followed by the vocabulary size.
    /// </summary>
    public IReadOnlyDictionary<ValueRef, ReferenceValue> Values { get; }

    /// <summary>The feature set of one element of a parameter, at a full index into its shape.</summary>
    public FeatureSet Parameter(string name, params long[] index) =>
        _parameterShapes.TryGetValue(name, out var shape)
            ? Parameters[name][ReferenceIndex.Offset(shape, index)]
            : throw new GraphException($"parameter '{name}' is not in the traced graph");

    /// <summary>The feature set of one element of a value, at a full index into its instantiated shape.</summary>
    public FeatureSet Value(ValueRef value, params long[] index) =>
        Values.TryGetValue(value, out var v)
            ? v[index]
            : throw new GraphException($"value '{value}' is not in the traced graph");
}
