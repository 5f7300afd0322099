using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Plan;
using NeuralSurgery.TorchSharp;
using Spectre.Console;

namespace PolicyEvolution;

/// <summary>One tuning run of v3: how the old task, the new task and the old outputs fared.</summary>
public sealed record TuningRow(
    string Method,
    double OldTaskBefore,
    double OldTaskAfter,
    double NewTask,
    double CastRecall,
    double Consistency,
    long ChangedElements,
    double OldLogitDrift);

/// <summary>The sample's tables.</summary>
public static class Report
{
    public static void Surgery(string title, SurgeryPlan plan, ModuleVerificationReport verification)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(title)}[/]").AddColumns("tensor", "shape", "copied", "elements", "transferred");
        foreach (var tensor in plan.Tensors.Where(t => !t.IsBuffer))
        {
            table.AddRow(
                Markup.Escape(tensor.Name),
                Markup.Escape("[" + string.Join(", ", tensor.Shape) + "]"),
                Count(tensor.CopiedElements),
                Count(tensor.TotalElements),
                Share(tensor.TotalElements == 0 ? 1 : (double)tensor.CopiedElements / tensor.TotalElements));
        }

        table.AddRow(
            "[bold]all parameters[/]",
            string.Empty,
            Count(plan.Totals.CopiedElements),
            Count(plan.Totals.TargetElements),
            $"{Share(plan.Totals.ShareOfTarget)} (of the old model: {Share(plan.Totals.ShareOfSource)})");
        AnsiConsole.Write(table);

        foreach (var output in verification.Surgery.Outputs)
        {
            AnsiConsole.MarkupLine(
                $"  equivalence by both models' TorchSharp forward on {verification.Surgery.Samples} random states, output [bold]{Markup.Escape(output.Output)}[/]: max |ΔF| = [bold]{Scientific(output.MaxAbsDifference)}[/]");
        }

        AnsiConsole.MarkupLine(
            $"  TorchSharp against the reference executor (same weights and states): old model {Scientific(verification.OldAgainstReference ?? double.NaN)}, new model {Scientific(verification.NewAgainstReference ?? double.NaN)}");

        foreach (var note in plan.Notes)
        {
            AnsiConsole.MarkupLine("  note: " + Markup.Escape(note));
        }
    }

    public static void Tuning(IReadOnlyList<TuningRow> rows, long tunable, long total)
    {
        var table = new Table()
            .Title($"[bold]Teaching PolicyV3 to cast[/] (sparse mask: {Count(tunable)} of {Count(total)} elements)")
            .AddColumns("method", "old task", "→ after", "v3 task", "cast recall", "consistency", "changed", "Δ old logits");
        foreach (var row in rows)
        {
            table.AddRow(
                Markup.Escape(row.Method),
                Share(row.OldTaskBefore),
                Share(row.OldTaskAfter),
                Share(row.NewTask),
                Share(row.CastRecall),
                row.Consistency.ToString("0.000", CultureInfo.InvariantCulture),
                Count(row.ChangedElements),
                Scientific(row.OldLogitDrift));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("  old task: accuracy on the states v1 knew (new features zero), before and after tuning.");
        AnsiConsole.MarkupLine("  consistency: Pearson correlation of each such state's probability of the right action, before and after");
        AnsiConsole.MarkupLine("  (paper 000, Definition 1). Δ old logits: largest change of the old actions' logits on those states.");
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Share(double share) => (100 * share).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static string Scientific(double value) => value == 0 ? "0" : value.ToString("0.00e+0", CultureInfo.InvariantCulture);
}
