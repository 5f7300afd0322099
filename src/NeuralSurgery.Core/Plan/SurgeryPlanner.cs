using System.Threading;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Plan;

/// <summary>Both sides of a planned surgery, traced, with the plan and its JSON form.</summary>
/// <param name="Old">The old model, bound to its schema and traced.</param>
/// <param name="New">The new model, bound to its schema and traced.</param>
/// <param name="Plan">The surgery map from <paramref name="Old"/> to <paramref name="New"/>.</param>
/// <param name="Json">The plan exactly as <see cref="PlanJson.Write"/> writes it (what generated code carries).</param>
public sealed record PlannedModels(ModelSide Old, ModelSide New, SurgeryPlan Plan, string Json);

/// <summary>
/// The one front end from two read models to a plan (STYLE.md 14): bind each graph to its schema, trace both
/// (paper 001 section 2.3.2), diff the interaction maps and write the plan JSON. The generator, the CLI and
/// snapshots call this, so they cannot bind schemas differently.
/// </summary>
public static class SurgeryPlanner
{
    public static PlannedModels Plan(
        ModelGraph oldGraph,
        FeatureSchema? oldSchema,
        ModelGraph newGraph,
        FeatureSchema? newSchema,
        PlanOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var oldSide = ModelSide.Trace(oldGraph, oldSchema);
        cancellationToken.ThrowIfCancellationRequested();
        var newSide = ModelSide.Trace(newGraph, newSchema);
        cancellationToken.ThrowIfCancellationRequested();
        var plan = SurgeryDiffer.Diff(oldSide, newSide, options ?? PlanOptions.Default);

        // PlanJson.Write throws ArgumentException for a plan Core considers inconsistent: better here than in a file.
        return new PlannedModels(oldSide, newSide, plan, PlanJson.Write(plan));
    }
}
