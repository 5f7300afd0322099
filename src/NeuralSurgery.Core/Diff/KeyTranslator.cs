using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>
/// Translates keys of the new model into keys of the old one (DESIGN.md section 6): feature slots by schema
/// input, feature name (after renames) and slot; categorical values by value; output-head units by output
/// feature name; other units by layer (after module renames) and position, or an explicit unit map.
/// </summary>
internal sealed class KeyTranslator
{
    private readonly ModelSide _old;
    private readonly ModelSide _new;
    private readonly Dictionary<string, string> _moduleToOld = new(StringComparer.Ordinal);
    private readonly HashSet<string> _renamedAway = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnitMap> _unitMaps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _oldSpaces = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _newHeads = [];
    private readonly HashSet<int> _headSpaces = [];
    private readonly Dictionary<(string Name, int Space), long> _oldHeadsByName = [];
    private readonly Dictionary<long, string> _oldHeads = [];
    private readonly Dictionary<int, long> _slotCache = [];
    private readonly Dictionary<long, long> _cache = [];

    public KeyTranslator(ModelSide oldSide, ModelSide newSide, PlanOptions options)
    {
        _old = oldSide;
        _new = newSide;
        foreach (var r in options.ModuleRenames)
        {
            _moduleToOld[r.To] = r.From;
            _renamedAway.Add(r.From);
        }

        foreach (var m in options.UnitMaps)
        {
            _unitMaps[m.Space] = m;
        }

        foreach (var s in oldSide.Map.KeySpaces)
        {
            _oldSpaces[s.Name] = s.Id;
        }

        foreach (var (atom, name) in HeadIdentities(newSide))
        {
            _newHeads[atom] = name;
            _headSpaces.Add(Atom.Space(atom));
        }

        foreach (var (atom, name) in HeadIdentities(oldSide))
        {
            _oldHeads[atom] = name;
            _oldHeadsByName[(name, Atom.Space(atom))] = atom;
        }
    }

    /// <summary>
    /// Old module path of a new one, or null when it has none: a new module that reuses the name of an old module
    /// renamed away is new, so one old tensor never feeds two new ones.
    /// </summary>
    public string? OldModule(string module) =>
        _moduleToOld.TryGetValue(module, out var old) ? old : _renamedAway.Contains(module) ? null : module;

    /// <summary>Whether keys of this new space are rows of an output head (identified with output features).</summary>
    public bool IsHeadSpace(int space) => _headSpaces.Contains(space);

    /// <summary>Output feature name of an old head unit, if it is one.</summary>
    public string? OldHeadName(long atom) => _oldHeads.TryGetValue(atom, out var n) ? n : null;

    /// <summary>The old key of a new key, or -1 when the new key has no counterpart.</summary>
    public long Translate(long atom)
    {
        if (_cache.TryGetValue(atom, out var cached))
        {
            return cached;
        }

        var space = Atom.Space(atom);
        var id = Atom.Id(atom);
        long result;
        if (space == 0)
        {
            var old = TranslateSlot((int)id);
            result = old < 0 ? -1 : Atom.Pack(0, old);
        }
        else if (_newHeads.TryGetValue(atom, out var head))
        {
            // Rows of a head are matched by output feature within the same layer: several layers (two summed heads,
            // stacked recurrent states) can put units at one output position.
            var oldSpace = OldSpace(_new.Map.KeySpaces[space]);
            result = oldSpace >= 0 && _oldHeadsByName.TryGetValue((OldOutputName(head), oldSpace), out var oldAtom) ? oldAtom : -1;
        }
        else
        {
            result = TranslateUnit(_new.Map.KeySpaces[space], id);
        }

        _cache[atom] = result;
        return result;
    }

    /// <summary>The old key space of a new one (same layer after module renames, same suffix), or -1.</summary>
    private int OldSpace(KeySpace space)
    {
        var oldModule = OldModule(space.Module);
        return oldModule is not null && _oldSpaces.TryGetValue(oldModule + space.Name.Substring(space.Module.Length), out var id) ? id : -1;
    }

    private long TranslateUnit(KeySpace space, long id)
    {
        var oldSpace = OldSpace(space);
        if (oldSpace < 0)
        {
            return -1;
        }

        var size = _old.Map.KeySpaces[oldSpace].Size;
        long source;
        if (_unitMaps.TryGetValue(space.Gate is null ? space.Name : space.Name.Substring(0, space.Name.Length - space.Gate.Length - 1), out var map))
        {
            source = id < map.Sources.Count ? map.Sources[(int)id] : -1;
        }
        else if (_new.Graph.FindModule(space.Module)?.Spec is { UnitGroups: > 1 } grouped
            && _old.Graph.FindModule(OldModule(space.Module)!)?.Spec is { } oldSpec && oldSpec.Kind == grouped.Kind
            && (oldSpec.UnitGroups == grouped.UnitGroups || grouped.GroupsMayChange))
        {
            // A grouped convolution's unit is (group, index in group): its channels read only their group's inputs.
            // An attention projection's is (head, index in head), whatever the head count (GroupsMayChange).
            var perGroup = space.Size / grouped.UnitGroups;
            var oldPerGroup = size / oldSpec.UnitGroups;
            source = id % perGroup < oldPerGroup ? ((id / perGroup) * oldPerGroup) + (id % perGroup) : -1;
        }
        else
        {
            source = id;
        }

        return source >= 0 && source < size ? Atom.Pack(oldSpace, source) : -1;
    }

