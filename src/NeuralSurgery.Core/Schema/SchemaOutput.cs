using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>One output head of the model, with named features along its last axis.</summary>
/// <param name="Name">The output name, unique within the schema.</param>
/// <param name="Features">Its features in slot order.</param>
/// <param name="Location">The span of the output's name in the YAML file.</param>
public sealed record SchemaOutput(string Name, EquatableArray<SchemaFeature> Features, SourceLocation Location)
{
    /// <summary>The size of the last axis: the sum of feature widths.</summary>
    public int Width => SchemaFeatureLists.TotalWidth(Features);

    /// <summary>The feature with this name, or null.</summary>
    public SchemaFeature? FindFeature(string name) => SchemaFeatureLists.Find(Features, name);
}
