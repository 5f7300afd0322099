using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>
/// Columns of a consumer layer that read removed units, and the bias that can absorb them: mean replacement folds
/// <c>W[:, c] · E[x_c]</c> into <see cref="Bias"/> (paper 002 section 1.2, eqs 1.5-1.6; section 3.1).
/// </summary>
/// <param name="Module">The consumer module (whose call's first operand is the input <c>x</c>).</param>
/// <param name="Weight">The consumer weight (old name); its axis 1 indexes the input.</param>
/// <param name="Bias">The bias that absorbs the columns (new name), or null when the layer has none.</param>
/// <param name="Columns">Old input indices of <see cref="Weight"/> that the removal drops.</param>
public sealed record RemovedColumns(string Module, string Weight, string? Bias, EquatableArray<long> Columns);

/// <summary>The input columns of one consumer weight that each unit of a layer feeds (its fan-out there).</summary>
public sealed record UnitFanOut(string Weight, EquatableArray<EquatableArray<long>> Columns);

/// <summary>Per unit of a layer, the indices of one axis of one parameter that belong to it (what removing it drops there).</summary>
public sealed record UnitSlice(string Parameter, int Axis, EquatableArray<EquatableArray<long>> Indices);

/// <summary>A unit removal as a plan, with the narrowed graph it makes and the consumers whose columns it drops.</summary>
public sealed record UnitRemovalPlan(
    SurgeryPlan Plan,
    ModelGraph Narrowed,
    string Space,
    EquatableArray<long> Removed,
    EquatableArray<RemovedColumns> Consumers);

/// <summary>
/// Removing units of one layer as an ordinary <see cref="SurgeryPlan"/> (issue 15 part 1). The coupled slices are
/// found by the tracer's unit identities, not re-derived: every parameter index whose keys name a removed unit (the
/// layer's rows, all LSTM/GRU gate blocks, BatchNorm/LayerNorm channels, consumer columns through concats, sets,
/// flattens) is dropped, the graph is narrowed by those counts, and the differ maps the rest with a
/// <see cref="UnitMap"/> of the kept units.
/// </summary>
public static class UnitRemoval
{
    /// <summary>
    /// The plan that removes <paramref name="units"/> of <paramref name="layer"/> (a module path such as <c>fc1</c>
    /// or a unit space such as <c>lstm.l0</c>) from <paramref name="model"/>.
    /// </summary>
    public static UnitRemovalPlan Plan(ModelSide model, string layer, IReadOnlyCollection<long> units)
    {
        if (model is null)
        {
            throw new ArgumentNullException(nameof(model));
        }

        if (layer is null)
        {
            throw new ArgumentNullException(nameof(layer));
        }

        if (units is null)
        {
            throw new ArgumentNullException(nameof(units));
        }

        var space = FindSpace(model, layer);
        var removed = CheckUnits(space, units);
        var removedAtoms = RemovedAtoms(model.Map, space, removed);
        RefuseHeads(model, space, removedAtoms);

        // Per parameter and axis, the old indices whose keys name a removed unit: the coupled slices.
        var dropped = new Dictionary<string, long[][]>(StringComparer.Ordinal);
        foreach (var p in model.Graph.Parameters)
        {
            var phi = model.Map[p.Name];
            dropped[p.Name] = Enumerable.Range(0, phi.Rank).Select(a => DroppedIndices(AxisKeys.Of(phi, a), removedAtoms)).ToArray();
        }

        var narrowed = Resize(model.Graph, dropped.ToDictionary(kv => kv.Key, kv => kv.Value.Select(d => (long)d.Length).ToArray(), StringComparer.Ordinal), space.Name, "removing");
        var newSide = ModelSide.Trace(narrowed, model.Schema);
        var kept = Enumerable.Range(0, (int)space.Size).Select(i => (long)i).Where(i => Array.BinarySearch(removed, i) < 0).ToEquatableArray();
        var plan = SurgeryDiffer.Diff(model, newSide, PlanOptions.Default with { UnitMaps = new[] { new UnitMap(space.Name, kept) }.ToEquatableArray() });
        var consumers = Consumers(model.Graph, dropped, plan, out var notes);
        foreach (var module in model.Graph.Modules.Where(m => m.Spec is LayerNormSpec or GroupNormSpec))
        {
            var lost = module.Spec.Parameters().Select(p => dropped[p.FullName(module.Path)].Sum(d => d.Length)).DefaultIfEmpty(0).Max();
            if (lost > 0)
            {
                notes.Add($"{module.Spec.Kind} '{module.Path}' normalises over {lost.ToString(CultureInfo.InvariantCulture)} fewer indices: its outputs change, since its statistics included the removed units");
            }
        }

        plan = plan with { Notes = plan.Notes.Concat(notes).Distinct(StringComparer.Ordinal).ToEquatableArray() };
        return new UnitRemovalPlan(plan, narrowed, space.Name, removed.ToEquatableArray(), consumers.ToEquatableArray());
    }

