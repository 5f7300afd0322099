using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Generator.Specs;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Generator;

/// <summary>
/// Models edited in place (issue 13): each model is compared with the latest of its recorded snapshots
/// (<c>*.snapshot.json</c> AdditionalFiles). When the class changed since, the surgery map from that snapshot is
/// generated as for <c>[SurgeryFrom]</c> and NS2005 says what changed; the chain of snapshots becomes the model's
/// <c>Migrations</c> class.
/// </summary>
public sealed partial class SurgeryGenerator
{
    /// <summary>The generated class of the surgery from the latest snapshot: <c>SurgeryFromV3</c>.</summary>
    internal static string SnapshotSurgeryClassName(int version) => "SurgeryFromV" + version.ToString(CultureInfo.InvariantCulture);

    internal static bool IsSnapshotFile(string path) => path.EndsWith(SnapshotJson.FileSuffix, StringComparison.OrdinalIgnoreCase);

    internal static SnapshotFileSpec ParseSnapshotFile(AdditionalText file, CancellationToken cancellationToken)
    {
        var location = new ReaderLocation(file.Path, default, default);
        var text = file.GetText(cancellationToken);
        if (text is null)
        {
            return new SnapshotFileSpec(file.Path, null, EquatableArray.Create(new DiagnosticInfo(SurgeryDiagnostics.SnapshotNotReadable.Id, location, EquatableArray.Create(FileName(file.Path), "the file cannot be read"))));
        }

        try
        {
            return new SnapshotFileSpec(file.Path, SnapshotJson.Read(text.ToString(), FileName(file.Path)), EquatableArray<DiagnosticInfo>.Empty);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bad snapshot is that file's error, not a crashed generator (CS8785) that drops every model's output.
            var message = e is JsonFormatException or Schema.SchemaException ? e.Message : Unexpected(e);
            return new SnapshotFileSpec(file.Path, null, EquatableArray.Create(new DiagnosticInfo(SurgeryDiagnostics.SnapshotNotReadable.Id, location, EquatableArray.Create(FileName(file.Path), message))));
        }
    }

    /// <summary>
    /// Compares one model with its snapshots. Null when it has none (the model does not use snapshots). Plans every
    /// step of the chain (for <c>Migrations</c>) and, when the class's fingerprint is not the latest snapshot's, the
    /// step from the latest snapshot to the class.
    /// </summary>
    /// <summary>A model's mirror with its own snapshots (matched by the class's simple name).</summary>
    internal static ModelSnapshotsSpec SnapshotsOf(MirrorSpec mirror, ImmutableArray<SnapshotFileSpec> files) =>
        new(mirror, files.Where(f => f.Snapshot is { } s && s.Model == mirror.Type.Name).Select(f => f.Snapshot!).OrderBy(s => s.Version).ToEquatableArray());

    internal static SnapshotCheck? CheckSnapshots(ModelSnapshotsSpec input, CancellationToken cancellationToken)
    {
        var mirror = input.Mirror;
        var model = mirror.Type.Name;
        var mine = input.Snapshots;
        if (mine.Count == 0)
        {
            return null;
        }

        var findings = new List<SnapshotFinding>();
        var chain = SnapshotChain.Of(model, mine, out var problem);
        if (problem is not null)
        {
            findings.Add(new SnapshotFinding(SurgeryDiagnostics.NoSnapshotChain.Id, EquatableArray.Create(model, problem)));
            return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
        }

        var latest = chain.Latest!;
        var steps = new List<string>();
        for (var v = 1; v < chain.Versions.Count; v++)
        {
            var from = chain.Versions[v - 1];
            var to = chain.Versions[v];
            try
            {
                steps.Add(SurgeryPlanner.Plan(from.Graph, WithoutLocations(from.ReadSchema()), to.Graph, WithoutLocations(to.ReadSchema()), null, cancellationToken).Json);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var why = "the step " + from.Label + " -> " + to.Label + " cannot be planned (" + Unexpected(e) + "), so checkpoints of " + from.Label + " and earlier cannot be upgraded";
                findings.Add(new SnapshotFinding(SurgeryDiagnostics.NoSnapshotChain.Id, EquatableArray.Create(model, why)));
                return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
            }
        }

        var fingerprints = chain.Versions.Select(s => s.Fingerprint).ToList();
        var signatures = chain.Versions.Select(s => ModelSnapshot.SignatureOf(s.Graph)).ToList();
        var current = ModelSnapshot.FingerprintOf(mirror.Graph, mirror.Schema);
        SurgeryEmitSpec? surgery = null;
        if (current != latest.Fingerprint)
        {
            var className = SnapshotSurgeryClassName(latest.Version);
            var latestSchema = WithoutLocations(latest.ReadSchema());
            PlannedModels planned;
            try
            {
                planned = SurgeryPlanner.Plan(latest.Graph, latestSchema, mirror.Graph, mirror.Schema, null, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                findings.Add(new SnapshotFinding(SurgeryDiagnostics.SurgeryNotPlanned.Id, EquatableArray.Create(latest.Label, model, Unexpected(e))));
                return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
            }

            var changes = ModelChanges.Describe(latest.Graph, latestSchema, mirror.Graph, mirror.Schema);
            findings.Add(new SnapshotFinding(
                SurgeryDiagnostics.ChangedSinceSnapshot.Id,
                EquatableArray.Create(model, latest.Label, SnapshotJson.FileName(latest.Model, latest.Version), string.Join("; ", changes), className)));
            var totals = planned.Plan.Totals;
            surgery = new SurgeryEmitSpec(mirror.Type, className, latest.Label, latest.ClassName, planned.Json, totals.CopiedElements, totals.TargetElements, totals.SourceElements, null, new VersionStampSpec(model, latest.Version + 1, current));
            steps.Add(planned.Json);
            fingerprints.Add(current);
            signatures.Add(ModelSnapshot.SignatureOf(mirror.Graph));
        }

        var migrations = new MigrationsEmitSpec(mirror.Type, model, latest.Version, fingerprints.Count, fingerprints.ToEquatableArray(), signatures.ToEquatableArray(), steps.ToEquatableArray());
        return new SnapshotCheck(mirror.MetadataName, surgery, migrations, findings.ToEquatableArray());
    }

    /// <summary>The findings of a check as diagnostics at the model's <c>[SurgeryModel]</c> (NS2005 also names the model's file).</summary>
    internal static ImmutableArray<DiagnosticInfo> SnapshotDiagnosticsOf(SnapshotCheck check, ImmutableArray<ModelSpec> models)
    {
        if (check.Findings.Count == 0)
        {
            return ImmutableArray<DiagnosticInfo>.Empty;
        }

        var model = models.FirstOrDefault(m => m.MetadataName == check.MetadataName);
        var location = model?.AttributeLocation ?? new ReaderLocation(string.Empty, default, default);
        var builder = ImmutableArray.CreateBuilder<DiagnosticInfo>(check.Findings.Count);
        foreach (var finding in check.Findings)
        {
            var args = finding.Id == SurgeryDiagnostics.ChangedSinceSnapshot.Id
                ? finding.Args.Append(location.FilePath.Length > 0 ? FileName(location.FilePath) : "<model file>.cs").ToEquatableArray()
                : finding.Args;
            builder.Add(new DiagnosticInfo(finding.Id, location, args));
        }

        return builder.MoveToImmutable();
    }
}
