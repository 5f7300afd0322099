using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;

namespace NeuralSurgery.Plan;

/// <summary>
/// A chain of plans composed into one (issue 13), with an honest account of what the single plan cannot say.
/// </summary>
/// <param name="Plan">The plan from the first step's source straight to the last step's target.</param>
/// <param name="Inexact">
/// Tensors whose composed plan differs from applying the steps one by one for some elements, each with why.
/// Empty when the composed plan gives every element exactly what sequential application gives it (copies, and
/// initialisation by the same rule from the same seeded stream).
/// </param>
/// <param name="Steps">The step plans, first to last.</param>
public sealed record PlanComposition(SurgeryPlan Plan, EquatableArray<string> Inexact, EquatableArray<SurgeryPlan> Steps)
{
    /// <summary>Whether <see cref="Plan"/> equals applying <see cref="Steps"/> in sequence, element for element.</summary>
    public bool IsExact => Inexact.Count == 0;
}

/// <summary>
/// Composes step plans v1→v2→…→vN into one plan v1→vN without intermediate checkpoints. Per target tensor and
/// axis, the index maps compose (target index → … → first source index, -1 where any step has none), so an
/// element is copied exactly when every step copies it. An element some step initialises gets that step's rule;
/// where one per-axis rule cannot say that (two steps initialise one axis by different rules), or where a middle
/// step drew random values that later steps carried on (the runtime's seeded stream is per tensor and element of
/// the step that drew them), the tensor is listed in <see cref="PlanComposition.Inexact"/> rather than guessed.
/// </summary>
public static class PlanComposer
{
    public static PlanComposition Compose(IReadOnlyList<SurgeryPlan> steps)
    {
        if (steps is null || steps.Count == 0)
        {
            throw new ArgumentException("composing needs at least one step plan", nameof(steps));
        }

        for (var k = 1; k < steps.Count; k++)
        {
            if (!steps[k].From.SameVersion(steps[k - 1].To))
            {
                throw new PlanException($"step {k + 1} starts at {steps[k].From}, but step {k} ends at {steps[k - 1].To}: the steps are not a chain");
            }
        }

        var last = steps[steps.Count - 1];
        var tensors = new List<TensorPlan>(last.Tensors.Count);
        var inexact = new List<string>();
        foreach (var target in last.Tensors)
        {
            tensors.Add(ComposeTensor(steps, target, inexact));
        }

        var copied = tensors.Where(t => !t.IsBuffer).Sum(t => t.CopiedElements);
        var totals = new PlanTotals(copied, last.Totals.TargetElements, steps[0].Totals.SourceElements);
        var notes = new List<string>();
        var dropped = new List<DroppedItem>();
        for (var k = 0; k < steps.Count; k++)
        {
            var label = steps[k].From + " -> " + steps[k].To;
            foreach (var note in steps[k].Notes)
            {
                notes.Add(steps.Count == 1 ? note : label + ": " + note);
            }

            foreach (var item in steps[k].Dropped)
            {
                if (!dropped.Contains(item))
                {
                    dropped.Add(item);
                }
            }

            // Which step dropped what: weights a step drops are gone for every later version, also where a later
            // version brings the feature or unit back (PlanComposer.LostInTheMiddle counts that against a direct plan).
            if (steps.Count > 1 && steps[k].Dropped.Count > 0)
            {
                notes.Add(label + " drops " + string.Join(", ", steps[k].Dropped.Select(d => Describe(d.Kind) + " '" + d.Name + "'"))
                    + ": its trained weights do not reach " + last.To + ", even if " + last.To + " has it again");
            }
        }

        notes.AddRange(inexact.Select(i => "not exact: " + i));
        var plan = new SurgeryPlan(steps[0].From, last.To, last.Options, tensors.ToEquatableArray(), totals, dropped.ToEquatableArray(), notes.ToEquatableArray());
        return new PlanComposition(plan, inexact.ToEquatableArray(), steps.ToEquatableArray());
    }

    /// <summary>
    /// Where <paramref name="composed"/> copies fewer elements than <paramref name="direct"/> (a plan diffed straight
    /// from the first version to the last): what a middle step dropped that the last version has again. One line per
    /// tensor, empty when the chain loses nothing a direct plan keeps.
    /// </summary>
    public static EquatableArray<string> LostInTheMiddle(SurgeryPlan composed, SurgeryPlan direct)
    {
        var lines = new List<string>();
        foreach (var tensor in direct.Tensors)
        {
            var through = composed.FindTensor(tensor.Name)?.CopiedElements ?? 0;
            if (tensor.CopiedElements > through)
            {
                lines.Add(string.Format(
                    CultureInfo.InvariantCulture,
                    "'{0}': the chain copies {1} of its {2} elements, a direct plan {3}: a middle step dropped {4} the last version has again",
                    tensor.Name, through, tensor.TotalElements, tensor.CopiedElements, tensor.CopiedElements - through));
            }
        }

        return lines.ToEquatableArray();
    }

