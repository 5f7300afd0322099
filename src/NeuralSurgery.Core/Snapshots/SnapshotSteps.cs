using System;
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
    /// afresh between the two versions. The tool's plan may hold values measured on the checkpoint it was made for
    /// (mean replacement's bias terms, chosen fan-in of grown units): as a step they would be added to every other
    /// checkpoint of that version, so the step keeps only the unit maps (removed units are zero-replaced, grown ones
    /// start from the layer's default initialisation with zero fan-out), and its versions are the two versions'
    /// own. Null when the plan maps no units.
    /// </summary>
    public static SurgeryPlan? FromPlan(SurgeryPlan plan, ModelGraph fromGraph, FeatureSchema? fromSchema, ModelGraph toGraph, FeatureSchema? toSchema, CancellationToken cancellationToken = default)
    {
        if (plan is null)
        {
            throw new ArgumentNullException(nameof(plan));
        }

        if (!IsUnitPlan(plan))
        {
            return null;
        }

        var step = SurgeryPlanner.Plan(fromGraph, fromSchema, toGraph, toSchema, plan.Options, cancellationToken).Plan;
        var carriesValues = plan.Tensors.Any(t => t.Add.Count > 0);
        var note = "the units " + string.Join(", ", plan.Options.UnitMaps.Select(m => "'" + m.Space + "'")) + " keep or gain follow the plan a tool made"
            + (carriesValues ? "; the values it measured on one checkpoint (mean replacement, chosen fan-in) are not part of the step, so other checkpoints get zero replacement and default initialisation" : string.Empty);
        return step with { Notes = step.Notes.Append(note).ToEquatableArray() };
    }
}
