using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Generator.Specs;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator;

/// <summary>The reading, tracing and planning steps of the pipeline (DESIGN.md sections 4 to 7).</summary>
public sealed partial class SurgeryGenerator
{
    internal const string CoreMarkerType = "NeuralSurgery.Graph.ModelGraph";

    internal const string RuntimeMarkerType = "NeuralSurgery.Runtime.Execution.PlanExecutor";

    internal static CompilationFacts ReadFacts(Compilation compilation) =>
        new(compilation.GetTypeByMetadataName(CoreMarkerType) is not null, compilation.GetTypeByMetadataName(RuntimeMarkerType) is not null);

    /// <summary>
    /// Runs the model reader on one model against its schema. Roslyn gives syntax transforms no AdditionalTexts, so
    /// this step pairs the model with the compilation and re-runs when the compilation changes; its result is
    /// value-equatable, so the tracing and emitting steps after it stay cached unless the graph changes.
    /// </summary>
    internal static ReadModel ReadGraph(ModelSpec model, ImmutableArray<SchemaFileSpec> files, Compilation compilation, CancellationToken cancellationToken)
    {
        var file = FindSchemaFile(model.SchemaPath, files);
        if (file?.Schema is not { } schema)
        {
            return new ReadModel(model, null, null); // NS0010 or the schema's own errors say why
        }

        var type = compilation.Assembly.GetTypeByMetadataName(model.MetadataName);
        if (type is null || type.DeclaringSyntaxReferences.Length == 0)
        {
            return new ReadModel(model, schema, null);
        }

        return new ReadModel(model, schema, ModelReader.Read(compilation, type, schema, cancellationToken));
    }

    /// <summary>The mirror input of a model whose graph was built: graph and schema without YAML locations.</summary>
    internal static MirrorSpec? MirrorOf(ReadModel read) =>
        read.Result?.Graph is { } graph && read.Schema is { } schema
            ? new MirrorSpec(read.Model.Type, read.Model.MetadataName, read.Model.SchemaPath, graph, WithoutLocations(schema))
            : null;

    /// <summary>
    /// The schema with every location at the start of the file and the path reduced to the file name: equal for
    /// whitespace and comment edits, and free of machine paths, since generated code carries it.
    /// </summary>
    internal static FeatureSchema WithoutLocations(FeatureSchema schema)
    {
        var path = FileName(schema.Path);
        var at = new SourceLocation(path, 1, 1, 1, 1);
        return new FeatureSchema(
            schema.Model,
            schema.Version,
            schema.Inputs.Select(i => new SchemaInput(i.Name, i.Kind, i.IsSet, Features(i.Features, at), i.Values, at)).ToEquatableArray(),
            schema.Outputs.Select(o => new SchemaOutput(o.Name, Features(o.Features, at), at)).ToEquatableArray(),
            schema.Renames.Select(r => new SchemaRename(r.From, r.To, at)).ToEquatableArray(),
            path);

        static EquatableArray<SchemaFeature> Features(EquatableArray<SchemaFeature> features, SourceLocation at) =>
            features.Select(f => new SchemaFeature(f.Name, f.Width, f.Offset, at)).ToEquatableArray();
    }

