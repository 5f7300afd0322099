using System;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Configuration;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Emit;
using NeuralSurgery.Generator.Specs;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator;

/// <summary>The work of each pipeline step; every method takes and returns plain data except where it reads Roslyn inputs.</summary>
public sealed partial class SurgeryGenerator
{
    /// <summary>The file name suffix of feature schemas.</summary>
    public const string SchemaFileSuffix = ".features.yaml";

    /// <summary>How <see cref="GeneratorOptions.IncludeSchemas"/> was set, for the message of a missing schema.</summary>
    internal enum IncludeSchemasSetting
    {
        Unset,
        On,
        Off,
    }

    internal static bool IsSchemaFile(string path) => path.EndsWith(SchemaFileSuffix, StringComparison.OrdinalIgnoreCase);

    internal static SchemaFileSpec ParseSchemaFile(AdditionalText file, CancellationToken cancellationToken)
    {
        var text = file.GetText(cancellationToken);
        if (text is null)
        {
            var location = new ReaderLocation(file.Path, default, default);
            var message = "cannot read schema file '" + file.Path + "'; expected a readable YAML file";
            return new SchemaFileSpec(file.Path, null, EquatableArray.Create(new DiagnosticInfo(SchemaErrorCodes.FileNotReadable, location, EquatableArray.Create(message))));
        }

        var result = FeatureSchemaReader.Parse(text.ToString(), file.Path);
        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>(result.Diagnostics.Count);
        foreach (var diagnostic in result.Diagnostics)
        {
            diagnostics.Add(new DiagnosticInfo(diagnostic.Id, ToLocation(file.Path, text, diagnostic.Location), EquatableArray.Create(diagnostic.Message)));
        }

        if (!result.Success)
        {
            return new SchemaFileSpec(file.Path, null, diagnostics.ToImmutable());
        }

        var schema = result.Schema!;
        var locations = ImmutableArray.CreateBuilder<FeatureLocation>();
        foreach (var input in schema.Inputs)
        {
            // An empty feature name locates the input itself (categorical values have no locations of their own).
            locations.Add(new FeatureLocation(input.Name, string.Empty, ToLocation(file.Path, text, input.Location)));
            foreach (var feature in input.Features)
            {
                locations.Add(new FeatureLocation(input.Name, feature.Name, ToLocation(file.Path, text, feature.Location)));
            }
        }

        return new SchemaFileSpec(file.Path, ToFeatures(schema, file.Path), diagnostics.ToImmutable(), schema, locations.ToImmutable());
    }

    /// <summary>
    /// A Roslyn location inside the YAML file: the reader's 1-based, end-exclusive line and column become a 0-based
    /// <see cref="LinePositionSpan"/> and the matching <see cref="TextSpan"/>, clamped to the text.
    /// </summary>
    internal static ReaderLocation ToLocation(string path, SourceText text, SourceLocation location)
    {
        var start = Clamp(text, location.Line, location.Column);
        var end = Clamp(text, location.EndLine, location.EndColumn);
        if (end < start)
        {
            end = start;
        }

        var span = TextSpan.FromBounds(start, end);
        return new ReaderLocation(path, span, text.Lines.GetLinePositionSpan(span));
    }

    private static int Clamp(SourceText text, int line, int column)
    {
        if (text.Lines.Count == 0)
        {
            return 0;
        }

        var lineIndex = Math.Min(Math.Max(line - 1, 0), text.Lines.Count - 1);
        var textLine = text.Lines[lineIndex];
        return textLine.Start + Math.Min(Math.Max(column - 1, 0), textLine.End - textLine.Start);
    }

    private static FeaturesSpec ToFeatures(FeatureSchema schema, string path)
    {
        var inputs = ImmutableArray.CreateBuilder<InputSpec>(schema.Inputs.Count);
        foreach (var input in schema.Inputs)
        {
            var features = ImmutableArray.CreateBuilder<FeatureSpec>(input.Features.Count);
            foreach (var feature in input.Features)
            {
                features.Add(new FeatureSpec(feature.Name, feature.Offset, feature.Width));
            }

            inputs.Add(new InputSpec(input.Name, input.Kind == InputKind.Categorical, input.Width, features.ToImmutable(), input.Values));
        }

        return new FeaturesSpec(schema.Model, schema.Version, FileName(path), inputs.ToImmutable());
    }

    private static string FileName(string path)
    {
        var slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        return path.Substring(slash + 1);
    }

    internal static ModelSpec? ReadModel(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.Length == 0)
        {
            return null;
        }

        var attribute = context.Attributes[0];
        var schemaPath = attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is string path ? path : string.Empty;

        var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var location = syntax?.ArgumentList is { Arguments.Count: > 0 } arguments
            ? arguments.Arguments[0].Expression.GetLocation()
            : syntax?.GetLocation() ?? context.TargetNode.GetLocation();

