using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Configuration;
using NeuralSurgery.Generator.Emit;

namespace NeuralSurgery.Generator;

/// <summary>
/// The incremental generator (DESIGN.md section 7). This file is the pipeline only; the work is in
/// SurgeryGenerator.Execute.cs. Nothing that flows between steps holds a symbol, syntax node or compilation.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SurgeryGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        context.RegisterPostInitializationOutput(static post => post.AddSource(AttributeSource.HintName, AttributeSource.Text));

        var schemaFiles = context.AdditionalTextsProvider
            .Where(static text => IsSchemaFile(text.Path))
            .Select(static (text, ct) => ParseSchemaFile(text, ct))
            .WithTrackingName(TrackingNames.SchemaFiles);

        var schemaDiagnostics = schemaFiles
            .SelectMany(static (file, _) => file.Diagnostics)
            .WithTrackingName(TrackingNames.SchemaDiagnostics);
        context.RegisterSourceOutput(schemaDiagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeSource.SurgeryModelAttributeMetadataName,
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                static (attributeContext, ct) => ReadModel(attributeContext, ct))
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.Models);

        var resolved = models
            .Combine(schemaFiles.Collect())
            .Select(static (pair, _) => Resolve(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.ResolvedModels);

        var constants = resolved
            .Where(static model => model.Features is not null)
            .Select(static (model, _) => new Specs.FeatureConstantsSpec(model.Model.Type, model.Features!))
            .WithTrackingName(TrackingNames.FeatureConstants)
            .Select(static (spec, _) => FeatureConstantsEmitter.Emit(spec))
            .WithTrackingName(TrackingNames.FeatureConstantsSource);
        context.RegisterSourceOutput(constants, static (spc, source) => spc.AddSource(source.HintName, source.Text));

        var includeSchemas = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => ReadIncludeSchemas(options.GlobalOptions))
            .WithTrackingName(TrackingNames.IncludeSchemasOption);

        var missing = resolved
            .Where(static model => !model.SchemaFound)
            .Combine(includeSchemas)
            .Select(static (pair, _) => SchemaNotFound(pair.Left.Model, pair.Right))
            .WithTrackingName(TrackingNames.MissingSchemas);
        context.RegisterSourceOutput(missing, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
    }
}
