using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Specs;

/// <summary>
/// A <c>[SurgeryModel]</c> class as plain data: where to emit, the schema path its attribute names, and the
/// <c>[SurgeryFrom]</c> and <c>[SurgeryRename]</c> attributes beside it.
/// </summary>
/// <remarks>Must stay structurally equatable: no symbols, syntax or compilation.</remarks>
/// <param name="Type">The class and the types around it.</param>
/// <param name="MetadataName">The name <see cref="Microsoft.CodeAnalysis.Compilation.GetTypeByMetadataName"/> finds it by.</param>
/// <param name="SchemaPath">The attribute's argument, as written.</param>
/// <param name="AttributeLocation">The attribute's argument (or the attribute) in C# source.</param>
/// <param name="Sources">One per <c>[SurgeryFrom]</c>, in declaration order.</param>
/// <param name="Renames">One per <c>[SurgeryRename]</c>, in declaration order.</param>
public sealed record ModelSpec(
    TypeSpec Type,
    string MetadataName,
    string SchemaPath,
    ReaderLocation AttributeLocation,
    EquatableArray<SurgerySourceSpec> Sources,
    EquatableArray<RenameSpec> Renames);

/// <summary>A <c>[SurgeryFrom(typeof(Old))]</c>: the old class's metadata name, its name as written, and where.</summary>
public sealed record SurgerySourceSpec(string MetadataName, string Name, ReaderLocation Location);

/// <summary>A <c>[SurgeryRename("old.path", "new.path")]</c>.</summary>
public sealed record RenameSpec(string From, string To);

/// <summary>
/// Where a partial declaration for the model goes: its namespace (empty for the global namespace), and the type
/// declarations from the outermost containing type to the model class itself.
/// </summary>
/// <param name="Namespace">The namespace as written in C# (keywords escaped: <c>Game.@event</c>), or empty.</param>
/// <param name="Name">The model class name.</param>
/// <param name="FullName">Namespace and metadata names joined by dots (<c>global</c> for no namespace), for hint names.</param>
/// <param name="Declarations">For example <c>partial class Outer</c>, <c>partial class Policy</c>.</param>
/// <param name="Reference">
/// The type as generated code names it from anywhere (<c>global::Game.Models.PolicyV1</c>), or null for a generic
/// type or one inside a generic type, which has no such name.
/// </param>
public sealed record TypeSpec(string Namespace, string Name, string FullName, EquatableArray<string> Declarations, string? Reference);

/// <summary>A model with the schema its attribute names; <see cref="Features"/> is null when the file was not found or has errors.</summary>
public sealed record ResolvedModel(ModelSpec Model, bool SchemaFound, FeaturesSpec? Features);

/// <summary>The input of the feature-constants emitter: no C# or YAML locations.</summary>
public sealed record FeatureConstantsSpec(TypeSpec Type, FeaturesSpec Features);

/// <summary>A generated file.</summary>
public sealed record GeneratedSource(string HintName, string Text);
