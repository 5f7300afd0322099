using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tracing;

/// <summary>
/// One feature slot: a feature occupies <c>Width</c> consecutive slots along its input's feature axis; a
/// categorical value is one slot (its one-hot column).
/// </summary>
public sealed record FeatureSlot(int Id, string Input, string Feature, int Slot, bool IsCategorical)
{
    public override string ToString() => IsCategorical
        ? $"{Input}={Feature}"
        : Slot == 0 ? $"{Input}.{Feature}" : $"{Input}.{Feature}[{Slot.ToString(CultureInfo.InvariantCulture)}]";
}

/// <summary>
/// The id space of the mirror's bitfields: every slot of every schema input bound to the graph, numbered in
/// input order, then feature-axis order (or vocabulary order).
/// </summary>
public sealed class FeatureSpace
{
    private readonly Dictionary<string, (int Start, int Length)> _inputs;
    private readonly Dictionary<(string Input, string Feature), (int Start, int Length)> _features;

    private FeatureSpace(List<FeatureSlot> slots)
    {
        Slots = slots;
        _inputs = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        _features = new Dictionary<(string, string), (int, int)>();
        foreach (var group in slots.GroupBy(s => s.Input))
        {
            _inputs[group.Key] = (group.First().Id, group.Count());
            foreach (var f in group.GroupBy(s => s.Feature))
            {
                _features[(group.Key, f.Key)] = (f.First().Id, f.Count());
            }
        }
    }

    public IReadOnlyList<FeatureSlot> Slots { get; }

    public int Count => Slots.Count;

    public IEnumerable<string> Inputs => _inputs.Keys;

    /// <summary>Slot ids of a graph input (first id, count); throws for an input with no slots.</summary>
    public (int Start, int Length) InputSlots(string graphInput) =>
        _inputs.TryGetValue(graphInput, out var r) ? r : throw new ArgumentException($"input '{graphInput}' has no feature slots", nameof(graphInput));

    public bool HasInput(string graphInput) => _inputs.ContainsKey(graphInput);

    /// <summary>Slot ids of one feature (or categorical value) of an input.</summary>
    public (int Start, int Length)? FeatureSlots(string graphInput, string feature) =>
        _features.TryGetValue((graphInput, feature), out var r) ? r : null;

    /// <summary>
    /// Binds a graph's inputs to a schema: feature inputs take the schema input's features (the graph's last
    /// dimension must equal its width), categorical inputs its vocabulary (every Embedding reading it must have
    /// one row per value). Errors name the input, the schema file and both widths.
    /// </summary>
    public static FeatureSpace Bind(ModelGraph graph, FeatureSchema schema)
    {
        var slots = new List<FeatureSlot>();
        foreach (var input in graph.Inputs)
        {
            if (input.Role is InputRole.State or InputRole.Offsets)
            {
                continue;
            }

            var name = input.SchemaInput ?? input.Name;
            var s = schema.FindInput(name) ?? throw new GraphException($"input '{input.Name}' is bound to schema input '{name}', which {schema.Path} does not declare");
            if (input.Role == InputRole.Features)
            {
                if (s.Kind != InputKind.Dense)
                {
                    throw new GraphException($"input '{input.Name}' is a feature input but schema input '{name}' in {schema.Path} is categorical");
                }

                var last = input.FeatureDim;
                if (last != Dim.Of(s.Width))
                {
                    throw new GraphException($"input '{input.Name}' has feature axis {last} but schema input '{name}' in {schema.Path} has width {s.Width}");
                }

                foreach (var f in s.Features)
                {
                    for (var k = 0; k < f.Width; k++)
                    {
                        slots.Add(new FeatureSlot(slots.Count, input.Name, f.Name, k, false));
                    }
                }
            }
            else
            {
                if (s.Kind != InputKind.Categorical)
                {
                    throw new GraphException($"input '{input.Name}' is a categorical input but schema input '{name}' in {schema.Path} has dense features");
                }

                CheckVocabulary(graph, input.Name, s.Values.Count, $"schema input '{name}' in {schema.Path}");
                foreach (var v in s.Values)
                {
                    slots.Add(new FeatureSlot(slots.Count, input.Name, v, 0, true));
                }
            }
        }

        return new FeatureSpace(slots);
    }

    /// <summary>
    /// A feature space read off the graph alone: feature input slots named <c>f0, f1, …</c>, categorical values
    /// <c>v0, v1, …</c> sized by the Embedding that reads them. For tests and graphs without a schema.
    /// </summary>
    public static FeatureSpace FromGraph(ModelGraph graph)
    {
        var slots = new List<FeatureSlot>();
        foreach (var input in graph.Inputs)
        {
            if (input.Role == InputRole.Features)
            {
                var width = input.FeatureDim.Value;
                for (var k = 0; k < width; k++)
                {
                    slots.Add(new FeatureSlot(slots.Count, input.Name, "f" + k.ToString(CultureInfo.InvariantCulture), 0, false));
                }
            }
            else if (input.Role == InputRole.Categorical)
            {
                var size = VocabularySize(graph, input.Name) ?? throw new GraphException($"categorical input '{input.Name}' is read by no Embedding");
                for (var k = 0; k < size; k++)
                {
                    slots.Add(new FeatureSlot(slots.Count, input.Name, "v" + k.ToString(CultureInfo.InvariantCulture), 0, true));
                }
            }
        }

        return new FeatureSpace(slots);
    }

    private static long? VocabularySize(ModelGraph graph, string input)
    {
        long? size = null;
        foreach (var node in graph.Nodes)
        {
            if (node.Op is CallOp call && graph.FindModule(call.Module)?.Spec is EmbeddingSpec e && node.Operands[0].Source == input)
            {
                if (size is not null && size != e.NumEmbeddings)
                {
                    throw new GraphException($"categorical input '{input}' is read by Embeddings of {size} and {e.NumEmbeddings} rows; one vocabulary needs one size");
                }

                size = e.NumEmbeddings;
            }
        }

        return size;
    }

    private static void CheckVocabulary(ModelGraph graph, string input, int size, string what)
    {
        foreach (var node in graph.Nodes)
        {
            if (node.Op is CallOp call && graph.FindModule(call.Module)?.Spec is EmbeddingSpec e && node.Operands[0].Source == input && e.NumEmbeddings != size)
            {
                throw new GraphException($"Embedding '{call.Module}' has num_embeddings {e.NumEmbeddings} but {what} has {size} categorical values");
            }
        }
    }
}
