using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.IO;

/// <summary>What <c>SnapshotFolder.Add</c> did: the snapshot that now stands for the class, where, and whether it is new.</summary>
public sealed record SnapshotRecorded(ModelSnapshot Snapshot, string Path, bool Added);

/// <summary>
/// A folder of snapshot files (<c>Policy.v1.snapshot.json</c>, <c>Policy.v2.snapshot.json</c>, …), checked into the
/// user's repository next to the model like EF Core's Migrations folder: one file per version, appended, never
/// rewritten. The programmatic equivalent of <c>surgery snapshot add</c>.
/// </summary>
public static class SnapshotFolder
{
    /// <summary>The folder name <c>surgery snapshot add</c> uses beside the model file when none is given.</summary>
    public const string DefaultName = "Snapshots";

    /// <summary>Every snapshot in <paramref name="folder"/> (none when it does not exist), by model then version.</summary>
    public static IReadOnlyList<ModelSnapshot> Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

        var snapshots = new List<ModelSnapshot>();
        foreach (var path in Directory.EnumerateFiles(folder, "*" + SnapshotJson.FileSuffix).Order(StringComparer.Ordinal))
        {
            var snapshot = SnapshotJson.Read(InputFile.ReadAllText(path, "snapshot", InputFile.MaxDocumentBytes), path);
            var expected = SnapshotJson.FileName(snapshot.Model, snapshot.Version);
            if (!string.Equals(Path.GetFileName(path), expected, StringComparison.Ordinal))
            {
                // The name is how reviewers and the build find a version: a renamed file would hide which one it is.
                throw new IOException($"{path}: holds {snapshot.Label}, so its name should be {expected}; snapshot files are not renamed by hand");
            }

            snapshots.Add(snapshot);
        }

        return snapshots.OrderBy(s => s.Model, StringComparer.Ordinal).ThenBy(s => s.Version).ToList();
    }

    /// <summary>The chain of <paramref name="model"/> in <paramref name="folder"/>; a gap or a duplicate is an error naming the folder.</summary>
    public static SnapshotChain Chain(string folder, string model)
    {
        var chain = SnapshotChain.Of(model, Load(folder), out var problem);
        return problem is null ? chain : throw new IOException($"{folder}: {problem}");
    }

    /// <summary>
    /// Records the class as version latest + 1, unless the latest snapshot already has its fingerprint (then
    /// nothing is written and that snapshot is returned). The file is written to a temporary file and renamed.
    /// With <paramref name="step"/> (a unit removal or growth made by a tool), the new version records the units that
    /// plan keeps and adds as its step from the latest (<see cref="SnapshotSteps.FromPlan"/>): it must start from the
    /// latest version and lead to the class.
    /// </summary>
    public static SnapshotRecorded Add(string folder, string model, string className, string schemaFile, string schemaText, ModelGraph graph, SurgeryPlan? step = null) =>
        Add(folder, model, className, schemaFile, schemaText, graph, step is null ? null : (IReadOnlyList<SurgeryPlan>)[step]);

    /// <summary>
    /// <see cref="Add(string, string, string, string, string, ModelGraph, SurgeryPlan?)"/> with the plans a tool made
    /// one after the other (several prunings, a DYNO run): the step keeps the units they kept and added, composed.
    /// </summary>
    public static SnapshotRecorded Add(string folder, string model, string className, string schemaFile, string schemaText, ModelGraph graph, IReadOnlyList<SurgeryPlan>? steps)
    {
        var chain = Chain(folder, model);
        var latest = chain.Latest;
        var candidate = ModelSnapshot.Create(model, className, (latest?.Version ?? 0) + 1, schemaFile, schemaText, graph);
        if (latest is not null && string.Equals(latest.Fingerprint, candidate.Fingerprint, StringComparison.Ordinal))
        {
            return new SnapshotRecorded(latest, Path.Combine(folder, SnapshotJson.FileName(model, latest.Version)), false);
        }

        if (steps is { Count: > 0 })
        {
            if (latest is null)
            {
                throw new InvalidDataException($"{folder}: no version of {model} is recorded, so a plan cannot be its step; record the class as it was before the plan first (surgery snapshot add --from-git <commit>)");
            }

            if (!string.Equals(steps[0].From.Fingerprint, latest.Fingerprint, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"the plan starts from {ModelSnapshot.Describe(steps[0].From)}, but the latest recorded version is {latest.Label} ({latest.Fingerprint.Substring(0, 12)}): it was made for another version");
            }

            if (!string.Equals(steps[steps.Count - 1].To.Fingerprint, candidate.Fingerprint, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"the plan leads to {ModelSnapshot.Describe(steps[steps.Count - 1].To)}, but the class is {candidate.Fingerprint.Substring(0, 12)}: give it the plan's widths first (surgery prune and grow print where each is written)");
            }

            SurgeryPlan? step;
            try
            {
                step = SnapshotSteps.FromPlans(steps, latest.Graph, latest.ReadSchema(), graph, candidate.ReadSchema());
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException(e.Message, e);
            }

            candidate = candidate with
            {
                Step = step ?? throw new InvalidDataException("a plan maps no units: it is not a unit removal or growth (surgery prune, surgery grow), and a step between two versions of a class is planned from the two graphs without one"),
            };
        }

        if (latest is not null && !string.Equals(latest.ClassName, className, StringComparison.Ordinal))
        {
            throw new IOException($"{folder}: the snapshots of {model} record class {latest.ClassName}, not {className}; use another folder for another class of that name");
        }

        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, SnapshotJson.FileName(model, candidate.Version));
        using (var batch = new OutputBatch())
        {
            batch.WriteAllBytes(path, SnapshotJson.WriteUtf8(candidate), overwrite: false);
            batch.Commit();
        }

        return new SnapshotRecorded(candidate, path, true);
    }
}
