using NeuralSurgery.Collections;

namespace NeuralSurgery.Generator.Specs;

/// <summary>
/// What the feature constants are emitted from: the schema without YAML locations, so whitespace or comment edits
/// to the file compare equal and leave the emitting steps cached.
/// </summary>
/// <param name="Model">The schema's model name.</param>
/// <param name="Version">The schema version.</param>
/// <param name="FileName">The schema's file name (no folder), quoted in the generated documentation.</param>
/// <param name="Inputs">The inputs in declaration order.</param>
public sealed record FeaturesSpec(string Model, int Version, string FileName, EquatableArray<InputSpec> Inputs);

/// <summary>One schema input: dense (features) or categorical (values).</summary>
public sealed record InputSpec(string Name, bool IsCategorical, int Width, EquatableArray<FeatureSpec> Features, EquatableArray<string> Values);

/// <summary>One feature of a dense input: its first slot and its width.</summary>
public sealed record FeatureSpec(string Name, int Offset, int Width);
