using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Diagnostics;

namespace NeuralSurgery.Generator.Specs;

/// <summary>
/// One <c>*.features.yaml</c> AdditionalText after parsing: its path, what the generated code needs from the schema
/// (null when the schema has errors) and its errors located in the YAML file.
/// </summary>
/// <remarks>Must stay structurally equatable: the pipeline caches on it.</remarks>
public sealed record SchemaFileSpec(string Path, FeaturesSpec? Features, EquatableArray<DiagnosticInfo> Diagnostics);
