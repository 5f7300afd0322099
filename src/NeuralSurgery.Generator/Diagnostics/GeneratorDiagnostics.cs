using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Diagnostics;

/// <summary>
/// The generator's own diagnostics: the NS0xxx schema errors as Roslyn descriptors (ids and titles from
/// <see cref="SchemaErrorCodes"/>, the message is the reader's), and the errors of the attribute wiring.
/// Each has a help link to docs/diagnostics/NSxxxx.md and a row in AnalyzerReleases.Unshipped.md.
/// </summary>
public static class GeneratorDiagnostics
{
    public const string SchemaCategory = "NeuralSurgery.Schema";

    // One descriptor per schema error code; the message format is the reader's message, verbatim.
    public static readonly DiagnosticDescriptor YamlSyntax = CreateSchema(SchemaErrorCodes.YamlSyntax);

    public static readonly DiagnosticDescriptor UnknownKey = CreateSchema(SchemaErrorCodes.UnknownKey);

    public static readonly DiagnosticDescriptor DuplicateName = CreateSchema(SchemaErrorCodes.DuplicateName);

    public static readonly DiagnosticDescriptor InvalidWidth = CreateSchema(SchemaErrorCodes.InvalidWidth);

    public static readonly DiagnosticDescriptor EmptyDeclaration = CreateSchema(SchemaErrorCodes.EmptyDeclaration);

    public static readonly DiagnosticDescriptor DuplicateCategoricalValue = CreateSchema(SchemaErrorCodes.DuplicateCategoricalValue);

    public static readonly DiagnosticDescriptor RenameTargetNotFound = CreateSchema(SchemaErrorCodes.RenameTargetNotFound);

    public static readonly DiagnosticDescriptor InvalidValue = CreateSchema(SchemaErrorCodes.InvalidValue);

    public static readonly DiagnosticDescriptor FileNotReadable = CreateSchema(SchemaErrorCodes.FileNotReadable);

    /// <summary>The NS0xxx descriptors, in <see cref="SchemaErrorCodes.All"/> order.</summary>
    public static ImmutableArray<DiagnosticDescriptor> Schema { get; } =
        ImmutableArray.CreateRange(System.Linq.Enumerable.Select(SchemaErrorCodes.All, CreateSchema));

    /// <summary>{0} the path the attribute gives, {1} the model class, {2} how schemas reach the generator.</summary>
    public static readonly DiagnosticDescriptor SchemaFileNotFound = DiagnosticCatalogue.Create(
        "NS0010",
        "Feature schema not found",
        "No AdditionalFiles item matches the feature schema '{0}' named by [SurgeryModel] on '{1}'; {2}",
        SchemaCategory,
        DiagnosticSeverity.Error);

    /// <summary>Every descriptor the generator reports.</summary>
    public static ImmutableArray<DiagnosticDescriptor> All { get; } = Schema.Add(SchemaFileNotFound);

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = DiagnosticCatalogue.Index(All);

    /// <summary>The descriptor for an id of <see cref="All"/>.</summary>
    public static DiagnosticDescriptor Find(string id) => DiagnosticCatalogue.Find(ById, id, "NS0xxx");

    private static DiagnosticDescriptor CreateSchema(string id) =>
        DiagnosticCatalogue.Create(id, SchemaErrorCodes.GetTitle(id)!, "{0}", SchemaCategory, DiagnosticSeverity.Error);
}
