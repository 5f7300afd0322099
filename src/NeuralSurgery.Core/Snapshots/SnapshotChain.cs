using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using NeuralSurgery.Plan;

namespace NeuralSurgery.Snapshots;

/// <summary>
/// The recorded versions of one model class in order, v1, v2, … with no gaps: each step of the chain is planned
/// from one snapshot to the next (or is the plan recorded with the later one), so a missing file is a version no
/// checkpoint can be upgraded through.
/// </summary>
public sealed class SnapshotChain
{
    private SnapshotChain(string model, IReadOnlyList<ModelSnapshot> versions)
    {
        Model = model;
        Versions = versions;
    }

    public string Model { get; }

    /// <summary>v1 … vN, in order; <c>Versions[i].Version == i + 1</c>.</summary>
    public IReadOnlyList<ModelSnapshot> Versions { get; }

    public ModelSnapshot? Latest => Versions.Count == 0 ? null : Versions[Versions.Count - 1];

    /// <summary>
    /// The chain of <paramref name="model"/> among <paramref name="snapshots"/> (others are ignored), or the reason
    /// there is none: two snapshots with one version, or a version missing between 1 and the latest.
    /// </summary>
    public static SnapshotChain Of(string model, IEnumerable<ModelSnapshot> snapshots, out string? problem)
    {
        var mine = snapshots.Where(s => string.Equals(s.Model, model, StringComparison.Ordinal)).OrderBy(s => s.Version).ToList();
        problem = null;
        for (var i = 0; i < mine.Count; i++)
        {
            if (i > 0 && mine[i].Version == mine[i - 1].Version)
            {
                problem = $"two snapshots of {model} claim version {mine[i].Version.ToString(CultureInfo.InvariantCulture)}";
                break;
            }

            if (mine[i].Version != i + 1)
            {
                var missing = Enumerable.Range(i + 1, mine[i].Version - (i + 1)).Select(v => "v" + v.ToString(CultureInfo.InvariantCulture));
                problem = $"the snapshots of {model} skip {string.Join(", ", missing)}: a checkpoint of an earlier version cannot be upgraded past the gap";
                break;
            }

            if (mine[i].Step is { } step && (i == 0 || !string.Equals(step.From.Fingerprint, mine[i - 1].Fingerprint, StringComparison.Ordinal)))
            {
                problem = i == 0
                    ? $"{mine[i].Label} records a step plan, but v1 has no earlier version to start from"
                    : $"{mine[i].Label} records a step from {ModelSnapshot.Describe(step.From)}, but {mine[i - 1].Label} is {mine[i - 1].Fingerprint.Substring(0, 12)}: the step was made for another version";
                break;
            }
        }

        return new SnapshotChain(model, problem is null ? mine : mine.Take(0).ToList());
    }

    /// <summary>
    /// The step plans from version <paramref name="from"/> to version <paramref name="to"/> (each the version's
    /// recorded <see cref="ModelSnapshot.Step"/>, or else planned by the one front end, <see cref="SurgeryPlanner"/>),
    /// in order; empty when they are equal.
    /// </summary>
    public IReadOnlyList<SurgeryPlan> Steps(int from, int to, CancellationToken cancellationToken = default)
    {
        if (from < 1 || to > Versions.Count || from > to)
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"{Model}: steps from v{from} to v{to}; expected 1 <= from <= to <= {Versions.Count}");
        }

        var steps = new List<SurgeryPlan>();
        for (var v = from; v < to; v++)
        {
            var a = Versions[v - 1];
            var b = Versions[v];
            steps.Add(b.Step ?? SurgeryPlanner.Plan(a.Graph, a.ReadSchema(), b.Graph, b.ReadSchema(), null, cancellationToken).Plan);
        }

        return steps;
    }

    /// <summary>The version whose fingerprint is <paramref name="fingerprint"/>, or null.</summary>
    public ModelSnapshot? Find(string fingerprint) =>
        Versions.LastOrDefault(s => string.Equals(s.Fingerprint, fingerprint, StringComparison.Ordinal));
}
