using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Configuration;
using NeuralSurgery.Generator.Emit;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator;

/// <summary>
/// The incremental generator (DESIGN.md section 7). This file is the pipeline only; the work is in
/// SurgeryGenerator.Execute.cs. Nothing that flows between steps holds a symbol, syntax node or compilation.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class SurgeryGenerator : IIncrementalGenerator
{
    private static bool IsPartialWithContainers(Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax declaration)
    {
        for (SyntaxNode? node = declaration; node is not null; node = node.Parent)
        {
            if (node is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax type
                && !type.Modifiers.Any(Microsoft.CodeAnalysis.CSharp.SyntaxKind.PartialKeyword))
            {
                return false;
            }
        }

        return true;
    }

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
                // A class that is not partial (or sits in one that is not) gets nothing: emitting 'partial class X'
                // beside it would only add CS0260 to the analyzer's NS1016, which says what to do.
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax declaration && IsPartialWithContainers(declaration),
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

        var facts = context.CompilationProvider
            .Select(static (compilation, _) => ReadFacts(compilation))
            .WithTrackingName(TrackingNames.CompilationFacts);

        // The reader needs the compilation and the schema; see ReadGraph for why this step re-runs per compilation.
        var read = models
            .Combine(schemaFiles.Collect())
            .Combine(context.CompilationProvider)
            .Select(static (pair, ct) => ReadGraph(pair.Left.Left, pair.Left.Right, pair.Right, ct))
            .WithTrackingName(TrackingNames.ReadModels);

        var readerDiagnostics = read
            .SelectMany(static (model, _) => model.Result?.Diagnostics.AsImmutableArray() ?? ImmutableArray<ReaderDiagnostic>.Empty)
            .WithTrackingName(TrackingNames.ReaderDiagnostics);
        context.RegisterSourceOutput(readerDiagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var mirrors = read
            .Select(static (model, _) => MirrorOf(model))
            .Where(static mirror => mirror is not null)
            .Select(static (mirror, _) => mirror!)
            .WithTrackingName(TrackingNames.Mirrors);

        var traced = mirrors
            .Select(static (mirror, ct) => Trace(mirror, ct))
            .WithTrackingName(TrackingNames.Traces);

        var mirrorSources = traced
            .Combine(facts)
            .Where(static pair => pair.Right.HasCore && pair.Left.Error is null)
            .Select(static (pair, _) => MirrorEmitter.Emit(pair.Left))
            .WithTrackingName(TrackingNames.MirrorSource);
        context.RegisterSourceOutput(mirrorSources, static (spc, source) => spc.AddSource(source.HintName, source.Text));

        var traceErrors = traced
            .Where(static model => model.Error is not null)
            .Combine(models.Collect())
            .SelectMany(static (pair, _) => TraceFailed(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.TraceErrors);
        context.RegisterSourceOutput(traceErrors, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var unmapped = traced
            .Combine(schemaFiles.Collect())
            .SelectMany(static (pair, _) => UnmappedFeatureDiagnostics(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.UnmappedFeatures);
        context.RegisterSourceOutput(unmapped, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var surgeries = read
            .Select(static (model, _) => (model.Model, MirrorOf(model)))
            .Collect()
            .SelectMany(static (models, _) => Surgeries(models))
            .WithTrackingName(TrackingNames.Surgeries);

        var planned = surgeries
            .Select(static (surgery, ct) => PlanSurgery(surgery, ct))
            .WithTrackingName(TrackingNames.Plans);
        context.RegisterSourceOutput(
            planned.SelectMany(static (plan, _) => plan.Diagnostics.AsImmutableArray()),
            static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        // Models edited in place: each mirror against its snapshots. Mirrors stay cached across unrelated edits, and
        // so does this step; the findings are located at the models in a cheap step of their own.
        var snapshotFiles = context.AdditionalTextsProvider
            .Where(static text => IsSnapshotFile(text.Path))
            .Select(static (text, ct) => ParseSnapshotFile(text, ct))
            .WithTrackingName(TrackingNames.SnapshotFiles);
        context.RegisterSourceOutput(
            snapshotFiles.SelectMany(static (file, _) => file.Diagnostics.AsImmutableArray()).WithTrackingName(TrackingNames.SnapshotDiagnostics),
            static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        // Plans made outside the build (surgery prune/grow): NS2009 where the class does not have their widths yet,
        // and the snapshot step once it does.
        var planFiles = context.AdditionalTextsProvider
            .Where(static text => IsPlanFile(text.Path))
            .Select(static (text, ct) => ParsePlanFile(text, ct))
            .WithTrackingName(TrackingNames.PlanFiles);
        context.RegisterSourceOutput(
            planFiles.SelectMany(static (file, _) => file.Diagnostics.AsImmutableArray()),
            static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        var pendingWidths = mirrors
            .Combine(planFiles.Collect())
            .Select(static (pair, ct) => PendingWidthChanges(pair.Left, pair.Right, ct))
            .Where(static pending => pending is not null)
            .WithTrackingName(TrackingNames.PendingWidths)
            .Combine(read.Collect())
            .SelectMany(static (pair, _) => PendingWidths(pair.Left!, pair.Right));
        context.RegisterSourceOutput(pendingWidths, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var modelNames = mirrors.Select(static (mirror, _) => (mirror.MetadataName, mirror.Type.Name)).Collect();
        var modelSnapshots = mirrors
            .Combine(modelNames)
            .Combine(snapshotFiles.Collect())
            .Combine(planFiles.Collect())
            .Select(static (pair, _) => SnapshotsOf(pair.Left.Left.Left, pair.Left.Left.Right, pair.Left.Right, pair.Right))
            .WithTrackingName(TrackingNames.ModelSnapshots);
        var snapshotChecks = modelSnapshots
            .Select(static (model, ct) => CheckSnapshots(model, ct))
            .Where(static check => check is not null)
            .Select(static (check, _) => check!)
            .WithTrackingName(TrackingNames.SnapshotChecks);

        var snapshotFindings = snapshotChecks
            .Combine(models.Collect())
            .SelectMany(static (pair, _) => SnapshotDiagnosticsOf(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.SnapshotFindings);
        context.RegisterSourceOutput(snapshotFindings, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        // Checkpoint versions the project declares (NeuralSurgeryCheckpoints): NS2008 where no chain reaches the class.
        var declared = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => ReadDeclaredCheckpoints(options.GlobalOptions))
            .WithTrackingName(TrackingNames.DeclaredCheckpoints);
        var reach = modelSnapshots
            .Combine(declared)
            .Select(static (pair, _) => CheckDeclaredCheckpoints(pair.Left, pair.Right))
            .Where(static check => check is not null)
            .Combine(models.Collect())
            .SelectMany(static (pair, _) => SnapshotDiagnosticsOf(pair.Left!, pair.Right))
            .WithTrackingName(TrackingNames.CheckpointReach);
        context.RegisterSourceOutput(reach, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        context.RegisterSourceOutput(
            declared.Combine(modelNames).SelectMany(static (pair, _) => DeclaredCheckpointProblems(pair.Left, pair.Right)),
            static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

        var snapshotSurgeries = snapshotChecks
            .Where(static check => check.Surgery is not null)
            .Select(static (check, _) => check.Surgery!)
            .Combine(facts)
            .Where(static pair => pair.Right.HasCore)
            .Select(static (pair, _) => SurgeryEmitter.Emit(pair.Left, pair.Right.HasRuntime))
            .WithTrackingName(TrackingNames.SnapshotSurgerySource);
        context.RegisterSourceOutput(snapshotSurgeries, static (spc, source) => spc.AddSource(source.HintName, source.Text));

        var migrations = snapshotChecks
            .Where(static check => check.Migrations is not null)
            .Select(static (check, _) => check.Migrations!)
            .Combine(facts)
            .Where(static pair => pair.Right.HasCore)
            .Select(static (pair, _) => MigrationsEmitter.Emit(pair.Left, pair.Right.HasRuntime))
            .WithTrackingName(TrackingNames.MigrationsSource);
        context.RegisterSourceOutput(migrations, static (spc, source) => spc.AddSource(source.HintName, source.Text));

        var surgerySources = planned
            .Where(static plan => plan.Emit is not null)
            .Select(static (plan, _) => plan.Emit!)
            .Combine(facts)
            .Where(static pair => pair.Right.HasCore)
            .Select(static (pair, _) => SurgeryEmitter.Emit(pair.Left, pair.Right.HasRuntime, pair.Right.HasTorchSharp))
            .WithTrackingName(TrackingNames.SurgerySource);
        context.RegisterSourceOutput(surgerySources, static (spc, source) => spc.AddSource(source.HintName, source.Text));
    }
}
