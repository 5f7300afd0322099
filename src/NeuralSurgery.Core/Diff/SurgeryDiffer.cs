using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>
/// Diffs Φ_old against Φ_new into a <see cref="SurgeryPlan"/> (paper 001 section 2.4, DESIGN.md section 6):
/// every new tensor is matched to the old one of the same name (after module renames); on each axis, new
/// indices map to old indices with the same keys; an element is copied when every axis maps, otherwise it is
/// initialised so the new model computes what the old one did (eq. 1).
/// </summary>
public static class SurgeryDiffer
{
    public static SurgeryPlan Diff(ModelSide oldSide, ModelSide newSide, PlanOptions? options = null)
    {
        options ??= PlanOptions.Default;
        Validate(oldSide, newSide, options);
        var keys = new KeyTranslator(oldSide, newSide, options);
        var tensors = new List<TensorPlan>();
        var notes = new List<string>();
        var usedSources = new HashSet<string>(StringComparer.Ordinal);
        var oldUnmapped = new Dictionary<string, List<long>[]>(StringComparer.Ordinal);
        var survivingOldAtoms = new SurvivingKeys(oldSide.Map.KeySpaces);
        var matcher = new AxisMatcher(keys, survivingOldAtoms);

        foreach (var p in newSide.Graph.Parameters)
        {
            var spec = newSide.Graph.FindModule(p.Module)!.Spec;
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var roles = spec.AxisRoles(p.Declaration);
            var init = spec.DefaultInit(p.Declaration);
            var oldModule = keys.OldModule(p.Module);
            var oldName = p.Declaration.FullName(oldModule ?? string.Empty);
            var source = oldModule is null ? null : oldSide.Graph.FindParameter(oldName);
            if (source is not null && (source.Shape.Rank != p.Shape.Rank || source.Role != p.Role || source.IsBuffer != p.IsBuffer))
            {
                notes.Add($"'{p.Name}' does not take '{oldName}': it was a {source.Role} of rank {source.Shape.Rank}, now a {p.Role} of rank {p.Shape.Rank}");
                source = null;
            }

            if (source is null)
            {
                notes.Add($"'{p.Name}' is new: initialised with {init}");
                var empty = roles.Select((r, a) => new AxisMap(r, shape[a], 0, AxisMap.Encode(Enumerable.Repeat(-1L, (int)shape[a]).ToArray()), init)).ToEquatableArray();
                tensors.Add(new TensorPlan(p.Name, shape.ToEquatableArray(), p.Declaration.DType, p.IsBuffer, null, EquatableArray<long>.Empty, empty, InitOrder(roles), init));
                continue;
            }

            usedSources.Add(source.Name);
            var sourceShape = source.Shape.Dims.Select(d => d.Value).ToArray();
            var newPhi = newSide.Map[p.Name];
            var oldPhi = oldSide.Map[source.Name];
            var axes = new List<AxisMap>();
            var unmappedOld = new List<long>[shape.Length];
            var output = Array.IndexOf(roles, AxisRole.Output);
            var headRows = output >= 0 && matcher.HasHeadKeys(newPhi, output);
            for (var a = 0; a < shape.Length; a++)
            {
                var map = matcher.Map(newPhi, oldPhi, a);
                var rule = roles[a] switch
                {
                    AxisRole.Input or AxisRole.Kernel => InitRule.Zeros,
                    AxisRole.Output when headRows => p.Role == ParameterRole.Bias ? InitRule.Constant(options.NewOutputBias) : InitRule.Zeros,
                    _ => init,
                };
                axes.Add(new AxisMap(roles[a], shape[a], sourceShape[a], AxisMap.Encode(map), rule));
                var hit = new bool[sourceShape[a]];
                foreach (var s in map.Where(s => s >= 0))
                {
                    hit[s] = true;
                }

                unmappedOld[a] = Enumerable.Range(0, (int)sourceShape[a]).Where(i => !hit[i]).Select(i => (long)i).ToList();
                if (roles[a] == AxisRole.Elementwise && spec is LayerNormSpec && map.Any(s => s < 0))
                {
                    notes.Add($"LayerNorm '{p.Module}' normalises over {map.Count(s => s < 0)} indices the old model did not have: its outputs change, since no initialisation keeps a normalisation over a wider axis");
                }

                if (spec is AttentionProjectionSpec heads && oldSide.Graph.FindModule(oldModule!)?.Spec is AttentionProjectionSpec oldHeads && heads.HeadDim != oldHeads.HeadDim)
                {
                    notes.Add($"attention '{p.Module}' has heads of {heads.HeadDim} (were {oldHeads.HeadDim}): the dot products' scale 1/sqrt(head_dim) and every head's sums change, so its outputs change; keep the head width and add heads instead");
                }

                if (spec is GroupNormSpec groups && oldSide.Graph.FindModule(oldModule!)?.Spec is GroupNormSpec oldGroups && !KeepsGroups(map, groups, oldGroups))
                {
                    notes.Add($"GroupNorm '{p.Module}' regroups its channels (groups of {groups.ChannelsPerGroup}, were {oldGroups.ChannelsPerGroup}; a group must hold one whole old group or only new channels): its outputs change, since a group's statistics mix all its channels");
                }
            }

            oldUnmapped[source.Name] = unmappedOld;
            tensors.Add(new TensorPlan(p.Name, shape.ToEquatableArray(), p.Declaration.DType, p.IsBuffer, source.Name, sourceShape.ToEquatableArray(), axes.ToEquatableArray(), InitOrder(roles), init));
        }

        NoteCombinedNewIndices(newSide, keys, notes);
        var dropped = Dropped(oldSide, keys, usedSources, oldUnmapped, survivingOldAtoms);
        var parameters = tensors.Where(t => !t.IsBuffer).ToList();
        var totals = new PlanTotals(parameters.Sum(t => t.CopiedElements), parameters.Sum(t => t.TotalElements), oldSide.Graph.ParameterElementCount);
        var distinctNotes = notes.Distinct(StringComparer.Ordinal).ToEquatableArray();
        return new SurgeryPlan(Version(oldSide), Version(newSide), options, tensors.ToEquatableArray(), totals, dropped, distinctNotes);
    }

