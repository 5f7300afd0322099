using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Snapshots;

/// <summary>
/// What changed between two versions of a model, in words a reviewer checks against the commit: features added,
/// removed and reordered per input and output, widths, categorical values, and parameters added, removed or
/// reshaped. It describes; the surgery plan decides what is copied.
/// </summary>
public static class ModelChanges
{
    /// <summary>One line per change, in a fixed order (schema inputs, outputs, then parameters); empty when nothing changed.</summary>
    public static EquatableArray<string> Describe(ModelGraph oldGraph, FeatureSchema? oldSchema, ModelGraph newGraph, FeatureSchema? newSchema)
    {
        var changes = new List<string>();
        if (oldSchema is not null && newSchema is not null)
        {
            var renames = newSchema.Renames.ToDictionary(r => r.From, r => r.To, StringComparer.Ordinal);
            foreach (var input in newSchema.Inputs)
            {
                var old = oldSchema.FindInput(input.Name);
                if (old is null)
                {
                    changes.Add($"input '{input.Name}' added");
                    continue;
                }

                Features(changes, "input '" + input.Name + "'", old.Features, input.Features, renames);
                var added = input.Values.Where(v => !old.Values.Contains(v)).ToList();
                var removed = old.Values.Where(v => !input.Values.Contains(v)).ToList();
                if (added.Count > 0)
                {
                    changes.Add($"input '{input.Name}': categorical {Plural(added.Count, "value")} added: {Names(added)}");
                }

                if (removed.Count > 0)
                {
                    changes.Add($"input '{input.Name}': categorical {Plural(removed.Count, "value")} removed: {Names(removed)}");
                }

                if (added.Count == 0 && removed.Count == 0 && !old.Values.SequenceEqual(input.Values))
                {
                    changes.Add($"input '{input.Name}': categorical values reordered");
                }
            }

            foreach (var input in oldSchema.Inputs.Where(i => newSchema.FindInput(i.Name) is null))
            {
                changes.Add($"input '{input.Name}' removed");
            }

            foreach (var output in newSchema.Outputs)
            {
                var old = oldSchema.FindOutput(output.Name);
                if (old is null)
                {
                    changes.Add($"output '{output.Name}' added");
                    continue;
                }

                Features(changes, "output '" + output.Name + "'", old.Features, output.Features, renames);
            }

            foreach (var output in oldSchema.Outputs.Where(o => newSchema.FindOutput(o.Name) is null))
            {
                changes.Add($"output '{output.Name}' removed");
            }
        }

        var oldParameters = oldGraph.Parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var newNames = new HashSet<string>(newGraph.Parameters.Select(p => p.Name), StringComparer.Ordinal);
        foreach (var parameter in newGraph.Parameters)
        {
            if (!oldParameters.TryGetValue(parameter.Name, out var old))
            {
                changes.Add($"{Kind(parameter)} '{parameter.Name}' {parameter.Shape} added");
            }
            else if (!old.Shape.Equals(parameter.Shape))
            {
                changes.Add($"{Kind(parameter)} '{parameter.Name}' {old.Shape} -> {parameter.Shape}");
            }
        }

        foreach (var parameter in oldGraph.Parameters.Where(p => !newNames.Contains(p.Name)))
        {
            changes.Add($"{Kind(parameter)} '{parameter.Name}' {parameter.Shape} removed");
        }

        if (changes.Count == 0 && !oldGraph.Equals(newGraph))
        {
            // Same parameters, different forward: the weights mean something else now.
            changes.Add("forward changed (same parameters and shapes)");
        }

        return changes.ToEquatableArray();
    }

    private static void Features(List<string> changes, string what, EquatableArray<SchemaFeature> old, EquatableArray<SchemaFeature> now, Dictionary<string, string> renames)
    {
        string Current(string name) => renames.TryGetValue(name, out var to) ? to : name;
        var oldByName = old.ToDictionary(f => Current(f.Name), StringComparer.Ordinal);
        var nowNames = new HashSet<string>(now.Select(f => f.Name), StringComparer.Ordinal);
        var added = now.Where(f => !oldByName.ContainsKey(f.Name)).Select(f => f.Name).ToList();
        var removed = old.Where(f => !nowNames.Contains(Current(f.Name))).Select(f => f.Name).ToList();
        var renamed = old.Where(f => renames.ContainsKey(f.Name) && nowNames.Contains(renames[f.Name])).Select(f => "'" + f.Name + "' -> '" + renames[f.Name] + "'").ToList();
        if (added.Count > 0)
        {
            changes.Add($"{what}: {Plural(added.Count, "feature")} added: {Names(added)}");
        }

        if (removed.Count > 0)
        {
            changes.Add($"{what}: {Plural(removed.Count, "feature")} removed: {Names(removed)}");
        }

        if (renamed.Count > 0)
        {
            changes.Add($"{what}: renamed {string.Join(", ", renamed)}");
        }

        var keptOld = old.Select(f => Current(f.Name)).Where(nowNames.Contains).ToList();
        var keptNow = now.Select(f => f.Name).Where(oldByName.ContainsKey).ToList();
        if (!keptOld.SequenceEqual(keptNow, StringComparer.Ordinal))
        {
            changes.Add($"{what}: features reordered: {Names(keptOld)} -> {Names(keptNow)}");
        }

        foreach (var feature in now)
        {
            if (oldByName.TryGetValue(feature.Name, out var before) && before.Width != feature.Width)
            {
                changes.Add($"{what}: feature '{feature.Name}' width {before.Width} -> {feature.Width}");
            }
        }
    }

    private static string Kind(GraphParameter parameter) => parameter.IsBuffer ? "buffer" : "parameter";

    private static string Names(IEnumerable<string> names) => string.Join(", ", names.Select(n => "'" + n + "'"));

    private static string Plural(int count, string noun) => count == 1 ? noun : noun + "s";
}
