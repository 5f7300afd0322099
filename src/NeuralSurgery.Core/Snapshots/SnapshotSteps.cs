using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Snapshots;

/// <summary>
/// Steps of a snapshot chain taken from plans that tools made (issue 15: <c>surgery prune</c>, <c>surgery grow</c>,
/// DYNO): removing units 1 and 4 and removing the last two give the same class, so only the tool's plan says which
/// units a checkpoint keeps.
/// </summary>
public static class SnapshotSteps
{
    /// <summary>Whether <paramref name="plan"/> is a unit removal or growth: it maps the units of a layer explicitly.</summary>
    public static bool IsUnitPlan(SurgeryPlan plan) => plan is not null && plan.Options.UnitMaps.Count > 0;

    /// <summary>
    /// The step from one version to the next that keeps and adds the units <paramref name="plan"/> does, planned
    /// afresh between the two versions (see <see cref="FromPlans"/>). Null when the plan maps no units.
    /// </summary>
    public static SurgeryPlan? FromPlan(SurgeryPlan plan, ModelGraph fromGraph, FeatureSchema? fromSchema, ModelGraph toGraph, FeatureSchema? toSchema, CancellationToken cancellationToken = default) =>
        FromPlans([plan ?? throw new ArgumentNullException(nameof(plan))], fromGraph, fromSchema, toGraph, toSchema, cancellationToken);

    /// <summary>
    /// The step from one version to the next that keeps and adds the units <paramref name="plans"/> do, one after
    /// the other (several prunings, a DYNO run), planned afresh between the two versions. A tool's plan may hold
    /// values measured on the checkpoint it was made for (mean replacement's bias terms, chosen fan-in of grown
    /// units): as a step they would be added to every other checkpoint of that version, so the step keeps only the
    /// composed unit maps (removed units are zero-replaced, grown ones start from the layer's default
    /// initialisation with zero fan-out), and its versions are the two versions' own. Null when a plan maps no units.
    /// </summary>
    /// <exception cref="ArgumentException">The plans are not a chain (one does not start where the previous led).</exception>
    public static SurgeryPlan? FromPlans(IReadOnlyList<SurgeryPlan> plans, ModelGraph fromGraph, FeatureSchema? fromSchema, ModelGraph toGraph, FeatureSchema? toSchema, CancellationToken cancellationToken = default)
    {
        if (plans is null)
        {
            throw new ArgumentNullException(nameof(plans));
        }

        if (plans.Count == 0 || !plans.All(IsUnitPlan))
        {
            return null;
        }

        var options = plans[0].Options with { UnitMaps = ComposeUnitMaps(plans) };
        var step = SurgeryPlanner.Plan(fromGraph, fromSchema, toGraph, toSchema, options, cancellationToken).Plan;
        var carriesValues = plans.Any(p => p.Tensors.Any(t => t.Add.Count > 0));
        var note = "the units " + string.Join(", ", options.UnitMaps.Select(m => "'" + m.Space + "'")) + " keep or gain follow the "
            + (plans.Count == 1 ? "plan a tool made" : plans.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " plans a tool made, one after the other")
            + (carriesValues ? "; the values measured on one checkpoint (mean replacement, chosen fan-in) are not part of the step, so other checkpoints get zero replacement and default initialisation" : string.Empty);
        return step with { Notes = step.Notes.Append(note).ToEquatableArray() };
    }

    /// <summary>
    /// The unit maps of plans made one after the other, composed: per unit space, each unit of the last version
    /// names the unit of the first it copies (-1: added on the way). A space a plan does not map keeps its units.
    /// </summary>
    /// <exception cref="ArgumentException">A plan does not start where the previous one led, or maps a unit that does not exist there.</exception>
    public static EquatableArray<UnitMap> ComposeUnitMaps(IReadOnlyList<SurgeryPlan> plans)
    {
        if (plans is null)
        {
            throw new ArgumentNullException(nameof(plans));
        }

        var order = new List<string>();
        var maps = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (var i = 0; i < plans.Count; i++)
        {
            if (i > 0 && !string.Equals(plans[i - 1].To.Fingerprint, plans[i].From.Fingerprint, StringComparison.Ordinal))
            {
                throw new ArgumentException($"plan {i + 1} starts from {ModelSnapshot.Describe(plans[i].From)}, but plan {i} led to {ModelSnapshot.Describe(plans[i - 1].To)}: the plans are not a chain", nameof(plans));
            }

            foreach (var map in plans[i].Options.UnitMaps)
            {
                if (!maps.TryGetValue(map.Space, out var earlier))
                {
                    order.Add(map.Space);
                    maps[map.Space] = map.Sources.ToArray();
                    continue;
                }

                maps[map.Space] = map.Sources.Select(s => s < 0 ? -1
                    : s < earlier.Length ? earlier[s]
                    : throw new ArgumentException($"plan {i + 1} maps unit {s} of '{map.Space}', which has {earlier.Length} units after plan {i}", nameof(plans))).ToArray();
            }
        }

        return order.Select(space => new UnitMap(space, maps[space].ToEquatableArray())).ToEquatableArray();
    }

    /// <summary>
    /// The chains of unit plans among <paramref name="items"/> that lead from the version with fingerprint
    /// <paramref name="from"/> to the one with <paramref name="to"/>, each plan used at most once, shortest first;
    /// at most <paramref name="limit"/> of them.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<T>> Chains<T>(IReadOnlyList<T> items, Func<T, SurgeryPlan> planOf, string from, string to, int limit = 64)
    {
        var result = new List<IReadOnlyList<T>>();
        var path = new List<T>();
        var used = new bool[items.Count];
        void Walk(string at)
        {
            if (result.Count >= limit)
            {
                return;
            }

            for (var i = 0; i < items.Count; i++)
            {
                var plan = planOf(items[i]);
                if (used[i] || !IsUnitPlan(plan) || plan.To.Fingerprint is null || !string.Equals(plan.From.Fingerprint, at, StringComparison.Ordinal))
                {
                    continue;
                }

                used[i] = true;
                path.Add(items[i]);
                if (string.Equals(plan.To.Fingerprint, to, StringComparison.Ordinal))
                {
                    result.Add(path.ToArray());
                }
                else
                {
                    Walk(plan.To.Fingerprint);
                }

                path.RemoveAt(path.Count - 1);
                used[i] = false;
            }
        }

        if (!string.Equals(from, to, StringComparison.Ordinal))
        {
            Walk(from);
        }

        return result.OrderBy(c => c.Count).ToList();
    }

    /// <summary>
    /// <see cref="Chains"/>, one per outcome: chains that keep the same units (<see cref="ComposeUnitMaps"/>) are one.
    /// More than one means the plans disagree on which units a checkpoint keeps.
    /// </summary>
    /// <exception cref="ArgumentException">A chain maps a unit that does not exist where it applies.</exception>
    public static IReadOnlyList<IReadOnlyList<T>> DistinctChains<T>(IReadOnlyList<T> items, Func<T, SurgeryPlan> planOf, string from, string to) =>
        Chains(items, planOf, from, to).GroupBy(c => ComposeUnitMaps(c.Select(planOf).ToList())).Select(g => g.First()).ToList();
}
