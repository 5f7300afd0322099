using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery plan --from old --to new</c>: traces both graphs (with their schemas), diffs them into a
/// <see cref="SurgeryPlan"/>, prints it per tensor with the transferred share, and writes its JSON form.
/// </summary>
internal static class PlanCommand
{
    public static Command Create(CliConsole console)
    {
        var from = new Option<string>("--from") { Description = "The old model: C# source (*.cs) or its graph (*.graph.json).", Required = true, HelpName = "old.cs|old.graph.json" };
        var to = new Option<string>("--to") { Description = "The new model: C# source (*.cs) or its graph (*.graph.json).", Required = true, HelpName = "new.cs|new.graph.json" };
        var fromClass = ModelOptions.Class("--from-class", "--from");
        var toClass = ModelOptions.Class("--to-class", "--to");
        var torchSharp = ModelOptions.TorchSharp();
        var fromSchema = new Option<string?>("--from-schema") { Description = "The old model's feature schema (*.features.yaml).", HelpName = "a.features.yaml" };
        var toSchema = new Option<string?>("--to-schema") { Description = "The new model's feature schema (*.features.yaml).", HelpName = "b.features.yaml" };
        var output = new Option<string?>("--out") { Description = "Write the plan JSON to this file (*.json; written atomically, an existing file only with --force).", HelpName = "plan.json" };
        var force = CommonOptions.Force();
        var bias = new Option<double>("--new-output-bias") { Description = "Bias of new output-head rows (their weights are zero); very negative keeps a softmax head's old probabilities.", HelpName = "X" };
        var renames = new Option<string[]>("--rename")
        {
            Description = "A layer renamed between versions, old=new (module paths); repeatable.",
            HelpName = "old=new",
            AllowMultipleArgumentsPerToken = true,
        };
        var json = CommonOptions.Json("the plan");
        var command = new Command("plan", "Diff two model versions into a surgery plan: per tensor what is copied and how the rest is initialised.")
        {
            from, to, fromSchema, toSchema, fromClass, toClass, torchSharp, output, force, bias, renames, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var newBias = parse.GetValue(bias);
            if (!double.IsFinite(newBias))
            {
                // The plan JSON holds finite numbers only; a very negative finite bias does what -Infinity would.
                throw new CliException($"--new-output-bias {Format.Number(newBias)}: expected a finite number (e.g. -1e4)");
            }

            var options = new PlanOptions
            {
                NewOutputBias = newBias,
                ModuleRenames = ParseRenames(parse.GetValue(renames) ?? []),
            };
            var outPath = parse.GetValue(output);
            var torchSharpPath = parse.GetValue(torchSharp);
            var fromPath = CommonOptions.Required(parse.GetValue(from), "--from");
            var toPath = CommonOptions.Required(parse.GetValue(to), "--to");
            var files = new CommandFiles()
                .ModelInputs("--from", fromPath, "--from-schema", parse.GetValue(fromSchema), torchSharpPath)
                .ModelInputs("--to", toPath, "--to-schema", parse.GetValue(toSchema), null);
            if (outPath is not null)
            {
                files.Output("--out", outPath);
            }

            CommonOptions.Check(files, parse.GetValue(force));
            if (outPath is not null && !outPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                // A plan written over a checkpoint by a slip of the keyboard would lose the weights.
                throw new CliException($"--out {outPath}: a plan is written to a *.json file");
            }

            var (oldGraph, oldSchema) = ModelOptions.Read(fromPath, parse.GetValue(fromSchema), parse.GetValue(fromClass), torchSharpPath, console, cancellation);
            var (newGraph, newSchema) = ModelOptions.Read(toPath, parse.GetValue(toSchema), parse.GetValue(toClass), torchSharpPath, console, cancellation);
            var planned = SurgeryPlanner.Plan(oldGraph, oldSchema, newGraph, newSchema, options, cancellation);
            var plan = planned.Plan;
            if (outPath is not null)
            {
                using var batch = new OutputBatch();
                batch.WriteAllBytes(outPath, System.Text.Encoding.UTF8.GetBytes(planned.Json), parse.GetValue(force));
                batch.Commit();
            }

            if (parse.GetValue(json))
            {
                console.Out.Write(planned.Json);
            }
            else
            {
                WriteText(console, plan, planned.New);
                if (outPath is not null)
                {
                    console.Out.WriteLine($"wrote {outPath}");
                }
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    internal static EquatableArray<ModuleRename> ParseRenames(IEnumerable<string> values)
    {
        var result = new List<ModuleRename>();
        foreach (var value in values)
        {
            var at = value.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || at == value.Length - 1 || value.IndexOf('=', at + 1) >= 0)
            {
                throw new CliException($"--rename '{value}': expected old=new (two module paths, e.g. encoder=hero_encoder)");
            }

            result.Add(new ModuleRename(value[..at].Trim(), value[(at + 1)..].Trim()));
        }

        return result.ToEquatableArray();
    }

    /// <summary>A graph JSON file (C# sources go through <see cref="ModelSourceLoader"/>).</summary>
    internal static ModelGraph ReadGraph(string path)
    {
        ModelOptions.RequireModelPath(path);
        return GraphJson.Read(InputFile.ReadAllText(path, "graph", InputFile.MaxDocumentBytes), path);
    }

    private static void WriteText(CliConsole console, SurgeryPlan plan, ModelSide newSide)
    {
        console.Out.WriteLine($"plan: {plan.From} -> {plan.To}");
        var table = Tables.Create(console, "tensor", "source", ">copied / total", ">share", "unmapped elements");
        foreach (var t in plan.Tensors)
        {
            var total = t.TotalElements;
            var copied = t.CopiedElements;
            var share = total == 0 ? 1 : (double)copied / total;
            Tables.Row(
                table,
                t.Name + (t.IsBuffer ? " (buffer)" : string.Empty),
                t.Source ?? "(new)",
                $"{Format.Count(copied)} / {Format.Count(total)}",
                Format.Share(share),
                Unmapped(t));
        }

        Tables.Write(console, table);
        var totals = plan.Totals;
        console.Out.WriteLine(
            $"transferred: {Format.Count(totals.CopiedElements)} of {Format.Count(totals.SourceElements)} source parameters ({Format.Share(totals.ShareOfSource)}); "
            + $"{Format.Count(totals.CopiedElements)} of {Format.Count(totals.TargetElements)} target parameters ({Format.Share(totals.ShareOfTarget)})");
        if (plan.Dropped.Count == 0)
        {
            console.Out.WriteLine("dropped: nothing");
        }
        else
        {
            console.Out.WriteLine("dropped:");
            var dropped = Tables.Create(console, "kind", "name", ">elements", "parameters");
            foreach (var d in plan.Dropped)
            {
                Tables.Row(dropped, Kind(d.Kind), d.Name, Format.Count(d.Elements),
                    string.Join(", ", d.Parameters.Select(p => $"{p.Parameter} ({Format.Count(p.Elements)})")));
            }

            Tables.Write(console, dropped);
        }

        var unread = newSide.Map.UnmappedFeatures();
        if (plan.Notes.Count > 0 || unread.Count > 0)
        {
            console.Out.WriteLine("notes:");
            foreach (var note in plan.Notes)
            {
                console.Out.WriteLine("  - " + ErrorReport.OneLine(note));
            }

            if (unread.Count > 0)
            {
                console.Out.WriteLine($"  - {unread.Count} feature slot{(unread.Count == 1 ? string.Empty : "s")} of the new model reach no parameter: "
                    + string.Join(", ", unread.Take(20)) + (unread.Count > 20 ? ", ..." : string.Empty));
            }
        }
    }

    /// <summary>How the elements the plan does not copy are filled: per axis with unmapped indices, its rule.</summary>
    private static string Unmapped(TensorPlan t)
    {
        if (t.Source is null)
        {
            return "all: " + t.Init;
        }

        if (t.CopiedElements == t.TotalElements)
        {
            return "-";
        }

        var parts = new List<string>();
        foreach (var a in t.InitOrder)
        {
            var axis = t.Axes[a];
            if (axis.MappedCount < axis.Length)
            {
                parts.Add($"axis {a} ({axis.Role.ToString().ToLowerInvariant()}, {Format.Count(axis.Length - axis.MappedCount)} new): {axis.Unmapped}");
            }
        }

        return string.Join("; ", parts);
    }

    private static string Kind(DroppedKind kind) => kind switch
    {
        DroppedKind.Feature => "feature",
        DroppedKind.CategoricalValue => "categorical value",
        DroppedKind.OutputFeature => "output feature",
        DroppedKind.Units => "units",
        DroppedKind.Parameter => "parameter",
        _ => kind.ToString(),
    };
}