        var sources = ImmutableArray.CreateBuilder<SurgerySourceSpec>();
        var renames = ImmutableArray.CreateBuilder<RenameSpec>();
        foreach (var other in type.GetAttributes())
        {
            var name = other.AttributeClass?.ToDisplayString();
            if (name == AttributeSource.SurgeryFromAttributeFullName
                && other.ConstructorArguments.Length == 1
                && other.ConstructorArguments[0].Value is INamedTypeSymbol source)
            {
                var argument = (other.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax)?.ArgumentList?.Arguments.FirstOrDefault();
                var at = argument?.Expression.GetLocation() ?? location;
                sources.Add(new SurgerySourceSpec(MetadataName(source), source.Name, ReaderLocation.From(at)));
            }
            else if (name == AttributeSource.SurgeryRenameAttributeFullName
                && other.ConstructorArguments.Length == 2
                && other.ConstructorArguments[0].Value is string from
                && other.ConstructorArguments[1].Value is string to)
            {
                renames.Add(new RenameSpec(from, to));
            }
        }

        return new ModelSpec(ReadType(type), MetadataName(type), schemaPath, ReaderLocation.From(location), sources.ToImmutable(), renames.ToImmutable());
    }

    private static string MetadataName(INamedTypeSymbol type) => FrontEnd.ModelFrontEnd.MetadataName(type);

    private static TypeSpec ReadType(INamedTypeSymbol type)
    {
        var declarations = ImmutableArray.CreateBuilder<string>();
        var fullName = new StringBuilder();
        for (var current = type; current is not null; current = current.ContainingType)
        {
            declarations.Insert(0, Declaration(current));
            fullName.Insert(0, current.MetadataName).Insert(0, '.');
        }

        // The namespace twice: escaped for the generated namespace declaration (namespace Game.@event), and as its
        // plain names for the hint name, which Roslyn rejects when it contains '@'.
        var escaped = new StringBuilder();
        var plain = new StringBuilder();
        for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            var separator = plain.Length > 0 ? "." : string.Empty;
            escaped.Insert(0, Identifiers.Escape(ns.Name) + separator);
            plain.Insert(0, ns.Name + separator);
        }

        fullName.Insert(0, plain.Length > 0 ? plain.ToString() : "global");
        var generic = false;
        for (var current = type; current is not null; current = current.ContainingType)
        {
            generic |= current.IsGenericType;
        }

        var reference = generic ? null : type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        return new TypeSpec(escaped.ToString(), type.Name, fullName.ToString(), declarations.ToImmutable(), reference);
    }

    private static string Declaration(INamedTypeSymbol type)
    {
        var keyword = type.TypeKind switch
        {
            TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
            TypeKind.Interface => "interface",
            _ => type.IsRecord ? "record" : "class",
        };
        // Names are escaped: a class or type parameter may be called like a keyword (class @event).
        var declaration = "partial " + keyword + " " + Identifiers.Escape(type.Name);
        if (type.TypeParameters.Length > 0)
        {
            var names = new string[type.TypeParameters.Length];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = Identifiers.Escape(type.TypeParameters[i].Name);
            }

            declaration += "<" + string.Join(", ", names) + ">";
        }

        return declaration;
    }

    /// <summary>A model with the schema its attribute names (see <see cref="FindSchemaFile"/>).</summary>
    internal static ResolvedModel Resolve(ModelSpec model, ImmutableArray<SchemaFileSpec> files)
    {
        var match = FindSchemaFile(model.SchemaPath, files);
        return new ResolvedModel(model, match is not null, match?.Features);
    }

    private static string Normalize(string path) => path.Replace('\\', '/');

    internal static IncludeSchemasSetting ReadIncludeSchemas(AnalyzerConfigOptions options)
    {
        if (!options.TryGetValue(GeneratorOptions.BuildPropertyPrefix + GeneratorOptions.IncludeSchemas, out var value) || string.IsNullOrWhiteSpace(value))
        {
            return IncludeSchemasSetting.Unset;
        }

        return string.Equals(value.Trim(), "false", StringComparison.OrdinalIgnoreCase) ? IncludeSchemasSetting.Off : IncludeSchemasSetting.On;
    }

    internal static DiagnosticInfo SchemaNotFound(ModelSpec model, IncludeSchemasSetting includeSchemas)
    {
        var hint = includeSchemas switch
        {
            IncludeSchemasSetting.On => "expected a *.features.yaml file in the project whose path ends with it",
            IncludeSchemasSetting.Off => GeneratorOptions.IncludeSchemas + " is false, so add the file as <AdditionalFiles Include=\"" + model.SchemaPath + "\" />",
            _ => "NeuralSurgery.props is not imported, so add the file as <AdditionalFiles Include=\"" + model.SchemaPath + "\" />",
        };
        return new DiagnosticInfo(
            GeneratorDiagnostics.SchemaFileNotFound.Id,
            model.AttributeLocation,
            EquatableArray.Create(model.SchemaPath, model.Type.Name, hint));
    }
}
