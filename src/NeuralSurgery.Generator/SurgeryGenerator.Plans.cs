using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Generator.Specs;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Generator;

/// <summary>
/// Plans made outside the build (issue 15: <c>surgery prune</c>, <c>surgery grow</c>, DYNO) change a checkpoint's
/// widths; the class must follow, or the next build plans from the old widths. Plan files in the project
/// (<c>*.plan.json</c> AdditionalFiles) let the build say where (NS2009, with a code fix) and, once the class has
/// the plan's widths, use the plan itself as the snapshot step instead of the differ's by-index map.
/// </summary>
public sealed partial class SurgeryGenerator
{
    internal static bool IsPlanFile(string path) => path.EndsWith(PlanJson.FileSuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A plan file: its plan, NS2010 when it says it is a NeuralSurgery plan but does not read, or neither for a file
    /// of another tool that happens to end in <c>.plan.json</c>.
    /// </summary>
    internal static PlanFileSpec ParsePlanFile(AdditionalText file, CancellationToken cancellationToken)
    {
        var (plan, diagnostics) = ReadToolFile(file, SurgeryDiagnostics.PlanFileNotReadable.Id, PlanJson.ClaimsFormat, PlanJson.Read, cancellationToken);
        return new PlanFileSpec(file.Path, plan, diagnostics);
    }

    /// <summary>
    /// The width changes of each unit removal or growth made from the class as it is now (its <c>from</c>
    /// fingerprint is the class's): location-free, so this step (a fingerprint, a resize) stays cached while the
    /// class's text moves; <see cref="PendingWidths"/> locates them. Plans between two classes (<c>surgery plan</c>)
    /// map no units and are left alone: they lead to another class, not to an edit of this one.
    /// </summary>
    internal static PendingWidthsSpec? PendingWidthChanges(MirrorSpec mirror, ImmutableArray<PlanFileSpec> files, CancellationToken cancellationToken)
    {
        if (!files.Any(f => f.Plan is { } p && SnapshotSteps.IsUnitPlan(p)))
        {
            return null;
        }

        var current = ModelSnapshot.FingerprintOf(mirror.Graph, mirror.Schema);
        var pending = new List<PendingPlan>();
        var problems = new List<DiagnosticInfo>();
        var units = files.Where(f => f.Plan is { } p && SnapshotSteps.IsUnitPlan(p) && p.From.Fingerprint is not null && p.To.Fingerprint is not null).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();

        // Plans made one after the other (several prunings, a DYNO run) lead the class to where the last one ends: the
        // widths to write are those of each end no further plan starts from.
        var ends = units.Select(f => f.Plan!.To.Fingerprint!).Where(end => end != current && !units.Any(f => f.Plan!.From.Fingerprint == end)).Distinct().ToList();
        foreach (var end in ends)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chain = SnapshotSteps.Chains(units, f => f.Plan!, current, end).FirstOrDefault();
            if (chain is null)
            {
                continue;
            }

            var last = chain[chain.Count - 1];
            try
            {
                if (WidthChanges.TargetOf(mirror.Graph, last.Plan!) is { } target)
                {
                    var label = chain.Count == 1 ? "the plan '" + FileName(last.Path) + "'" : "the plans " + string.Join(" then ", chain.Select(f => "'" + FileName(f.Path) + "'"));
                    pending.Add(new PendingPlan(label, WidthChanges.Between(mirror.Graph, target).ToEquatableArray()));
                }

                // Otherwise not a change of widths only: NS2005 describes whatever the next snapshot differs by.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A plan that fits the fingerprint but not the graph (edited by hand): that file's problem, not a crash.
                problems.Add(new DiagnosticInfo(SurgeryDiagnostics.PlanFileNotReadable.Id, new ReaderLocation(last.Path, default, default), EquatableArray.Create(FileName(last.Path), Unexpected(e))));
            }
        }

        return pending.Count == 0 && problems.Count == 0 ? null : new PendingWidthsSpec(mirror.MetadataName, pending.ToEquatableArray(), problems.ToEquatableArray());
    }