    private static TensorPlan ComposeTensor(IReadOnlyList<SurgeryPlan> steps, TensorPlan target, List<string> inexact)
    {
        var n = steps.Count;
        var rank = target.Shape.Count;

        // Per axis and target index: the index in the tensor of the current step walking back, and the step (1-based)
        // at which its chain broke (0: it reaches the first version).
        var index = new long[rank][];
        var breakStep = new int[rank][];
        for (var a = 0; a < rank; a++)
        {
            index[a] = new long[target.Shape[a]];
            breakStep[a] = new int[target.Shape[a]];
            for (var i = 0; i < index[a].Length; i++)
            {
                index[a][i] = i;
            }
        }

        // The tensor plan of each step along the chain, last first; a step where the tensor was new ends the walk.
        var chain = new TensorPlan?[n + 1];
        var current = target;
        var freshAt = 0;
        var indexAt = new long[n + 1][][];
        for (var k = n; k >= 1; k--)
        {
            chain[k] = current;
            indexAt[k] = index.Select(axis => (long[])axis.Clone()).ToArray();
            if (current.Source is null)
            {
                freshAt = k;
                for (var a = 0; a < rank; a++)
                {
                    for (var i = 0; i < index[a].Length; i++)
                    {
                        if (breakStep[a][i] == 0)
                        {
                            breakStep[a][i] = k;
                        }
                    }
                }

                break;
            }

            if (current.Axes.Count != rank)
            {
                throw new PlanException($"'{target.Name}': step {k} maps {current.Axes.Count} axes into a tensor of rank {rank}; a chain keeps each tensor's rank");
            }

            for (var a = 0; a < rank; a++)
            {
                var axis = current.Axes[a];
                for (var i = 0; i < index[a].Length; i++)
                {
                    if (breakStep[a][i] != 0)
                    {
                        continue;
                    }

                    var source = axis.SourceIndex(index[a][i]);
                    if (source < 0)
                    {
                        breakStep[a][i] = k;
                    }
                    else
                    {
                        index[a][i] = source;
                    }
                }
            }

            if (k > 1)
            {
                var source = current.Source;
                current = steps[k - 2].FindTensor(source)
                    ?? throw new PlanException($"'{target.Name}': step {k} reads '{source}', which step {k - 1} does not produce; the steps are not a chain");
            }
        }

        // The rule sequential application gives an element whose axes break at these steps: the latest step where any
        // axis breaks decides, by its own init order (or its whole-tensor rule where the tensor was new there).
        // A scalar (rank 0: num_batches_tracked) has no axes to break: it is copied, or new where the tensor was new.
        int Deciding(int[] steps2) => steps2.Length == 0 ? freshAt : steps2.Max();

        InitRule SequentialRule(int[] steps2)
        {
            var k = Deciding(steps2);
            var plan = chain[k]!;
            if (plan.Source is null)
            {
                return plan.Init;
            }

            foreach (var a in plan.InitOrder)
            {
                if (steps2[a] == k)
                {
                    return plan.Axes[a].Unmapped;
                }
            }

            throw new InvalidOperationException("no axis of the deciding step is unmapped");
        }

        var first = chain[1];
        var name = target.Name;
        var distinct = new List<int>[rank];
        for (var a = 0; a < rank; a++)
        {
            distinct[a] = breakStep[a].Distinct().OrderBy(s => s).ToList();
        }

        var problems = new List<string>();
        TensorPlan composed;
        if (freshAt > 0 || first is null)
        {
            // Some step made the tensor anew: nothing of the first version reaches it. One rule for every element.
            composed = new TensorPlan(name, target.Shape, target.DType, target.IsBuffer, null, EquatableArray<long>.Empty, EquatableArray<AxisMap>.Empty, EquatableArray<int>.Empty, chain[freshAt]!.Init);
            foreach (var combination in Combinations(distinct))
            {
                var rule = SequentialRule(combination);
                if (rule != composed.Init)
                {
                    problems.Add($"the step to {steps[Deciding(combination) - 1].To} initialises some elements by {rule}, the composed plan by {composed.Init}");
                }
            }
        }
        else
        {
            // Each axis gets the rule of the latest step that breaks it; combinations that disagree are reported.
            var axes = new AxisMap[rank];
            for (var a = 0; a < rank; a++)
            {
                var map = new long[index[a].Length];
                for (var i = 0; i < map.Length; i++)
                {
                    map[i] = breakStep[a][i] == 0 ? index[a][i] : -1;
                }

                var latest = distinct[a].Max();
                var rule = latest == 0 ? target.Axes[a].Unmapped : chain[latest]!.Axes[a].Unmapped;
                axes[a] = new AxisMap(target.Axes[a].Role, map.Length, first.SourceShape[a], AxisMap.Encode(map), rule);
            }

            // The last step's init order first; where it disagrees with sequential application (a column made new by
            // one step in a row made new by another), another order of the axes may say it exactly.
            List<string>? conflicts = null;
            var order = target.InitOrder;
            foreach (var candidate in Permutations(target.InitOrder))
            {
                var found = Conflicts(candidate, axes, distinct, steps, SequentialRule);
                if (conflicts is null || found.Count < conflicts.Count)
                {
                    (conflicts, order) = (found, candidate);
                }

                if (found.Count == 0)
                {
                    break;
                }
            }

            problems.AddRange(conflicts!);
            composed = new TensorPlan(name, target.Shape, target.DType, target.IsBuffer, first.Source, first.SourceShape, axes.ToEquatableArray(), order, target.Init);
        }

        // Random values come from a stream per tensor name and flat element index of the plan that draws them. A
        // middle step's draws are the composed plan's draws only where the tensor kept its name and shape and the
        // elements their indices since; elsewhere one plan would draw other values (from the same distribution).
        foreach (var combination in Combinations(distinct))
        {
            var k = Deciding(combination);
            if (k == 0 || k == n || SequentialRule(combination).Kind is not (InitKind.Uniform or InitKind.Normal))
            {
                continue;
            }

            // Flat index there minus flat index here is a sum of one term per axis; over the product of the axes'
            // index sets it is zero everywhere only if each term is constant and the constants add up to zero.
            var same = chain[k]!.Name == name;
            var strideThere = Strides(chain[k]!.Shape);
            var strideHere = Strides(target.Shape);
            long offset = 0;
            for (var a = 0; a < rank && same; a++)
            {
                long? term = null;
                for (var i = 0; i < breakStep[a].Length && same; i++)
                {
                    if (breakStep[a][i] == combination[a])
                    {
                        var d = (indexAt[k][a][i] * strideThere[a]) - (i * strideHere[a]);
                        same = term is null || term == d;
                        term = d;
                    }
                }

                offset += term ?? 0;
            }

            same &= offset == 0;

            if (!same)
            {
                problems.Add($"the step to {steps[k - 1].To} draws {SequentialRule(combination)} values that later steps carry to other element positions; one plan draws them afresh (same distribution, other values)");
            }
        }

        foreach (var problem in problems.Distinct())
        {
            inexact.Add("'" + name + "': " + problem);
        }

        return composed;
    }