    /// <summary>
    /// Per parameter and axis, the indices each unit of <paramref name="layer"/> owns there: the layer's rows (every
    /// gate block of a recurrent layer), the channels of norms it feeds, the columns of its consumers. Unit-level
    /// scores sum parameter scores over these slices; removing unit i drops exactly its slices.
    /// </summary>
    public static IReadOnlyList<UnitSlice> Slices(ModelSide model, string layer)
    {
        if (model is null)
        {
            throw new ArgumentNullException(nameof(model));
        }

        var space = FindSpace(model, layer ?? throw new ArgumentNullException(nameof(layer)));
        var owners = OwnerSpaces(model.Map, space);
        var result = new List<UnitSlice>();
        foreach (var p in model.Graph.Parameters)
        {
            var phi = model.Map[p.Name];
            for (var a = 0; a < phi.Rank; a++)
            {
                var indices = Enumerable.Range(0, (int)space.Size).Select(_ => new List<long>()).ToArray();
                var keys = AxisKeys.Of(phi, a);
                for (var i = 0; i < keys.Length; i++)
                {
                    foreach (var unit in keys[i].Where(atom => owners.Contains(Atom.Space(atom))).Select(Atom.Id).Distinct())
                    {
                        indices[unit].Add(i);
                    }
                }

                if (indices.Any(x => x.Count > 0))
                {
                    result.Add(new UnitSlice(p.Name, a, indices.Select(x => x.ToEquatableArray()).ToEquatableArray()));
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Per consumer weight of <paramref name="layer"/>'s units (axis 1 of a weight of another layer), the columns each
    /// unit feeds: what zero fan-out (paper 002 section 3.2, third case) is checked on.
    /// </summary>
    public static IReadOnlyList<UnitFanOut> FanOut(ModelSide model, string layer)
    {
        var space = FindSpace(model ?? throw new ArgumentNullException(nameof(model)), layer ?? throw new ArgumentNullException(nameof(layer)));
        return Slices(model, layer)
            .Where(s => s.Axis == 1 && model.Graph.FindParameter(s.Parameter) is { } p && p.Module != space.Module && p.Role is ParameterRole.Weight or ParameterRole.WeightIh or ParameterRole.WeightHh)
            .Select(s => new UnitFanOut(s.Parameter, s.Indices))
            .ToList();
    }

    internal static KeySpace FindSpace(ModelSide model, string layer)
    {
        var unitSpaces = model.Map.KeySpaces.Where(s => s.Kind == KeySpaceKind.Units).ToList();
        var byName = unitSpaces.FirstOrDefault(s => s.Name == layer);
        if (byName is not null)
        {
            return byName;
        }

        var byModule = unitSpaces.Where(s => s.Module == layer).ToList();
        if (byModule.Count == 1)
        {
            return byModule[0];
        }

        var names = string.Join(", ", unitSpaces.Select(s => "'" + s.Name + "'").Take(12));
        throw new PlanException(byModule.Count > 1
            ? $"layer '{layer}' of model '{model.Graph.Name}' has {byModule.Count} unit spaces ({string.Join(", ", byModule.Select(s => "'" + s.Name + "'"))}); name one"
            : $"model '{model.Graph.Name}' has no layer '{layer}' with units; expected one of {(names.Length == 0 ? "(none)" : names)}");
    }

    private static long[] CheckUnits(KeySpace space, IReadOnlyCollection<long> units)
    {
        var sorted = units.OrderBy(u => u).ToArray();
        foreach (var u in sorted)
        {
            if (u < 0 || u >= space.Size)
            {
                throw new PlanException($"unit {u.ToString(CultureInfo.InvariantCulture)} of layer '{space.Name}' is out of range; expected 0 to {(space.Size - 1).ToString(CultureInfo.InvariantCulture)} (the layer has {space.Size.ToString(CultureInfo.InvariantCulture)} units)");
            }
        }

        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw new PlanException($"unit {sorted[i].ToString(CultureInfo.InvariantCulture)} of layer '{space.Name}' is listed twice; expected each unit at most once");
            }
        }

        if (sorted.Length == 0 || sorted.Length >= space.Size)
        {
            throw new PlanException($"removing {sorted.Length.ToString(CultureInfo.InvariantCulture)} of the {space.Size.ToString(CultureInfo.InvariantCulture)} units of layer '{space.Name}'; expected at least one and fewer than all (remove the layer in the model class instead)");
        }

        return sorted;
    }

    /// <summary>The key spaces a unit owns: the layer's units, and for a recurrent layer the rows of every gate block (they follow their unit).</summary>
    internal static HashSet<int> OwnerSpaces(InteractionMap map, KeySpace space) =>
        new(map.KeySpaces
            .Where(s => s.Id == space.Id || (s.Kind == KeySpaceKind.Gate && s.Module == space.Module && s.Layer == space.Layer && s.Reverse == space.Reverse))
            .Select(s => s.Id));

    private static HashSet<long> RemovedAtoms(InteractionMap map, KeySpace space, long[] removed) =>
        new(OwnerSpaces(map, space).SelectMany(s => removed.Select(u => Atom.Pack(s, u))));

    /// <summary>Rows of an output head are named by the schema's output features: narrowing one is a schema change, not a pruning.</summary>
    internal static void RefuseHeads(ModelSide model, KeySpace space, HashSet<long> atoms, string change = "removing them", string instead = "remove output features in the schema instead")
    {
        foreach (var output in model.Graph.Outputs)
        {
            var layout = model.Map.Values[output.Value];
            for (var a = 0; a < layout.Rank; a++)
            {
                if (DroppedIndices(AxisKeys.Of(layout, a), atoms).Length > 0)
                {
                    throw new PlanException($"the units of layer '{space.Name}' reach output '{output.Name}' directly (axis {a.ToString(CultureInfo.InvariantCulture)}); {change} would change the model's outputs' shape: {instead}");
                }
            }
        }
    }

    internal static long[] DroppedIndices(long[][] keys, HashSet<long> removedAtoms)
    {
        var result = new List<long>();
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i].Any(removedAtoms.Contains))
            {
                result.Add(i);
            }
        }