    /// <summary>
    /// NS2009 for each pending plan: one diagnostic per place in the source that decides changed sizes, at the
    /// literal when one does (the code fix writes the plan's value there), else at the argument, else at the layer.
    /// </summary>
    internal static ImmutableArray<DiagnosticInfo> PendingWidths(PendingWidthsSpec pending, ImmutableArray<ReadModel> reads)
    {
        var builder = ImmutableArray.CreateBuilder<DiagnosticInfo>();
        builder.AddRange(pending.Problems);
        if (reads.FirstOrDefault(r => r.Model.MetadataName == pending.MetadataName)?.Result is not { } result)
        {
            return builder.ToImmutable();
        }

        foreach (var plan in pending.Plans)
        {
            var changes = plan.Changes.ToList();
            var located = changes.Select(c => (Change: c, Site: c.Position < 0 ? null : result.WidthSites.FirstOrDefault(s => s.Module == c.Module && s.Argument == c.Argument))).ToList();
            foreach (var group in located.Where(l => l.Site is not null).GroupBy(l => l.Site!.Edit ?? l.Site!.Location))
            {
                builder.Add(Pending(group.Key, group.Select(g => (g.Change, g.Site!)).ToList(), result.WidthSites, changes, plan.Label));
            }

            // A size the reader found no integer argument for (an array such as LayerNorm's shape, a layer whose sizes
            // are read otherwise): at the layer, no fix.
            foreach (var (change, _) in located.Where(l => l.Site is null))
            {
                var at = result.Find(SourceMapKind.Module, change.Module) ?? new ReaderLocation(string.Empty, default, default);
                var what = change.Position < 0 ? change.Module + "'s sizes" : change.Module + "." + change.Argument;
                builder.Add(new DiagnosticInfo(
                    SurgeryDiagnostics.WidthNotFollowed.Id,
                    at,
                    EquatableArray.Create(
                        "the " + change.Factory + " call",
                        what,
                        change.Position < 0 ? "what the class says" : Number(change.From),
                        plan.Label,
                        change.Position < 0 ? "they differ" : "it is " + Number(change.To),
                        "change the call so the class matches the checkpoints written after it")));
            }
        }

        return builder.ToImmutable();
    }

    /// <summary>One place that decides some of the changed sizes; fixable when every size it decides gets one value.</summary>
    private static DiagnosticInfo Pending(ReaderLocation at, List<(WidthChange Change, WidthSite Site)> group, EquatableArray<WidthSite> sites, List<WidthChange> changes, string plans)
    {
        var site = group[0].Site;
        var edit = site.Edit;

        // Everything this literal decides, changed or not: `hidden` may also size a layer the plan leaves alone.
        var decided = edit is null
            ? group.Select(g => (Name: g.Change.Module + "." + g.Change.Argument, To: (long?)g.Change.To)).ToList()
            : sites.Where(s => s.Edit == edit)
                .Select(s => (Name: s.Module + "." + s.Argument, To: changes.FirstOrDefault(c => c.Module == s.Module && c.Argument == s.Argument)?.To))
                .ToList();
        var names = string.Join(", ", group.Select(g => g.Change.Module + "." + g.Change.Argument));
        var from = string.Join(", ", group.Select(g => g.Change.From).Distinct().Select(Number));
        var targets = group.Select(g => g.Change.To).Distinct().ToList();
        var leads = targets.Count == 1 ? (group.Count == 1 ? "it is " : "they are ") + Number(targets[0]) : string.Join(", ", group.Select(g => g.Change.Module + "." + g.Change.Argument + " is " + Number(g.Change.To)));
        var kept = decided.Where(d => d.To is null).Select(d => d.Name).ToList();

        // The literal must be what the class builds (a chained constructor or a reassigned parameter can differ) and
        // every use of what it decides must be one of these sizes (a field, a tensor shape may read it too).
        var built = group.All(g => g.Site.Value == g.Change.From);
        var onlyThese = decided.Count >= site.Uses;
        string advice;
        if (edit is not null && targets.Count == 1 && kept.Count == 0 && built && onlyThese)
        {
            advice = "write " + Number(targets[0]) + " here so the class matches the checkpoints written after it (other callers that pass their own value must change too)";
            return new DiagnosticInfo(
                SurgeryDiagnostics.WidthNotFollowed.Id,
                edit,
                EquatableArray.Create(site.Source, names, from, plans, leads, advice),
                EquatableArray.Create(edit),
                EquatableArray.Create(new DiagnosticProperty("Argument", SiteName(site)), new DiagnosticProperty("Size", Number(targets[0]))));
        }

        advice = edit is null ? "make it " + string.Join(" and ", targets.Select(Number)) + " so the class matches the checkpoints written after it"
            : kept.Count > 0 || targets.Count > 1 ? "one value cannot say both (" + (kept.Count > 0 ? "it also sets " + string.Join(", ", kept) + ", which the plan leaves as it is" : "the plan gives them different sizes") + "); give each layer its own width"
            : !built ? "the class builds " + from + " from it by other code (a chained constructor, a reassignment), so change that code to build " + string.Join(" and ", targets.Select(Number))
            : "the class also reads it elsewhere (" + site.Uses.ToString(CultureInfo.InvariantCulture) + " uses, " + decided.Count.ToString(CultureInfo.InvariantCulture) + " of them sizes of layers), so change it where it sizes these layers only";
        return new DiagnosticInfo(SurgeryDiagnostics.WidthNotFollowed.Id, at, EquatableArray.Create(site.Source, names, from, plans, leads, advice));
    }

    /// <summary>What the code fix's title names: the parameter or constant, else the layer argument.</summary>
    private static string SiteName(WidthSite site)
    {
        var quote = site.Source.IndexOf('\'');
        var end = quote < 0 ? -1 : site.Source.IndexOf('\'', quote + 1);
        return end > quote + 1 ? site.Source.Substring(quote + 1, end - quote - 1) : site.Module + "." + site.Argument;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