    /// <summary>Renames and unit maps must name what exists; a silent no-op would re-initialise weights the user meant to keep.</summary>
    /// <summary>
    /// Whether each new group of channels is one whole old group or only new channels: then every old group's
    /// statistics are computed over the same channels as before (paper 001 eq. 1 holds for GroupNorm).
    /// </summary>
    private static bool KeepsGroups(long[] channelMap, GroupNormSpec now, GroupNormSpec before)
    {
        for (long g = 0; g < now.NumGroups; g++)
        {
            var sources = Enumerable.Range((int)(g * now.ChannelsPerGroup), (int)now.ChannelsPerGroup).Select(c => channelMap[c]).ToList();
            if (sources.All(s => s < 0))
            {
                continue;
            }

            var oldGroup = sources[0] < 0 ? -1 : sources[0] / before.ChannelsPerGroup;
            if (sources.Count != before.ChannelsPerGroup || sources.Any(s => s < 0 || s / before.ChannelsPerGroup != oldGroup))
            {
                return false;
            }
        }

        return true;
    }

    private static void Validate(ModelSide oldSide, ModelSide newSide, PlanOptions options)
    {
        foreach (var r in options.ModuleRenames)
        {
            if (oldSide.Graph.FindModule(r.From) is null)
            {
                throw new PlanException($"module rename '{r.From}' -> '{r.To}': the old model '{oldSide.Graph.Name}' has no module '{r.From}'; expected one of {Names(oldSide.Graph.Modules.Select(m => m.Path))}");
            }

            if (newSide.Graph.FindModule(r.To) is null)
            {
                throw new PlanException($"module rename '{r.From}' -> '{r.To}': the new model '{newSide.Graph.Name}' has no module '{r.To}'; expected one of {Names(newSide.Graph.Modules.Select(m => m.Path))}");
            }
        }

        foreach (var duplicate in options.ModuleRenames.GroupBy(r => r.To).Where(g => g.Count() > 1))
        {
            throw new PlanException($"module '{duplicate.Key}' is the target of {duplicate.Count()} renames; expected at most one");
        }

        foreach (var duplicate in options.ModuleRenames.GroupBy(r => r.From).Where(g => g.Count() > 1))
        {
            throw new PlanException($"old module '{duplicate.Key}' is renamed {duplicate.Count()} times ({string.Join(", ", duplicate.Select(r => "'" + r.To + "'"))}); one old tensor can feed one new tensor");
        }

        foreach (var map in options.UnitMaps)
        {
            var space = newSide.Map.KeySpaces.FirstOrDefault(s => s.Kind == KeySpaceKind.Units && s.Name == map.Space)
                ?? throw new PlanException($"unit map '{map.Space}': the new model has no layer units of that name; expected one of {Names(newSide.Map.KeySpaces.Where(s => s.Kind == KeySpaceKind.Units).Select(s => s.Name))}");
            if (map.Sources.Count != space.Size)
            {
                throw new PlanException($"unit map '{map.Space}' lists {map.Sources.Count} sources but the layer has {space.Size} units; expected one source (or -1) per unit");
            }

            var oldModule = options.ModuleRenames.FirstOrDefault(r => r.To == space.Module)?.From ?? space.Module;
            var oldSpace = oldSide.Map.KeySpaces.FirstOrDefault(s => s.Kind == KeySpaceKind.Units && s.Name == oldModule + space.Name.Substring(space.Module.Length))
                ?? throw new PlanException($"unit map '{map.Space}': the old model has no layer '{oldModule + space.Name.Substring(space.Module.Length)}' to take units from");
            var seen = new HashSet<long>();
            foreach (var s in map.Sources)
            {
                if (s >= oldSpace.Size)
                {
                    throw new PlanException($"unit map '{map.Space}' takes old unit {s} but the old layer '{oldSpace.Name}' has {oldSpace.Size} units");
                }

                if (s >= 0 && !seen.Add(s))
                {
                    throw new PlanException($"unit map '{map.Space}' takes old unit {s} twice; each old unit can be copied once");
                }

                if (s < -1)
                {
                    throw new PlanException($"unit map '{map.Space}' has source {s}; expected an old unit index or -1");
                }
            }
        }
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.Take(8).Select(n => "'" + n + "'").ToList();
        return list.Count == 0 ? "(none)" : string.Join(", ", list);
    }