        return result.ToArray();
    }

    /// <summary>
    /// The graph with every layer resized by the per-parameter, per-axis counts of indices it loses (negative counts:
    /// indices it gains, for growth); shapes are re-inferred, and every parameter must come out exactly that much
    /// smaller (or larger) as Φ says, or the change is refused (a reshape to a literal width, a narrow).
    /// </summary>
    internal static ModelGraph Resize(ModelGraph graph, Dictionary<string, long[]> lost, string space, string verb)
    {
        var modules = new List<GraphModule>();
        foreach (var module in graph.Modules)
        {
            var counts = module.Spec.Parameters().ToDictionary(p => p.LocalName, p => lost[p.FullName(module.Path)], StringComparer.Ordinal);
            modules.Add(counts.Values.Any(c => c.Any(n => n != 0)) ? module with { Spec = NarrowSpec(module, counts, space, verb) } : module);
        }

        ModelGraph resized;
        try
        {
            resized = ModelGraph.Create(graph.Name, graph.Inputs, modules, graph.Nodes.Select(n => n with { OutputShapes = EquatableArray<Shape>.Empty }), graph.Outputs);
        }
        catch (GraphException e)
        {
            throw new PlanException($"{verb} units of layer '{space}' leaves model '{graph.Name}' inconsistent: {e.Message}; a width written as a literal in forward (a view, narrow or fill) must follow the layer", e);
        }

        foreach (var p in graph.Parameters)
        {
            var now = resized.FindParameter(p.Name)!;
            for (var a = 0; a < p.Shape.Rank; a++)
            {
                var expected = p.Shape[a].Value - lost[p.Name][a];
                if (now.Shape[a].Value != expected)
                {
                    throw new PlanException($"{verb} units of layer '{space}': '{p.Name}' axis {a.ToString(CultureInfo.InvariantCulture)} would have {now.Shape[a].Value.ToString(CultureInfo.InvariantCulture)} indices, expected {expected.ToString(CultureInfo.InvariantCulture)} (of {p.Shape[a].Value.ToString(CultureInfo.InvariantCulture)}, {(lost[p.Name][a] >= 0 ? "less" : "plus")} the {Math.Abs(lost[p.Name][a]).ToString(CultureInfo.InvariantCulture)} that belong to the {(lost[p.Name][a] >= 0 ? "removed" : "added")} units)");
                }
            }
        }

        return resized;
    }

    /// <summary>One layer narrowed by the per-parameter, per-axis counts of dropped indices.</summary>
    private static LayerSpec NarrowSpec(GraphModule module, Dictionary<string, long[]> counts, string space, string verb)
    {
        long At(string parameter, int axis) => counts.TryGetValue(parameter, out var c) ? c[axis] : 0;
        PlanException Refuse(string why) => new($"{verb} units of layer '{space}': {module.Spec.Kind} '{module.Path}' {why}");
        switch (module.Spec)
        {
            case LinearSpec s:
                return s with { OutFeatures = s.OutFeatures - At("weight", 0), InFeatures = s.InFeatures - At("weight", 1) };
            case Conv1dSpec s when s.Groups == 1:
                return s with { OutChannels = s.OutChannels - At("weight", 0), InChannels = s.InChannels - At("weight", 1) };
            case Conv2dSpec s when s.Groups == 1:
                return s with { OutChannels = s.OutChannels - At("weight", 0), InChannels = s.InChannels - At("weight", 1) };
            case ConvTransposeSpec s when s.Groups == 1:
                return s with { OutChannels = s.OutChannels - At("weight", 1), InChannels = s.InChannels - At("weight", 0) };
            case EmbeddingSpec s when At("weight", 0) == 0:
                return s with { EmbeddingDim = s.EmbeddingDim - At("weight", 1) };
            case RecurrentSpec s:
            {
                var hidden = At("weight_hh_l0", 1);
                var deeper = counts.Where(kv => !kv.Key.EndsWith("_l0", StringComparison.Ordinal)).Any(kv => kv.Value.Any(n => n != 0));
                if ((hidden != 0 && (s.NumLayers > 1 || s.Bidirectional)) || deeper || counts.Keys.Any(k => k.Contains("_reverse") && counts[k].Any(n => n != 0)))
                {
                    throw Refuse($"has {s.NumLayers.ToString(CultureInfo.InvariantCulture)} layer(s){(s.Bidirectional ? ", bidirectional," : string.Empty)} sharing one hidden_size; units can be removed from or added to a single-layer, one-direction LSTM/GRU");
                }

                return s with { HiddenSize = s.HiddenSize - hidden, InputSize = s.InputSize - At("weight_ih_l0", 1) };
            }

            case LayerNormSpec s:
                return s with { NormalizedShape = s.NormalizedShape.Select((d, a) => d - At("weight", a)).ToEquatableArray() };
            case BatchNormSpec s:
                return s with { NumFeatures = s.NumFeatures - counts.Values.Where(c => c.Length > 0).Select(c => c[0]).OrderByDescending(Math.Abs).FirstOrDefault() };
            case GroupNormSpec s:
                return s with { NumChannels = s.NumChannels - At("weight", 0) };
            default:
                throw Refuse("reads the units, and its width cannot follow them (grouped convolution, embedding rows or a tensor field)");
        }
    }

    /// <summary>
    /// True for a 1-d or 2-d convolution without padding (any stride or dilation): the layers whose removed input
    /// channels mean replacement folds into the bias. Their input means are per channel (axis 1), not per last axis.
    /// </summary>
    public static bool IsUnpaddedConvolution(LayerSpec spec) => spec switch
    {
        Conv1dSpec c => c.Padding == 0,
        Conv2dSpec c => c.PaddingH == 0 && c.PaddingW == 0,
        _ => false,
    };

    /// <summary>
    /// Consumers: weights whose input axis (axis 1) drops old indices while their rows stay; each names the bias that
    /// can absorb the dropped columns. A recurrent layer's own hidden-to-hidden columns are not compensated: its
    /// state starts at zero, so the recurrent input is not constant even when the unit's output is.
    /// </summary>
    private static List<RemovedColumns> Consumers(ModelGraph graph, Dictionary<string, long[][]> dropped, SurgeryPlan plan, out List<string> notes)
    {
        notes = [];
        var result = new List<RemovedColumns>();
        foreach (var module in graph.Modules)
        {
            foreach (var p in module.Spec.Parameters().Where(p => p.Role is ParameterRole.Weight or ParameterRole.WeightIh or ParameterRole.WeightHh))
            {
                var name = p.FullName(module.Path);

                // A transposed convolution reads its inputs on the weight's axis 0 (its own units are axis 1).
                if (module.Spec is ConvTransposeSpec)
                {
                    if (dropped[name][0].Length > 0)
                    {
                        notes.Add($"'{name}' ({module.Spec.Kind}): input rows of removed units are not compensated by mean replacement (an input position reaches only some outputs)");
                    }

                    continue;
                }

                if (p.Shape.Rank < 2 || dropped[name][1].Length == 0 || module.Spec is EmbeddingSpec)
                {
                    continue;
                }

                if (p.Role == ParameterRole.WeightHh)
                {
                    notes.Add($"'{name}': columns of removed hidden units are not compensated by mean replacement (the recurrent state starts at zero, so it is not constant)");
                    continue;
                }

                // An unpadded convolution sees a constant channel at every tap of every output position, so its
                // contribution Σ_k W[o, c, k]·E[x_c] is a bias term (paper 002 eq. 1.6 per channel); with padding the
                // border taps read zeros instead of the mean.
                if (module.Spec is not (LinearSpec or RecurrentSpec) && !IsUnpaddedConvolution(module.Spec))
                {
                    notes.Add($"'{name}' ({module.Spec.Kind}): columns of removed units are not compensated by mean replacement (padding makes the border differ from the mean)");
                    continue;
                }

                var biasLocal = p.Role == ParameterRole.WeightIh ? "bias_ih" + p.LocalName.Substring("weight_ih".Length) : "bias";
                var bias = module.Spec.Parameters().Any(b => b.LocalName == biasLocal) && plan.FindTensor(module.Path + "." + biasLocal) is not null
                    ? module.Path + "." + biasLocal
                    : null;
                if (bias is null)
                {
                    notes.Add($"'{name}': its layer has no bias, so mean replacement cannot compensate the removed columns");
                }

                result.Add(new RemovedColumns(module.Path, name, bias, dropped[name][1].ToEquatableArray()));
            }
        }

        return result;
    }
}