    /// <summary>Traces one model with the structured tracer: its graph JSON and the features that reach no parameter.</summary>
    internal static TracedModel Trace(MirrorSpec mirror, CancellationToken cancellationToken)
    {
        var json = GraphJson.Write(mirror.Graph);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var side = ModelSide.Trace(mirror.Graph, mirror.Schema);
            var schemaInputOf = mirror.Graph.Inputs.ToDictionary(i => i.Name, i => i.SchemaInput ?? i.Name, StringComparer.Ordinal);
            var unmapped = side.Map.UnmappedFeatures()
                .GroupBy(slot => (slot.Input, slot.Feature))
                .Where(g => side.Map.Features.FeatureSlots(g.Key.Input, g.Key.Feature) is { } all && all.Length == g.Count())
                .Select(g => new FeatureRef(schemaInputOf[g.Key.Input], g.Key.Feature))
                .ToEquatableArray();
            return new TracedModel(mirror, json, unmapped, null);
        }
        catch (GraphException e)
        {
            return new TracedModel(mirror, json, EquatableArray<FeatureRef>.Empty, e.Message);
        }
    }

    /// <summary>NS1015 for each feature no parameter interacts with, at the feature in the YAML file.</summary>
    internal static ImmutableArray<DiagnosticInfo> UnmappedFeatureDiagnostics(TracedModel traced, ImmutableArray<SchemaFileSpec> files)
    {
        if (traced.Unmapped.Count == 0 || FindSchemaFile(traced.Mirror.SchemaPath, files) is not { } file)
        {
            return ImmutableArray<DiagnosticInfo>.Empty;
        }

        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>(traced.Unmapped.Count);
        foreach (var feature in traced.Unmapped)
        {
            var location = file.FeatureLocations.FirstOrDefault(l => l.Input == feature.Input && l.Feature == feature.Feature)?.Location
                ?? file.FeatureLocations.FirstOrDefault(l => l.Input == feature.Input && l.Feature.Length == 0)?.Location
                ?? new ReaderLocation(file.Path, default, default);
            diagnostics.Add(new DiagnosticInfo(
                ModelDiagnostics.UnmappedFeature.Id,
                location,
                EquatableArray.Create(feature.Feature, feature.Input, FileName(file.Path), traced.Mirror.Type.Name)));
        }

        return diagnostics.ToImmutable();
    }

    /// <summary>
    /// Pairs every <c>[SurgeryFrom]</c> with the mirrors of both models. A source without a graph (its own errors
    /// say why) or that is no surgery model (NS2001, from the analyzer) yields no surgery.
    /// </summary>
    internal static ImmutableArray<SurgerySpec> Surgeries(ImmutableArray<(ModelSpec Model, MirrorSpec? Mirror)> models)
    {
        var mirrors = new Dictionary<string, MirrorSpec>(StringComparer.Ordinal);
        foreach (var (model, mirror) in models)
        {
            if (mirror is not null && !mirrors.ContainsKey(model.MetadataName))
            {
                mirrors.Add(model.MetadataName, mirror);
            }
        }

        var surgeries = ImmutableArray.CreateBuilder<SurgerySpec>();
        foreach (var (model, mirror) in models.OrderBy(m => m.Model.MetadataName, StringComparer.Ordinal))
        {
            if (mirror is null)
            {
                continue;
            }

            foreach (var source in model.Sources)
            {
                if (mirrors.TryGetValue(source.MetadataName, out var old))
                {
                    surgeries.Add(new SurgerySpec(mirror, old, model.Renames, source.Location));
                }
            }
        }

        return surgeries.ToImmutable();
    }

    /// <summary>
    /// Diffs the two interaction maps (paper 001 section 2.3.2) into the surgery plan and reports its cost: NS2002
    /// for the share re-initialised, NS2003 for each feature, value, head row or unit the new model drops.
    /// </summary>
    internal static PlannedSurgery PlanSurgery(SurgerySpec surgery, CancellationToken cancellationToken)
    {
        var oldName = surgery.Source.Type.Name;
        var newName = surgery.Target.Type.Name;
        SurgeryPlan plan;
        try
        {
            var oldSide = ModelSide.Trace(surgery.Source.Graph, surgery.Source.Schema);
            cancellationToken.ThrowIfCancellationRequested();
            var newSide = ModelSide.Trace(surgery.Target.Graph, surgery.Target.Schema);
            cancellationToken.ThrowIfCancellationRequested();
            var renames = surgery.Renames.Select(r => new ModuleRename(r.From, r.To)).ToEquatableArray();
            var options = PlanOptions.Create(PlanOptions.Default.NewOutputBias, renames, EquatableArray<UnitMap>.Empty);
            plan = SurgeryDiffer.Diff(oldSide, newSide, options);
        }
        catch (Exception e) when (e is PlanException or GraphException)
        {
            var error = new DiagnosticInfo(SurgeryDiagnostics.SurgeryNotPlanned.Id, surgery.Location, EquatableArray.Create(oldName, newName, e.Message));
            return new PlannedSurgery(null, EquatableArray.Create(error));
        }

        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        var totals = plan.Totals;
        var reinitialised = totals.TargetElements - totals.CopiedElements;
        if (reinitialised > 0)
        {
            var most = plan.Tensors
                .Where(t => !t.IsBuffer && t.TotalElements > t.CopiedElements)
                .OrderByDescending(t => t.TotalElements - t.CopiedElements)
                .ThenBy(t => t.Name, StringComparer.Ordinal)
                .Take(3)
                .Select(t => "'" + t.Name + "' (" + Count(t.TotalElements - t.CopiedElements) + ")");
            diagnostics.Add(new DiagnosticInfo(
                SurgeryDiagnostics.ReinitialisedShare.Id,
                surgery.Location,
                EquatableArray.Create(oldName, newName, Count(reinitialised), Count(totals.TargetElements), Percent(reinitialised, totals.TargetElements), string.Join(", ", most))));
        }

        foreach (var dropped in plan.Dropped)
        {
            diagnostics.Add(new DiagnosticInfo(
                SurgeryDiagnostics.DroppedByTheSurgery.Id,
                surgery.Location,
                EquatableArray.Create(oldName, newName, Describe(dropped), Count(dropped.Elements), string.Join(", ", dropped.Parameters.Select(p => "'" + p.Parameter + "'")))));
        }

        var emit = new SurgeryEmitSpec(
            surgery.Target.Type,
            oldName,
            surgery.Source.MetadataName,
            PlanJson.Write(plan),
            totals.CopiedElements,
            totals.TargetElements,
            totals.SourceElements);
        return new PlannedSurgery(emit, diagnostics.ToImmutable());
    }

    private static string Describe(DroppedItem dropped) => dropped.Kind switch
    {
        DroppedKind.Feature => "feature '" + dropped.Name + "'",
        DroppedKind.CategoricalValue => "categorical value '" + dropped.Name + "'",
        DroppedKind.OutputFeature => "output '" + dropped.Name + "'",
        DroppedKind.Units => "units of '" + dropped.Name + "'",
        _ => "tensor '" + dropped.Name + "'",
    };

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent(long part, long whole) =>
        (whole == 0 ? 0 : 100.0 * part / whole).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    /// <summary>
    /// The schema file a model's attribute names: the AdditionalText whose path is the attribute's path or ends with
    /// <c>/</c> and it (separators normalised, case-insensitive); of several, the first in ordinal path order.
    /// </summary>
    internal static SchemaFileSpec? FindSchemaFile(string schemaPath, ImmutableArray<SchemaFileSpec> files)
    {
        var wanted = Normalize(schemaPath);
        while (wanted.StartsWith("./", StringComparison.Ordinal))
        {
            wanted = wanted.Substring(2);
        }

        SchemaFileSpec? match = null;
        if (wanted.Length > 0)
        {
            foreach (var file in files)
            {
                var path = Normalize(file.Path);
                var matches = string.Equals(path, wanted, StringComparison.OrdinalIgnoreCase)
                    || path.EndsWith("/" + wanted, StringComparison.OrdinalIgnoreCase);
                if (matches && (match is null || string.CompareOrdinal(file.Path, match.Path) < 0))
                {
                    match = file;
                }
            }
        }

        return match;
    }
}