    private static ModelVersion Version(ModelSide side) =>
        side.Schema is null
            ? new ModelVersion(side.Graph.Name, 0, ModelSnapshot.FingerprintOf(side.Graph, null))
            : new ModelVersion(side.Schema.Model, side.Schema.Version, ModelSnapshot.FingerprintOf(side.Graph, side.Schema));

    /// <summary>Input-side axes decide first: a new column is zero even in a new row, so outputs do not change.</summary>
    private static EquatableArray<int> InitOrder(AxisRole[] roles)
    {
        int Rank(AxisRole r) => r switch
        {
            AxisRole.Input => 0,
            AxisRole.Kernel => 1,
            AxisRole.Elementwise => 2,
            _ => 3,
        };
        return Enumerable.Range(0, roles.Length).OrderBy(a => Rank(roles[a])).ThenBy(a => a).ToEquatableArray();
    }

    /// <summary>
    /// New features and units reach later layers through zero columns, so outputs keep their values; but an op that
    /// combines the indices of an axis (sum, mean, max, softmax) sees them directly. Say so where it happens.
    /// </summary>
    private static void NoteCombinedNewIndices(ModelSide newSide, KeyTranslator keys, List<string> notes)
    {
        foreach (var node in newSide.Graph.Nodes)
        {
            var axis = node.Op.CombinedAxis;
            if (axis < 0)
            {
                continue;
            }

            var indexKeys = AxisKeys.Of(newSide.Map.Values[node.Operands[0]], axis);
            var fresh = indexKeys.Count(k => k.Any(atom => keys.Translate(atom) < 0));
            if (fresh == 0)
            {
                continue;
            }

            var newAtoms = indexKeys.SelectMany(k => k).Where(atom => keys.Translate(atom) < 0).ToList();
            var heads = newAtoms.Any(atom => keys.IsHeadSpace(Atom.Space(atom)));
            var origins = newAtoms.Select(atom => Atom.Space(atom) == 0
                    ? newSide.Map.Features.Slots[(int)Atom.Id(atom)].Input + "." + newSide.Map.Features.Slots[(int)Atom.Id(atom)].Feature
                    : newSide.Map.KeySpaces[Atom.Space(atom)].Name + " units")
                .Distinct(StringComparer.Ordinal).Take(4);
            notes.Add($"node '{node.Id}' ({node.Op.Kind}) combines axis {axis.ToString(CultureInfo.InvariantCulture)}, where {fresh.ToString(CultureInfo.InvariantCulture)} indices are new ({string.Join(", ", origins)}): its outputs change"
                + (heads ? " (for new head rows, a very negative NewOutputBias keeps old probabilities)" : string.Empty));
        }
    }

