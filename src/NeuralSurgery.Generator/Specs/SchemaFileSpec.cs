using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Specs;

/// <summary>
/// One <c>*.features.yaml</c> AdditionalText after parsing: its path, what the generated code needs from the schema
/// (null when the schema has errors), the schema itself for the model reader, where each feature is (for
/// diagnostics inside the YAML file) and its errors located in the YAML file.
/// </summary>
/// <remarks>
/// Must stay structurally equatable: the pipeline caches on it. It changes with any edit of the file (locations);
/// the steps that must survive whitespace edits take <see cref="Features"/> or a schema without locations.
/// </remarks>
public sealed record SchemaFileSpec(
    string Path,
    FeaturesSpec? Features,
    EquatableArray<DiagnosticInfo> Diagnostics,
    FeatureSchema? Schema = null,
    EquatableArray<FeatureLocation> FeatureLocations = default);

/// <summary>Where a feature of a dense input is declared in the YAML file.</summary>
public sealed record FeatureLocation(string Input, string Feature, ReaderLocation Location);
