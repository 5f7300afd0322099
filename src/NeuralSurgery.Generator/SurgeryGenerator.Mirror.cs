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

    internal const string TorchSharpMarkerType = "NeuralSurgery.TorchSharp.ModuleVerifier";

    internal static CompilationFacts ReadFacts(Compilation compilation) =>
        new(
            compilation.GetTypeByMetadataName(CoreMarkerType) is not null,
            compilation.GetTypeByMetadataName(RuntimeMarkerType) is not null,
            compilation.GetTypeByMetadataName(TorchSharpMarkerType) is not null);

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

        try
        {
            return new ReadModel(model, schema, ModelReader.Read(compilation, type, schema, cancellationToken));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An exception escaping a step fails the whole generator (CS8785) and drops every model's output; a
            // reader or Core bug on one model becomes an NS1007 on that model instead.
            var location = model.AttributeLocation;
            var args = EquatableArray.Create(model.Type.Name + ".forward", Unexpected(e));
            var diagnostic = new ReaderDiagnostic(
                ModelDiagnostics.GraphShapeError.Id,
                DiagnosticSeverity.Error,
                string.Format(CultureInfo.InvariantCulture, ModelDiagnostics.GraphShapeError.MessageFormat.ToString(CultureInfo.InvariantCulture), args[0], args[1]),
                location,
                ReaderDiagnostic.GraphNotBuilt,
                args,
                EquatableArray<ReaderLocation>.Empty,
                EquatableArray<DiagnosticProperty>.Empty);
            var result = new ModelReadResult(model.Type.Name, null, EquatableArray<GraphModule>.Empty, EquatableArray.Create(diagnostic), EquatableArray<SourceMapEntry>.Empty);
            return new ReadModel(model, schema, result);
        }
    }

    /// <summary>
    /// The message of an exception Core or the reader did not expect to throw: its type too, since a bare
    /// <c>ArgumentException</c> message is no help in a bug report.
    /// </summary>
    private static string Unexpected(Exception e) =>
        e is GraphException or PlanException ? e.Message : e.GetType().Name + ": " + e.Message;

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
        var json = string.Empty;
        try
        {
            json = GraphJson.Write(mirror.Graph);
            cancellationToken.ThrowIfCancellationRequested();
            var side = ModelSide.Trace(mirror.Graph, mirror.Schema);
            var schemaInputOf = mirror.Graph.Inputs.ToDictionary(i => i.Name, i => i.SchemaInput ?? i.Name, StringComparer.Ordinal);
            var unmapped = side.Map.UnmappedFeatures()
                .GroupBy(slot => (slot.Input, slot.Feature))
                .Where(g => side.Map.Features.FeatureSlots(g.Key.Input, g.Key.Feature) is { } all && all.Length == g.Count())
                .Select(g => new FeatureRef(schemaInputOf[g.Key.Input], g.Key.Feature))
                .ToEquatableArray();
            return new TracedModel(mirror, json, unmapped, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any exception, not only GraphException: one escaping the step would crash the generator (CS8785).
            // TraceFailed reports it; the mirror is not emitted.
            return new TracedModel(mirror, json, EquatableArray<FeatureRef>.Empty, Unexpected(e));
        }
    }

    /// <summary>
    /// NS1007 at the <c>[SurgeryModel]</c> attribute for a graph the reader built but the tracer rejected; without
    /// it the mirror (and NS1015) went missing without a word.
    /// </summary>
    internal static ImmutableArray<DiagnosticInfo> TraceFailed(TracedModel traced, ImmutableArray<ModelSpec> models)
    {
        if (traced.Error is null)
        {
            return ImmutableArray<DiagnosticInfo>.Empty;
        }

        var model = models.FirstOrDefault(m => m.MetadataName == traced.Mirror.MetadataName);
        var location = model?.AttributeLocation ?? new ReaderLocation(string.Empty, default, default);
        return ImmutableArray.Create(new DiagnosticInfo(
            ModelDiagnostics.GraphShapeError.Id,
            location,
            EquatableArray.Create(traced.Mirror.Type.Name + ".forward", traced.Error)));
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

            foreach (var (source, className) in SurgeryClassNames(model.Sources))
            {
                if (mirrors.TryGetValue(source.MetadataName, out var old))
                {
                    surgeries.Add(new SurgerySpec(mirror, old, model.Renames, source.Location, className));
                }
            }
        }

        return surgeries.ToImmutable();
    }

    /// <summary>
    /// The distinct sources of one model, each with the name of its generated class: <c>SurgeryFrom</c> and the
    /// source's simple name, or its namespace-qualified name where two sources share a simple name
    /// (<c>SurgeryFromOld_Policy</c>, <c>SurgeryFromOlder_Policy</c>). Without this, <c>[SurgeryFrom]</c> twice with
    /// the same type, or with two types called alike, emitted two files with one hint name and crashed the generator.
    /// </summary>
    internal static IEnumerable<(SurgerySourceSpec Source, string ClassName)> SurgeryClassNames(EquatableArray<SurgerySourceSpec> sources)
    {
        var distinct = new List<SurgerySourceSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            if (seen.Add(source.MetadataName))
            {
                distinct.Add(source);
            }
        }

        // Hint names are compared ignoring case, so simple names that differ only in case count as shared too.
        var sharedNames = new HashSet<string>(
            distinct.GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key),
            StringComparer.OrdinalIgnoreCase);
        var taken = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var source in distinct)
        {
            var name = "SurgeryFrom" + (sharedNames.Contains(source.Name) ? QualifiedIdentifier(source.MetadataName) : source.Name);
            while (!taken.Add(name))
            {
                name += "_";
            }

            yield return (source, name);
        }
    }

    /// <summary><c>Old.Zoo+Policy`1</c> as one identifier: <c>Old_Zoo_Policy_1</c>.</summary>
    private static string QualifiedIdentifier(string metadataName)
    {
        var chars = metadataName.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsLetterOrDigit(chars[i]) && chars[i] != '_')
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
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
        string planJson;
        try
        {
            var renames = surgery.Renames.Select(r => new ModuleRename(r.From, r.To)).ToEquatableArray();
            var options = PlanOptions.Create(PlanOptions.Default.NewOutputBias, renames, EquatableArray<UnitMap>.Empty);
            var planned = SurgeryPlanner.Plan(surgery.Source.Graph, surgery.Source.Schema, surgery.Target.Graph, surgery.Target.Schema, options, cancellationToken);
            plan = planned.Plan;
            planJson = planned.Json;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any exception, not only PlanException and GraphException: one escaping the step would crash the
            // generator (CS8785) and drop the output of every model, not just this surgery's.
            var error = new DiagnosticInfo(SurgeryDiagnostics.SurgeryNotPlanned.Id, surgery.Location, EquatableArray.Create(oldName, newName, Unexpected(e)));
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
            surgery.ClassName,
            oldName,
            surgery.Source.MetadataName,
            planJson,
            totals.CopiedElements,
            totals.TargetElements,
            totals.SourceElements,
            surgery.Source.Type.Reference);
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