    /// <summary>Old features, values, head rows and units whose keys no new key translates to, with the elements they take along.</summary>
    private static EquatableArray<DroppedItem> Dropped(
        ModelSide oldSide,
        KeyTranslator keys,
        HashSet<string> usedSources,
        Dictionary<string, List<long>[]> oldUnmapped,
        SurvivingKeys surviving)
    {
        var items = new Dictionary<(DroppedKind, string), Dictionary<string, long>>();
        void Add(DroppedKind kind, string name, string parameter, long elements)
        {
            if (!items.TryGetValue((kind, name), out var perParam))
            {
                items[(kind, name)] = perParam = new Dictionary<string, long>(StringComparer.Ordinal);
            }

            perParam.TryGetValue(parameter, out var n);
            perParam[parameter] = n + elements;
        }

        foreach (var p in oldSide.Graph.Parameters)
        {
            if (!usedSources.Contains(p.Name))
            {
                Add(DroppedKind.Parameter, p.Name, p.Name, p.ElementCount);
                continue;
            }

            // Per item, the old indices it takes on each axis; it loses the union of their slices (a tensor whose
            // rows and columns are the same units must not count their crossing twice).
            var unmapped = oldUnmapped[p.Name];
            var phi = oldSide.Map[p.Name];
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var taken = new Dictionary<(DroppedKind, string), HashSet<long>[]>();
            for (var a = 0; a < shape.Length; a++)
            {
                if (unmapped[a].Count == 0)
                {
                    continue;
                }

                var axisKeys = AxisKeys.Of(phi, a);
                foreach (var i in unmapped[a])
                {
                    var owners = axisKeys[i].Where(atom => !surviving.Contains(atom)).Select(atom => Describe(oldSide, keys, atom)).ToList();
                    if (owners.Count == 0)
                    {
                        owners.Add((DroppedKind.Parameter, p.Name + " (unmatched indices on axis " + a.ToString(CultureInfo.InvariantCulture) + ")"));
                    }

                    foreach (var owner in owners)
                    {
                        if (!taken.TryGetValue(owner, out var perAxis))
                        {
                            taken[owner] = perAxis = shape.Select(_ => new HashSet<long>()).ToArray();
                        }

                        perAxis[a].Add(i);
                    }
                }
            }

            foreach (var entry in taken)
            {
                var kept = shape.Select((d, a) => d - entry.Value[a].Count).Aggregate(1L, (x, y) => x * y);
                Add(entry.Key.Item1, entry.Key.Item2, p.Name, p.ElementCount - kept);
            }
        }

        return items
            .OrderBy(kv => kv.Key.Item1)
            .ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal)
            .Select(kv => new DroppedItem(kv.Key.Item1, kv.Key.Item2, kv.Value.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new LostElements(e.Key, e.Value)).ToEquatableArray()))
            .ToEquatableArray();
    }

    private static (DroppedKind, string) Describe(ModelSide side, KeyTranslator keys, long atom)
    {
        var space = Atom.Space(atom);
        var id = Atom.Id(atom);
        if (space == 0)
        {
            var slot = side.Map.Features.Slots[(int)id];
            return slot.IsCategorical ? (DroppedKind.CategoricalValue, slot.ToString()) : (DroppedKind.Feature, slot.Input + "." + slot.Feature);
        }

        var head = keys.OldHeadName(atom);
        if (head is not null)
        {
            var parts = head.Split('/');
            return (DroppedKind.OutputFeature, parts[0] + "." + parts[1]);
        }

        var ks = side.Map.KeySpaces[space];
        var name = ks.Gate is null ? ks.Name : ks.Name.Substring(0, ks.Name.Length - ks.Gate.Length - 1);
        return (DroppedKind.Units, name);
    }
}