    /// <summary>Old slot id of a new slot: same schema input, feature (after renames) and slot.</summary>
    public long TranslateSlot(int slot)
    {
        if (_slotCache.TryGetValue(slot, out var cached))
        {
            return cached;
        }

        var s = _new.Map.Features.Slots[slot];
        var newInput = _new.Graph.FindInput(s.Input)!;
        var newSchemaInput = newInput.SchemaInput ?? newInput.Name;
        var oldSchemaInput = RenameBack(newSchemaInput, null);
        var oldFeature = RenameBack(s.Feature, newSchemaInput);
        long result = -1;
        foreach (var oldInput in _old.Graph.Inputs)
        {
            if (oldInput.Role != InputRole.State && (oldInput.SchemaInput ?? oldInput.Name) == oldSchemaInput && _old.Map.Features.HasInput(oldInput.Name))
            {
                var range = _old.Map.Features.FeatureSlots(oldInput.Name, oldFeature);
                if (range is { } r && s.Slot < r.Length && _old.Map.Features.Slots[r.Start].IsCategorical == s.IsCategorical)
                {
                    result = r.Start + s.Slot;
                }

                break;
            }
        }

        _slotCache[slot] = result;
        return result;
    }

    private string OldOutputName(string head)
    {
        // head = "output/feature/slot"
        var parts = head.Split('/');
        return RenameBack(parts[0], null) + "/" + RenameBack(parts[1], parts[0]) + "/" + parts[2];
    }

    /// <summary>
    /// The old name of a new name through the new schema's renames (<c>old: new</c>), plain or qualified by
    /// <paramref name="scope"/> (an input or output name).
    /// </summary>
    private string RenameBack(string name, string? scope)
    {
        var schema = _new.Schema;
        if (schema is null)
        {
            return name;
        }

        foreach (var r in schema.Renames)
        {
            var (toScope, toName) = Split(r.To);
            var (fromScope, fromName) = Split(r.From);
            if (toName != name || (toScope is not null && toScope != scope) || (scope is null && toScope is not null))
            {
                continue;
            }

            // A source qualified by an input or output (by its old or its new name) applies only inside that scope.
            if (fromScope is not null && (scope is null || (fromScope != scope && fromScope != RenameBack(scope, null))))
            {
                continue;
            }

            return fromName;
        }

        return name;
    }

    private static (string? Scope, string Name) Split(string qualified)
    {
        var dot = qualified.IndexOf('.');
        return dot < 0 ? (null, qualified) : (qualified.Substring(0, dot), qualified.Substring(dot + 1));
    }

    /// <summary>
    /// Unit keys along the last axis of every output bound to a schema output, each position named
    /// <c>output/feature/slot</c>: head rows are matched by these names, not by position.
    /// </summary>
    private static IEnumerable<(long Atom, string Name)> HeadIdentities(ModelSide side)
    {
        // A layer is a head only if each of its units sits at exactly one output position; a unit that reaches
        // several (a head also returned sliced, a layer feeding two outputs) has no single name, so that layer's
        // units are matched by position like hidden units.
        var all = AllHeadPositions(side).Distinct().ToList();
        var ambiguous = new HashSet<int>(all.GroupBy(h => h.Atom).Where(g => g.Count() > 1).Select(g => Atom.Space(g.Key)));
        ambiguous.UnionWith(all.GroupBy(h => (h.Name, Space: Atom.Space(h.Atom))).Where(g => g.Count() > 1).Select(g => g.Key.Space));
        return all.Where(h => !ambiguous.Contains(Atom.Space(h.Atom))).Distinct();
    }

    private static IEnumerable<(long Atom, string Name)> AllHeadPositions(ModelSide side)
    {
        foreach (var output in side.Graph.Outputs)
        {
            if (output.SchemaOutput is null || !side.Map.Values.TryGetValue(output.Value, out var layout) || layout.Rank == 0)
            {
                continue;
            }

            var names = OutputSlotNames(side.Schema?.FindOutput(output.SchemaOutput), output.SchemaOutput, layout.Shape[layout.Rank - 1]);
            var keys = AxisKeys.Of(layout, layout.Rank - 1);
            for (var j = 0; j < keys.Length; j++)
            {
                foreach (var atom in keys[j])
                {
                    if (Atom.Space(atom) != 0)
                    {
                        yield return (atom, names[j]);
                    }
                }
            }
        }
    }

    private static string[] OutputSlotNames(SchemaOutput? output, string name, long width)
    {
        var names = new List<string>();
        if (output is not null)
        {
            foreach (var f in output.Features)
            {
                for (var k = 0; k < f.Width; k++)
                {
                    names.Add(name + "/" + f.Name + "/" + k.ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        for (var j = names.Count; j < width; j++)
        {
            names.Add(name + "/#" + j.ToString(CultureInfo.InvariantCulture) + "/0");
        }

        return names.ToArray();
    }
}
