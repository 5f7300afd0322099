using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Threading;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The <c>trace</c> command (DESIGN.md section 10): the structured tracer against the reference tracer on the same
/// OpenAI-Five-shaped graphs of growing size, with Φ checked equal wherever the reference runs; then the Large
/// config alone, traced in two versions and diffed, against the 50 ms goal and paper 001's Table 3.
/// </summary>
internal static class TraceBench
{
    /// <summary>Paper 001 Table 3, on a 2.9 GHz Core i7: boolean mirror and gradient mapping of OpenAI Five.</summary>
    private const double PaperBooleanSeconds = 37.88;
    private const double PaperGradientSeconds = 907.92;
    private const double GoalMs = 50;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<string> args)
    {
        var referenceLimitSeconds = 30.0;
        var largeRuns = 20;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--reference-limit" when i + 1 < args.Count && double.TryParse(args[i + 1], NumberStyles.Float, Inv, out var s) && s > 0:
                    referenceLimitSeconds = s;
                    i++;
                    break;
                case "--runs" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var n) && n > 0:
                    largeRuns = n;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"trace: unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine("usage: trace [--reference-limit SECONDS (default 30)] [--runs N (Large runs, default 20)]");
                    return 2;
            }
        }

        var total = Stopwatch.StartNew();
        PrintHeader(referenceLimitSeconds);
        WarmUp();

        var rows = new List<Row>();
        double? lastReferenceMs = null;
        long lastParameters = 0;
        foreach (var position in FiveFamily.Positions)
        {
            var row = MeasureSize(position, referenceLimitSeconds, lastReferenceMs, lastParameters);
            rows.Add(row);
            if (row.ReferenceMs is { } r)
            {
                lastReferenceMs = r;
                lastParameters = row.Parameters;
            }
        }

        PrintTable(rows);
        var largeOk = MeasureLarge(largeRuns, rows.LastOrDefault(r => r.Name == "Large"));
        Console.WriteLine();
        Console.WriteLine($"total bench time {total.Elapsed.TotalSeconds.ToString("F0", Inv)} s");
        var failures = rows.Count(r => r.Agreement is not null || !r.TransferOk);
        return failures == 0 && largeOk ? 0 : 1;
    }

    private sealed record Row(
        string Name,
        long Parameters,
        int Slots,
        double? ReferenceMs,
        int ReferenceRuns,
        string? SkipReason,
        double StructuredMs,
        int StructuredRuns,
        double DiffMs,
        int DiffRuns,
        bool Checked,
        string? Agreement,
        bool TransferOk);

    private static Row MeasureSize(double position, double limitSeconds, double? lastReferenceMs, long lastParameters)
    {
        var name = FiveFamily.Name(position);
        var config = FiveFamily.At(position);
        var (graph, schema) = OpenAiFiveGraphs.Build(config, 1);
        var (graph2, schema2) = OpenAiFiveGraphs.Build(config, 2);
        var space = FeatureSpace.Bind(graph, schema);
        var parameters = graph.ParameterElementCount;
        FullCollect(); // the previous size's reference traces are garbage now; do not charge their collection here
        Progress($"[{name}] {parameters:N0} parameters, {space.Count} slots");

        // Structured tracer: short calls, many of them.
        Measure.WarmUp(() => StructuredTracer.Trace(graph, space), 5, 50);
        var (structuredMs, structuredRuns) = Measure.Repeat(() => StructuredTracer.Trace(graph, space), 11, 300, 201);

        // Diff v1 → v2 on maps traced once.
        var side1 = ModelSide.Trace(graph, schema);
        var side2 = ModelSide.Trace(graph2, schema2);
        Measure.WarmUp(() => SurgeryDiffer.Diff(side1, side2), 3, 50);
        var (diffMs, diffRuns) = Measure.Repeat(() => SurgeryDiffer.Diff(side1, side2), 5, 500, 101);
        var transferOk = CheckTransfer(name, config, SurgeryDiffer.Diff(side1, side2));

        // Reference tracer: skipped when the previous size predicts it would pass the limit (time grows with parameters).
        double? referenceMs = null;
        var referenceRuns = 0;
        string? skip = null;
        string? agreement = null;
        var checkedPhi = false;
        var predicted = lastReferenceMs is { } last && lastParameters > 0 ? last * parameters / lastParameters : 0;
        if (predicted > limitSeconds * 1000)
        {
            skip = $"predicted {(predicted / 1000).ToString("F0", Inv)} s > {limitSeconds.ToString("0.#", Inv)} s";
            Progress($"[{name}] reference skipped: {skip}");
        }
        else
        {
            Progress($"[{name}] reference run 1");
            ReferenceTrace? reference = null;
            var times = new List<double> { Measure.Once(() => reference = ReferenceTracer.Trace(graph, space)) };
            Progress($"[{name}] reference run 1: {Ms(times[0])} ms; checking Φ against the structured map");
            agreement = Agreement.Compare(graph, reference!, StructuredTracer.Trace(graph, space));
            checkedPhi = true;
            Progress($"[{name}] Φ {(agreement is null ? "agrees" : "DIFFERS: " + agreement)}");
            reference = null;
            var runs = times[0] < 1000 ? 5 : times[0] < 10_000 ? 3 : 1;
            while (times.Count < runs)
            {
                Progress($"[{name}] reference run {times.Count + 1} of {runs}");
                times.Add(Measure.Once(() => ReferenceTracer.Trace(graph, space)));
            }

            referenceMs = Measure.Median(times);
            referenceRuns = times.Count;
        }

        return new Row(name, parameters, space.Count, referenceMs, referenceRuns, skip, structuredMs, structuredRuns, diffMs, diffRuns, checkedPhi, agreement, transferOk);
    }

    private static bool CheckTransfer(string name, FiveConfig config, SurgeryPlan plan)
    {
        var expected = OpenAiFiveGraphs.ExpectedTransferredElements(config);
        if (plan.Totals.CopiedElements == expected)
        {
            return true;
        }

        Console.Error.WriteLine($"[{name}] WARNING: the v1 → v2 plan copies {plan.Totals.CopiedElements:N0} elements; a correct surgery copies {expected:N0}");
        return false;
    }

    private static bool MeasureLarge(int runs, Row? tableRow)
    {
        var config = OpenAiFiveGraphs.Large;
        var (g1, s1) = OpenAiFiveGraphs.Build(config, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(config, 2);
        var slots1 = FeatureSpace.Bind(g1, s1).Count;
        var slots2 = FeatureSpace.Bind(g2, s2).Count;
        Progress($"[Large] trace v1 + trace v2 + diff: warm-up, then {runs} runs");

        SurgeryPlan? plan = null;
        var parts = new List<double>[5];
        for (var k = 0; k < parts.Length; k++)
        {
            parts[k] = [];
        }

        // ModelSide.Trace is FeatureSpace.Bind + StructuredTracer.Trace; timed as its two steps.
        double[] Once()
        {
            var sw = Stopwatch.StartNew();
            var space1 = FeatureSpace.Bind(g1, s1);
            var bind1 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var side1 = new ModelSide(g1, s1, StructuredTracer.Trace(g1, space1));
            var trace1 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var space2 = FeatureSpace.Bind(g2, s2);
            var bind2 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var side2 = new ModelSide(g2, s2, StructuredTracer.Trace(g2, space2));
            var trace2 = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            plan = SurgeryDiffer.Diff(side1, side2);
            var diff = sw.Elapsed.TotalMilliseconds;
            return [bind1, trace1, bind2, trace2, diff];
        }

        FullCollect();
        Measure.WarmUp(() => Once(), 5, 1000);
        var totals = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var t = Once();
            for (var k = 0; k < t.Length; k++)
            {
                parts[k].Add(t[k]);
            }

            totals.Add(t.Sum());
        }

        var median = Measure.Median(totals);
        var p = plan!;
        var transferOk = CheckTransfer("Large", config, p);
        Console.WriteLine();
        Console.WriteLine("Large (OpenAI Five size): FeatureSpace.Bind + StructuredTracer.Trace of v1 and of v2 (= ModelSide.Trace), then SurgeryDiffer.Diff v1 → v2");
        Console.WriteLine($"  v1: {g1.ParameterElementCount,13:N0} parameters, {slots1,5:N0} feature slots");
        Console.WriteLine($"  v2: {g2.ParameterElementCount,13:N0} parameters, {slots2,5:N0} feature slots (+{config.ExtraHeroFeatures} hero features)");
        Console.WriteLine($"  medians of {runs} runs after warm-up: bind v1 {Ms(Measure.Median(parts[0]))} ms + trace v1 {Ms(Measure.Median(parts[1]))} ms, "
            + $"bind v2 {Ms(Measure.Median(parts[2]))} ms + trace v2 {Ms(Measure.Median(parts[3]))} ms, diff {Ms(Measure.Median(parts[4]))} ms");
        Console.WriteLine($"  total (median of per-run totals): {Ms(median)} ms   [min {Ms(totals.Min())} ms, max {Ms(totals.Max())} ms]");
        Console.WriteLine($"  plan: {p.Totals.CopiedElements:N0} elements copied = {Pct(p.Totals.ShareOfSource)} of v1's parameters (paper 001's \"params transferred\"), "
            + $"{Pct(p.Totals.ShareOfTarget)} of v2's; {p.Totals.TargetElements - p.Totals.CopiedElements:N0} new elements initialised"
            + (transferOk ? " (as expected)" : $" (EXPECTED {OpenAiFiveGraphs.ExpectedTransferredElements(config):N0} copied)"));
        Console.WriteLine($"  goal < {GoalMs.ToString("F0", Inv)} ms: {(median < GoalMs ? "met" : "MISSED")} ({Ms(median)} ms)");
        Console.WriteLine($"  paper 001 Table 3 (2.9 GHz Core i7): boolean mirror {PaperBooleanSeconds.ToString("F2", Inv)} s, gradient mapping {PaperGradientSeconds.ToString("F2", Inv)} s;");
        Console.WriteLine($"    bind + trace v1 and v2 + diff here is {Ratio(PaperBooleanSeconds * 1000 / median)}× less than the boolean time and {Ratio(PaperGradientSeconds * 1000 / median)}× less than the gradient time"
            + " (different machines: indicative only)");
        if (tableRow?.ReferenceMs is { } reference)
        {
            Console.WriteLine($"    the per-scalar reference tracer (the paper's method) traces Large v1 in {(reference / 1000).ToString("F1", Inv)} s on this machine, "
                + $"{Ratio(reference / tableRow.StructuredMs)}× the structured tracer");
        }

        return transferOk;
    }

    /// <summary>
    /// Runs every measured path on Small in three rounds with pauses, so tiered JIT has promoted the hot methods
    /// (promotion waits for a quiet spell without new JIT work) before the first timing.
    /// </summary>
    private static void WarmUp()
    {
        Progress("warm-up on Small (JIT)");
        var config = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(config, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(config, 2);
        var space = FeatureSpace.Bind(g1, s1);
        for (var round = 0; round < 3; round++)
        {
            Measure.WarmUp(() => ReferenceTracer.Trace(g1, space), 30, 300);
            Measure.WarmUp(() => StructuredTracer.Trace(g1, space), 100, 300);
            Measure.WarmUp(() => SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2)), 50, 300);
            _ = Agreement.Compare(g1, ReferenceTracer.Trace(g1, space), StructuredTracer.Trace(g1, space));
            Thread.Sleep(250);
        }
    }

    private static void PrintHeader(double limitSeconds)
    {
        Console.WriteLine("NeuralSurgery trace bench: structured vs reference tracer (docs/mirror.md, DESIGN.md section 10)");
        Console.WriteLine($"machine: {CpuName()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, "
            + $"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.ProcessArchitecture}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC");
        if (IsDebugBuild(typeof(TraceBench).Assembly) || IsDebugBuild(typeof(StructuredTracer).Assembly))
        {
            Console.WriteLine("WARNING: unoptimised (Debug) build; run with -c Release for meaningful numbers");
        }

        Console.WriteLine("graphs: OpenAI-Five-shaped policies (tests/NeuralSurgery.Core.Tests/Support/OpenAiFiveGraphs.cs), a geometric family");
        Console.WriteLine("  Small -> Medium -> Large, every size interpolated in log space (fX = position X on the path: 0 Small, 1 Medium, 2 Large), version 1;");
        Console.WriteLine("  diff = SurgeryDiffer.Diff of the v1 and v2 structured maps (v2 appends 12 hero features).");
        Console.WriteLine($"both tracers run on the same graph and FeatureSpace in this process; medians, run counts in brackets; reference skipped where");
        Console.WriteLine($"  the previous size predicts more than {limitSeconds.ToString("0.#", Inv)} s (--reference-limit). Φ: every parameter and value element compared (Layout.Expand).");
        Console.WriteLine();
    }

    private static void PrintTable(List<Row> rows)
    {
        var header = $"{"size",-7} {"parameters",13} {"slots",6} {"reference ms",16} {"structured ms",15} {"ratio ref/str",14} {"diff v1->v2 ms",16}  Φ";
        Console.WriteLine(header);
        Console.WriteLine(new string('-', header.Length + 6));
        foreach (var r in rows)
        {
            var reference = r.ReferenceMs is { } ms ? $"{Ms(ms)} ({r.ReferenceRuns})" : "skipped";
            var ratio = r.ReferenceMs is { } rm ? Ratio(rm / r.StructuredMs) + "×" : "-";
            var phi = !r.Checked ? "not checked" : r.Agreement is null ? "agree" : "DIFFER";
            Console.WriteLine($"{r.Name,-7} {r.Parameters,13:N0} {r.Slots,6:N0} {reference,16} {Ms(r.StructuredMs) + " (" + r.StructuredRuns.ToString(Inv) + ")",15} {ratio,14} {Ms(r.DiffMs) + " (" + r.DiffRuns.ToString(Inv) + ")",16}  {phi}");
        }

        foreach (var r in rows.Where(r => r.SkipReason is not null))
        {
            Console.WriteLine($"{r.Name}: reference not run ({r.SkipReason}); Φ not checked there.");
        }

        foreach (var r in rows.Where(r => r.Agreement is not null))
        {
            Console.WriteLine($"{r.Name}: tracers DISAGREE: {r.Agreement}");
        }

        foreach (var r in rows.Where(r => !r.TransferOk))
        {
            Console.WriteLine($"{r.Name}: the v1 -> v2 plan does NOT copy what a correct surgery copies (OpenAiFiveGraphs.ExpectedTransferredElements)");
        }

        if (rows.All(r => r.TransferOk))
        {
            Console.WriteLine("every v1 -> v2 plan copies exactly OpenAiFiveGraphs.ExpectedTransferredElements (all of v1).");
        }
    }

    private static void FullCollect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static void Progress(string message) => Console.Error.WriteLine($"  .. {message}");

    private static string Ms(double ms) => ms switch
    {
        < 10 => ms.ToString("F3", Inv),
        < 100 => ms.ToString("F2", Inv),
        < 1000 => ms.ToString("F1", Inv),
        _ => ms.ToString("N0", Inv),
    };

    private static string Ratio(double ratio) => ratio < 10 ? ratio.ToString("F1", Inv) : ratio.ToString("N0", Inv);

    private static string Pct(double share) => (share * 100).ToString("F4", Inv) + " %";

    private static bool IsDebugBuild(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled ?? false;

    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line.Substring(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return "unknown CPU";
    }
}
