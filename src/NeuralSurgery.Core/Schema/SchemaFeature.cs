namespace NeuralSurgery.Schema;

/// <summary>
/// One named feature along the feature axis (the last axis) of a dense input or an output.
/// </summary>
/// <param name="Name">The feature name, unique within its input or output.</param>
/// <param name="Width">How many slots the feature occupies (at least 1).</param>
/// <param name="Offset">The first slot of the feature along the feature axis.</param>
/// <param name="Location">The span of the feature's name in the YAML file.</param>
public sealed record SchemaFeature(string Name, int Width, int Offset, SourceLocation Location);
