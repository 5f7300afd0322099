using System;
using System.Collections.Generic;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Execution;

/// <summary>
/// Applies a chain of step plans (v1 → v2 → … → current) to one checkpoint without intermediate files (issue 13).
/// Where the composed plan is exact (<see cref="PlanComposition.IsExact"/>) it is applied in one streaming pass;
/// otherwise the steps run one by one in memory and only the last writes, so the result always equals applying
/// the steps one by one, tensor for tensor.
/// </summary>
public static class ChainExecutor
{
    /// <summary>As <see cref="Apply(IReadOnlyList{SurgeryPlan}, string, string, ApplyOptions?)"/>, stamping the output as <paramref name="stamp"/>.</summary>
    public static void Apply(IReadOnlyList<SurgeryPlan> steps, string sourcePath, string targetPath, ApplyOptions? options, CheckpointStamp stamp) =>
        Apply(steps, sourcePath, targetPath, ApplyOptions.Stamped(options, stamp));

    public static void Apply(IReadOnlyList<SurgeryPlan> steps, string sourcePath, string targetPath, ApplyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
        {
            throw new ArgumentException($"{sourcePath}: no steps to apply; the checkpoint is of the current version already", nameof(steps));
        }

        options ??= new ApplyOptions();
        var composition = PlanComposer.Compose(steps);
        if (composition.IsExact)
        {
            PlanExecutor.Apply(composition.Plan, sourcePath, targetPath, options);
            return;
        }

        using var reader = PlanExecutor.OpenSource(sourcePath, targetPath, options);
        ITensorSource current = reader;
        for (var i = 0; i < steps.Count - 1; i++)
        {
            options.Cancellation.ThrowIfCancellationRequested();
            current = PlanExecutor.ApplyInMemory(steps[i], current, options.Seed);
        }

        PlanExecutor.Apply(steps[^1], current, targetPath, options);
    }
}
