using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Configuration;
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
        var (snapshot, diagnostics) = ReadToolFile(file, SurgeryDiagnostics.SnapshotNotReadable.Id, null, SnapshotJson.Read, cancellationToken);
        return new SnapshotFileSpec(file.Path, snapshot, diagnostics);
    }

    /// <summary>
    /// A JSON file the tools write (snapshot, plan) read by <paramref name="read"/>, or the diagnostic
    /// <paramref name="id"/> at the file saying why not. A file that <paramref name="ours"/> (when given) rejects is
    /// another tool's and yields neither.
    /// </summary>
    private static (T? Value, EquatableArray<DiagnosticInfo> Diagnostics) ReadToolFile<T>(AdditionalText file, string id, Func<string, bool>? ours, Func<string, string, T> read, CancellationToken cancellationToken)
        where T : class
    {
        var location = new ReaderLocation(file.Path, default, default);
        var text = file.GetText(cancellationToken)?.ToString();
        if (text is null)
        {
            return (null, EquatableArray.Create(new DiagnosticInfo(id, location, EquatableArray.Create(FileName(file.Path), "the file cannot be read"))));
        }

        if (ours is not null && !ours(text))
        {
            return (null, EquatableArray<DiagnosticInfo>.Empty);
        }

        try
        {
            return (read(text, FileName(file.Path)), EquatableArray<DiagnosticInfo>.Empty);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bad file is that file's error, not a crashed generator (CS8785) that drops every model's output.
            var message = e is JsonFormatException or Schema.SchemaException ? e.Message : Unexpected(e);
            return (null, EquatableArray.Create(new DiagnosticInfo(id, location, EquatableArray.Create(FileName(file.Path), message))));
        }
    }

    /// <summary>
    /// Compares one model with its snapshots. Null when it has none (the model does not use snapshots). Plans every
    /// step of the chain (for <c>Migrations</c>) and, when the class's fingerprint is not the latest snapshot's, the
    /// step from the latest snapshot to the class.
    /// </summary>
    /// <summary>
    /// A model's mirror with its own snapshots: those of its model name recorded for this class (namespace-qualified),
    /// so two classes of one name in different namespaces keep their own histories. A snapshot recorded for a class
    /// that is no longer in the compilation goes with the one model of that name that is (the class moved to another
    /// namespace), never with several.
    /// </summary>
    internal static ModelSnapshotsSpec SnapshotsOf(MirrorSpec mirror, ImmutableArray<(string MetadataName, string Name)> models, ImmutableArray<SnapshotFileSpec> files, ImmutableArray<PlanFileSpec> planFiles = default)
    {
        var sameName = models.Count(m => m.Name == mirror.Type.Name);
        var mine = files
            .Where(f => f.Snapshot is { } s && s.Model == mirror.Type.Name
                && (s.ClassName == mirror.MetadataName || (sameName == 1 && !models.Any(m => m.MetadataName == s.ClassName))))
            .Select(f => f.Snapshot!)
            .OrderBy(s => s.Version)
            .ToEquatableArray();

        // Unit removals and growths reachable from the latest version, one after the other: the step to the class
        // when they lead to it. Only these, so another model's plan files leave this check cached.
        var plans = new List<RecordedPlan>();
        if (!planFiles.IsDefault && mine.Count > 0)
        {
            var units = planFiles.Where(f => f.Plan is { } p && SnapshotSteps.IsUnitPlan(p) && p.From.Fingerprint is not null).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
            var reached = new HashSet<string>(StringComparer.Ordinal) { mine[mine.Count - 1].Fingerprint };
            for (var grew = true; grew;)
            {
                grew = false;
                foreach (var f in units.Where(f => reached.Contains(f.Plan!.From.Fingerprint!) && !plans.Any(p => p.Path == f.Path)))
                {
                    plans.Add(new RecordedPlan(FileName(f.Path), f.Plan!, f.Path));
                    grew |= f.Plan!.To.Fingerprint is { } to && reached.Add(to);
                }
            }
        }

        return new(mirror, mine, plans.OrderBy(p => p.Path, StringComparer.Ordinal).ToEquatableArray());
    }

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
                // A version recorded with a tool's plan (a pruning) has that step: the differ would map units by index.
                // Exactly as SnapshotChain.Steps, so Migrations and 'surgery upgrade' write the same bytes.
                steps.Add(to.Step is { } step ? PlanJson.Write(step) : SurgeryPlanner.Plan(from.Graph, WithoutLocations(from.ReadSchema()), to.Graph, WithoutLocations(to.ReadSchema()), null, cancellationToken).Json);
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

            // The class was edited to the widths of a plan made from the latest version (surgery prune or grow): the
            // step keeps the units that plan kept, since the differ would keep them by index. Two plans that keep
            // different units leave it open which one made the checkpoints: no step then.
            List<IReadOnlyList<RecordedPlan>> distinct;
            try
            {
                distinct = SnapshotSteps.DistinctChains(input.Plans, p => p.Plan, latest.Fingerprint, current).ToList();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                findings.Add(new SnapshotFinding(SurgeryDiagnostics.SurgeryNotPlanned.Id, EquatableArray.Create(latest.Label, model, Unexpected(e))));
                return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
            }

            if (distinct.Count > 1)
            {
                var why = "the plans " + string.Join(" and ", distinct.Select(c => string.Join(" + ", c.Select(p => "'" + p.FileName + "'")))) + " all lead from " + latest.Label
                    + " to the class but keep different units, so which weights a checkpoint of " + latest.Label + " keeps is open; keep the plans that made your checkpoints and delete the others";
                findings.Add(new SnapshotFinding(SurgeryDiagnostics.NoSnapshotChain.Id, EquatableArray.Create(model, why)));
                return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
            }

            var recorded = distinct.FirstOrDefault();
            SurgeryPlan plan;
            string json;
            try
            {
                if (recorded is not null)
                {
                    plan = SnapshotSteps.FromPlans(recorded.Select(p => p.Plan).ToList(), latest.Graph, latestSchema, mirror.Graph, mirror.Schema, cancellationToken)!;
                    json = PlanJson.Write(plan);
                }
                else
                {
                    var planned = SurgeryPlanner.Plan(latest.Graph, latestSchema, mirror.Graph, mirror.Schema, null, cancellationToken);
                    plan = planned.Plan;
                    json = planned.Json;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                findings.Add(new SnapshotFinding(SurgeryDiagnostics.SurgeryNotPlanned.Id, EquatableArray.Create(latest.Label, model, Unexpected(e))));
                return new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
            }

            var changes = ModelChanges.Describe(latest.Graph, latestSchema, mirror.Graph, mirror.Schema).ToList();
            var files = recorded is null ? null : string.Join(", ", recorded.Select(p => "'" + p.FileName + "'"));
            if (recorded is not null)
            {
                changes.Add("these are the widths of the plan" + (recorded.Count > 1 ? "s " : " ") + files + ", which the map follows (it keeps the units " + (recorded.Count > 1 ? "they" : "that plan") + " kept)");
            }

            findings.Add(new SnapshotFinding(
                SurgeryDiagnostics.ChangedSinceSnapshot.Id,
                EquatableArray.Create(model, latest.Label, SnapshotJson.FileName(latest.Model, latest.Version), string.Join("; ", changes), className, recorded is null ? string.Empty : " (it finds " + files + " in the project and records " + (recorded.Count > 1 ? "them" : "it") + " as the step)")));
            var totals = plan.Totals;
            surgery = new SurgeryEmitSpec(mirror.Type, className, latest.Label, latest.ClassName, json, totals.CopiedElements, totals.TargetElements, totals.SourceElements, null, new VersionStampSpec(model, latest.Version + 1, current));
            steps.Add(json);
            fingerprints.Add(current);
            signatures.Add(ModelSnapshot.SignatureOf(mirror.Graph));
        }

        var migrations = new MigrationsEmitSpec(mirror.Type, model, latest.Version, fingerprints.Count, fingerprints.ToEquatableArray(), signatures.ToEquatableArray(), steps.ToEquatableArray());
        return new SnapshotCheck(mirror.MetadataName, surgery, migrations, findings.ToEquatableArray());
    }

    /// <summary>The findings of a check as diagnostics at the model's <c>[SurgeryModel]</c> (NS2005 also names the model's file).</summary>
    /// <summary>Reads <see cref="GeneratorOptions.Checkpoints"/>: <c>Model@fingerprint</c> entries separated by commas or white space.</summary>
    internal static DeclaredCheckpoints ReadDeclaredCheckpoints(AnalyzerConfigOptions options)
    {
        var entries = new List<DeclaredCheckpoint>();
        var problems = new List<SnapshotFinding>();
        if (!options.TryGetValue(GeneratorOptions.BuildPropertyPrefix + GeneratorOptions.Checkpoints, out var value) || string.IsNullOrWhiteSpace(value))
        {
            return new DeclaredCheckpoints(EquatableArray<DeclaredCheckpoint>.Empty, EquatableArray<SnapshotFinding>.Empty);
        }

        // Not ';': build properties reach the compiler through an .editorconfig, which cuts a value at ';' (a comment).
        foreach (var raw in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var text = raw.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            var at = text.IndexOf('@');
            var fingerprint = at < 0 ? string.Empty : text.Substring(at + 1).Trim().ToLowerInvariant();
            if (at <= 0 || fingerprint.Length == 0)
            {
                problems.Add(new SnapshotFinding(SurgeryDiagnostics.CheckpointVersionUnreachable.Id, EquatableArray.Create(text, "expected Model@fingerprint, the model name and the graph fingerprint of the checkpoints' stamp (surgery inspect prints it)")));
            }
            else if (!ModelSnapshot.IsFingerprint(fingerprint, minimumLength: 12))
            {
                problems.Add(new SnapshotFinding(SurgeryDiagnostics.CheckpointVersionUnreachable.Id, EquatableArray.Create(text, "the fingerprint '" + fingerprint + "' is not 12 to 64 hex digits (the SHA-256 of the checkpoints' stamp, or a prefix of it)")));
            }
            else
            {
                entries.Add(new DeclaredCheckpoint(text, text.Substring(0, at).Trim(), fingerprint));
            }
        }

        return new DeclaredCheckpoints(entries.ToEquatableArray(), problems.ToEquatableArray());
    }

    /// <summary>Declared entries that are malformed or name no <c>[SurgeryModel]</c> class of the project: NS2008 without a location.</summary>
    internal static ImmutableArray<DiagnosticInfo> DeclaredCheckpointProblems(DeclaredCheckpoints declared, ImmutableArray<(string MetadataName, string Name)> models)
    {
        var none = new ReaderLocation(string.Empty, default, default);
        var builder = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        builder.AddRange(declared.Problems.Select(p => new DiagnosticInfo(p.Id, none, p.Args)));
        foreach (var entry in declared.Entries.Where(e => !models.Any(m => m.Name == e.Model)))
        {
            builder.Add(new DiagnosticInfo(
                SurgeryDiagnostics.CheckpointVersionUnreachable.Id,
                none,
                EquatableArray.Create(entry.Text, "no [SurgeryModel] class of this project is named '" + entry.Model + "'" + (models.Length == 0 ? string.Empty : " (models: " + string.Join(", ", models.Select(m => m.Name).Distinct()) + ")"))));
        }

        return builder.ToImmutable();
    }

    /// <summary>
    /// NS2008 for each checkpoint version the project declares for this model that the build cannot upgrade to the
    /// class: neither the class itself nor any recorded snapshot has its fingerprint, so no Migrations step starts
    /// there. Null when nothing is declared for the model or every declared version is reachable.
    /// </summary>
    internal static SnapshotCheck? CheckDeclaredCheckpoints(ModelSnapshotsSpec input, DeclaredCheckpoints declared)
    {
        var mirror = input.Mirror;
        var model = mirror.Type.Name;
        var mine = declared.Entries.Where(e => e.Model == model).ToList();
        if (mine.Count == 0)
        {
            return null;
        }

        var current = ModelSnapshot.FingerprintOf(mirror.Graph, mirror.Schema);
        var findings = new List<SnapshotFinding>();
        foreach (var entry in mine)
        {
            if (current.StartsWith(entry.Fingerprint, StringComparison.Ordinal)
                || input.Snapshots.Any(s => s.Fingerprint.StartsWith(entry.Fingerprint, StringComparison.Ordinal)))
            {
                continue; // the class itself, or a recorded version whose chain Migrations follows (NS2006 says if it is broken)
            }

            var recorded = input.Snapshots.Count == 0
                ? "no snapshot of " + model + " is recorded"
                : "no recorded snapshot of " + model + " has that fingerprint (" + string.Join(", ", input.Snapshots.Select(s => s.Label + " " + s.Fingerprint.Substring(0, 12))) + ")";
            findings.Add(new SnapshotFinding(
                SurgeryDiagnostics.CheckpointVersionUnreachable.Id,
                EquatableArray.Create(
                    entry.Text,
                    recorded + ", and the class is " + current.Substring(0, 12) + "; record the version that wrote them with 'surgery snapshot add <model file> --from-git <commit>' (oldest first), then the class as it is now")));
        }

        return findings.Count == 0 ? null : new SnapshotCheck(mirror.MetadataName, null, null, findings.ToEquatableArray());
    }

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
