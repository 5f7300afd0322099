using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Plan;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// Masks read off what the mirror and the differ know: the elements that interact with chosen features (paper 001
/// section 2.3, Φ) and the elements a surgery plan initialised rather than copied. Restricting tuning to them lets a
/// surgered model learn to use what the surgery added while the transferred weights stay exactly as they were.
/// </summary>
public static class MaskSources
{
    /// <summary>
    /// Sets, in <paramref name="mask"/>, the elements of every region in <paramref name="interactions"/> (from
    /// <see cref="InteractionMap.InteractionsOf(string, string)"/>); the mask must cover each parameter named there.
    /// </summary>
    public static ParameterMask AddInteractions(ParameterMask mask, InteractionMap map, IEnumerable<ParameterInteraction> interactions)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(interactions);
        foreach (var interaction in interactions)
        {
            if (!mask.Contains(interaction.Parameter))
            {
                // Buffers interact with features too but are not trained; a mask over parameters skips them.
                if (map.Graph.Parameters.Any(p => p.Name == interaction.Parameter && p.IsBuffer))
                {
                    continue;
                }

                throw new ArgumentException($"The interaction map names parameter '{interaction.Parameter}', which the mask does not cover.", nameof(interactions));
            }

            var shape = map.Graph.Parameters.First(p => p.Name == interaction.Parameter).Shape.Dims.Select(d => d.Value).ToArray();
            foreach (var region in interaction.Regions)
            {
                SetBox(mask, interaction.Parameter, shape, region.Start, region.Size);
            }
        }

        return mask;
    }

    /// <summary>
    /// Only the elements that interact with any of <paramref name="features"/> of input <paramref name="input"/>,
    /// over the tensors of <paramref name="template"/> (an empty mask giving names and lengths).
    /// </summary>
    public static ParameterMask FromFeatures(ParameterMask template, InteractionMap map, string input, params string[] features)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(features);
        var mask = template.CloneEmpty();
        foreach (var feature in features)
        {
            AddInteractions(mask, map, map.InteractionsOf(input, feature));
        }

        return mask;
    }

    /// <summary>
    /// Only the elements <paramref name="plan"/> initialised: per target tensor (buffers skipped), the elements
    /// whose <see cref="TensorPlan.RuleFor"/> is not null, i.e. those not copied from the old model. The mask
    /// covers the plan's non-buffer tensors in plan order.
    /// </summary>
    public static ParameterMask FromPlanInitialised(SurgeryPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var tensors = plan.Tensors.Where(t => !t.IsBuffer).ToList();
        var mask = new ParameterMask(tensors.Select(t => new KeyValuePair<string, long>(t.Name, t.TotalElements)));
        foreach (var t in tensors)
        {
            var shape = t.Shape.ToArray();
            if (t.Source is null)
            {
                mask.SetTensor(t.Name, true);
                continue;
            }

            if (t.Axes.Count != shape.Length)
            {
                throw new ArgumentException($"Plan tensor '{t.Name}' has {t.Axes.Count} axis maps for shape [{string.Join(", ", shape)}]; expected one per axis.", nameof(plan));
            }

            // An element is copied exactly when every axis maps its index (TensorPlan.CopiedElements is that
            // product), so per axis one table of mapped indices decides every element.
            var mapped = new bool[shape.Length][];
            for (var a = 0; a < shape.Length; a++)
            {
                mapped[a] = new bool[shape[a]];
                for (long i = 0; i < shape[a]; i++)
                {
                    mapped[a][i] = t.Axes[a].SourceIndex(i) >= 0;
                }
            }

            var index = new long[shape.Length];
            var total = t.TotalElements;
            for (long flat = 0; flat < total; flat++)
            {
                var copied = true;
                for (var a = 0; a < shape.Length && copied; a++)
                {
                    copied = mapped[a][index[a]];
                }

                if (!copied)
                {
                    mask[t.Name, flat] = true;
                }

                for (var a = shape.Length - 1; a >= 0; a--)
                {
                    if (++index[a] < shape[a])
                    {
                        break;
                    }

                    index[a] = 0;
                }
            }
        }

        return mask;
    }

    /// <summary>Sets a box of a row-major tensor: runs along the last axis become range sets.</summary>
    private static void SetBox(ParameterMask mask, string name, long[] shape, long[] start, long[] size)
    {
        if (start.Length != shape.Length || size.Length != shape.Length)
        {
            throw new ArgumentException($"Region of rank {start.Length} for tensor '{name}' of rank {shape.Length}.", nameof(start));
        }

        if (shape.Length == 0)
        {
            mask[name, 0] = true;
            return;
        }

        var rank = shape.Length;
        for (var a = 0; a < rank; a++)
        {
            if (start[a] < 0 || size[a] < 0 || start[a] + size[a] > shape[a])
            {
                throw new ArgumentException($"Region [{string.Join(", ", start)}] + [{string.Join(", ", size)}] lies outside tensor '{name}' of shape [{string.Join(", ", shape)}].", nameof(start));
            }

            if (size[a] == 0)
            {
                return;
            }
        }

        var strides = new long[rank];
        strides[rank - 1] = 1;
        for (var a = rank - 2; a >= 0; a--)
        {
            strides[a] = strides[a + 1] * shape[a + 1];
        }

        var index = new long[rank - 1];
        while (true)
        {
            long offset = start[rank - 1];
            for (var a = 0; a < rank - 1; a++)
            {
                offset += (start[a] + index[a]) * strides[a];
            }

            mask.SetRange(name, offset, size[rank - 1], true);
            var advanced = false;
            for (var a = rank - 2; a >= 0; a--)
            {
                if (++index[a] < size[a])
                {
                    advanced = true;
                    break;
                }

                index[a] = 0;
            }

            if (!advanced)
            {
                return;
            }
        }
    }
}