    /// <summary>Where one init order gives an element another rule than sequential application.</summary>
    private static List<string> Conflicts(EquatableArray<int> order, AxisMap[] axes, List<int>[] distinct, IReadOnlyList<SurgeryPlan> steps, Func<int[], InitRule> sequentialRule)
    {
        var conflicts = new List<string>();
        foreach (var combination in Combinations(distinct))
        {
            if (combination.All(s => s == 0))
            {
                continue; // copied on every axis: copied in both
            }

            InitRule? mine = null;
            foreach (var a in order)
            {
                if (combination[a] != 0)
                {
                    mine = axes[a].Unmapped;
                    break;
                }
            }

            var sequential = sequentialRule(combination);
            if (mine != sequential)
            {
                conflicts.Add($"the step to {steps[combination.Max() - 1].To} initialises some elements by {sequential}, the composed plan by {mine}");
            }
        }

        return conflicts;
    }

    /// <summary><paramref name="first"/>, then every other order of its axes (rank 4 at most in practice: 24 orders).</summary>
    private static IEnumerable<EquatableArray<int>> Permutations(EquatableArray<int> first)
    {
        yield return first;
        // Permute swaps in place: compare with the first order, never with the array being permuted.
        foreach (var permutation in Permute(first.ToArray(), 0))
        {
            if (!permutation.SequenceEqual(first))
            {
                yield return permutation.ToEquatableArray();
            }
        }

        static IEnumerable<int[]> Permute(int[] items, int from)
        {
            if (from == items.Length)
            {
                yield return (int[])items.Clone();
                yield break;
            }

            for (var i = from; i < items.Length; i++)
            {
                (items[from], items[i]) = (items[i], items[from]);
                foreach (var p in Permute(items, from + 1))
                {
                    yield return p;
                }

                (items[from], items[i]) = (items[i], items[from]);
            }
        }
    }

    private static long[] Strides(EquatableArray<long> shape)
    {
        var strides = new long[shape.Count];
        long stride = 1;
        for (var a = shape.Count - 1; a >= 0; a--)
        {
            strides[a] = stride;
            stride *= shape[a];
        }

        return strides;
    }

    /// <summary>Every choice of one value per axis (few: at most the number of steps plus one per axis).</summary>
    private static IEnumerable<int[]> Combinations(List<int>[] values)
    {
        var rank = values.Length;
        var at = new int[rank];
        while (true)
        {
            var combination = new int[rank];
            for (var a = 0; a < rank; a++)
            {
                combination[a] = values[a][at[a]];
            }

            yield return combination;
            var d = rank - 1;
            while (d >= 0 && ++at[d] == values[d].Count)
            {
                at[d] = 0;
                d--;
            }

            if (d < 0)
            {
                yield break;
            }
        }
    }

    private static string Describe(DroppedKind kind) => kind switch
    {
        DroppedKind.Feature => "feature",
        DroppedKind.CategoricalValue => "categorical value",
        DroppedKind.OutputFeature => "output",
        DroppedKind.Units => "units of",
        _ => "tensor",
    };
}
