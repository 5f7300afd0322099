using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Specs;

/// <summary>
/// What the compilation offers generated code: the mirror needs NeuralSurgery.Core's types, <c>Apply</c> needs
/// NeuralSurgery.Runtime's. Without them the generator emits only what compiles (the feature constants).
/// </summary>
public sealed record CompilationFacts(bool HasCore, bool HasRuntime, bool HasTorchSharp);

/// <summary>
/// A model after the model reader ran: the schema it was read against (with YAML locations) and what the reader
/// found (null when the schema was missing or invalid, or the class is gone).
/// </summary>
public sealed record ReadModel(ModelSpec Model, FeatureSchema? Schema, ModelReadResult? Result);

/// <summary>
/// What the mirror of one model is traced and emitted from: the graph and the schema without YAML locations, so a
/// whitespace edit of the YAML or an edit elsewhere leaves tracing and emitting cached.
/// </summary>
/// <param name="Type">Where to emit.</param>
/// <param name="MetadataName">The model class, as surgeries name their source.</param>
/// <param name="SchemaPath">The attribute's schema path, to find feature locations for NS1015.</param>
/// <param name="Graph">The graph of forward.</param>
/// <param name="Schema">The schema, every location replaced by the file's first position.</param>
public sealed record MirrorSpec(TypeSpec Type, string MetadataName, string SchemaPath, ModelGraph Graph, FeatureSchema Schema);

/// <summary>
/// A traced model: the graph's JSON (what the generated code carries), the features no parameter interacts with,
/// and the tracer's error when the graph could not be bound to its schema or traced.
/// </summary>
public sealed record TracedModel(MirrorSpec Mirror, string GraphJson, EquatableArray<FeatureRef> Unmapped, string? Error);

/// <summary>A feature of a schema input.</summary>
public sealed record FeatureRef(string Input, string Feature);

/// <summary>One <c>[SurgeryFrom]</c> step with both sides traced-ready (graphs and location-free schemas).</summary>
/// <param name="Target">The new model.</param>
/// <param name="Source">The old model.</param>
/// <param name="Renames">The new model's <c>[SurgeryRename]</c> attributes.</param>
/// <param name="Location">The <c>[SurgeryFrom]</c> argument, where the surgery's diagnostics go.</param>
/// <param name="ClassName">The generated class, unique among the new model's surgeries (<see cref="SurgeryGenerator.SurgeryClassNames"/>).</param>
public sealed record SurgerySpec(MirrorSpec Target, MirrorSpec Source, EquatableArray<RenameSpec> Renames, ReaderLocation Location, string ClassName);

/// <summary>What a surgery's generated class is made from: no locations.</summary>
/// <param name="Target">Where to emit (the new model).</param>
/// <param name="ClassName">The generated class (<c>SurgeryFromPolicyV1</c>).</param>
/// <param name="SourceName">The old model class name.</param>
/// <param name="SourceMetadataName">The old model class, fully qualified.</param>
/// <param name="PlanJson">The plan, exactly as <c>PlanJson.Write</c> writes it.</param>
/// <param name="Copied">Elements copied.</param>
/// <param name="TargetElements">Parameter elements of the new model.</param>
/// <param name="SourceElements">Parameter elements of the old model.</param>
/// <param name="SourceReference">The old model class as C# names it (<see cref="TypeSpec.Reference"/>), or null.</param>
/// <param name="Stamp">For a surgery from a snapshot: the model, version and fingerprint its checkpoints are stamped with; else null.</param>
public sealed record SurgeryEmitSpec(TypeSpec Target, string ClassName, string SourceName, string SourceMetadataName, string PlanJson, long Copied, long TargetElements, long SourceElements, string? SourceReference, VersionStampSpec? Stamp = null);

/// <summary>The version stamp (<c>CheckpointStamp</c>) a generated writer puts into the checkpoints it writes.</summary>
public sealed record VersionStampSpec(string Model, int Version, string Fingerprint);

/// <summary>A planned surgery: what to emit (null when it cannot be planned) and its NS2xxx diagnostics.</summary>
public sealed record PlannedSurgery(SurgeryEmitSpec? Emit, EquatableArray<DiagnosticInfo> Diagnostics);
