using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Diff;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery verify</c>: paper 001 eq. 1 on real checkpoints. Both models run in eval mode on the same random world
/// states (<see cref="Verifier"/>); per output, max |F_old − F_new| against a tolerance. Exit 0 when every
/// compared output is within it, <see cref="ExitCodes.CheckFailed"/> when one is not, 1 for input that cannot be
/// verified (a missing file, a checkpoint that does not fit its graph).
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var oldModel = ModelOptions.Model("--old-model", "The old model");
        var oldSchema = ModelOptions.Schema("--old-schema", "The old model");
        var oldClass = ModelOptions.Class("--old-class", "--old-model");
        var oldCheckpoint = new Option<string>("--old-checkpoint") { Description = "The old model's checkpoint.", Required = true, HelpName = "old-checkpoint" };
        var newModel = ModelOptions.Model("--new-model", "The new model");
        var newSchema = ModelOptions.Schema("--new-schema", "The new model");
        var newClass = ModelOptions.Class("--new-class", "--new-model");
        var newCheckpoint = new Option<string>("--new-checkpoint") { Description = "The new model's checkpoint (e.g. from 'surgery apply').", Required = true, HelpName = "new-checkpoint" };
        var torchSharp = ModelOptions.TorchSharp();
        var samples = new Option<int>("--samples") { Description = "Random world states to compare on.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random states (the same seed gives the same states).", HelpName = "N" };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest max |F_old - F_new| an output may have and pass.", DefaultValueFactory = _ => 1e-5, HelpName = "X" };
        var json = CommonOptions.Json("the report");
        var command = new Command("verify", "Check that a new model computes what the old one did (paper 001 eq. 1): max |F_old - F_new| per output on random states; exit 3 when one is beyond the tolerance.")
        {
            oldModel, oldSchema, oldClass, oldCheckpoint, newModel, newSchema, newClass, newCheckpoint, torchSharp, samples, seed, tolerance, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var count = parse.GetValue(samples);
            var tol = parse.GetValue(tolerance);
            if (count < 1)
            {
                throw new CliException($"--samples {count}: expected at least 1 state");
            }

            if (!(tol >= 0) || double.IsInfinity(tol))
            {
                throw new CliException($"--tolerance {Format.Number(tol)}: expected a finite number >= 0");
            }

            var ts = parse.GetValue(torchSharp);
            var oldSide = ModelOptions.Side(CommonOptions.Required(parse.GetValue(oldModel), "--old-model"), parse.GetValue(oldSchema), parse.GetValue(oldClass), ts, console, cancellation);
            var newSide = ModelOptions.Side(CommonOptions.Required(parse.GetValue(newModel), "--new-model"), parse.GetValue(newSchema), parse.GetValue(newClass), ts, console, cancellation);
            var oldPath = CommonOptions.Required(parse.GetValue(oldCheckpoint), "--old-checkpoint");
            var newPath = CommonOptions.Required(parse.GetValue(newCheckpoint), "--new-checkpoint");
            var oldWeights = Weights(oldPath, oldSide, "--old-model");
            var newWeights = Weights(newPath, newSide, "--new-model");
            cancellation.ThrowIfCancellationRequested();
            // With both schemas, renames are followed and heads that gained or lost actions are compared by action name.
            var report = oldSide.Schema is { } oldFeatures && newSide.Schema is { } newFeatures
                ? Verifier.Verify(oldSide.Graph, oldFeatures, oldWeights, newSide.Graph, newFeatures, newWeights, count, parse.GetValue(seed))
                : Verifier.Verify(oldSide.Graph, oldSide.Map.Features, oldWeights, newSide.Graph, newSide.Map.Features, newWeights, count, parse.GetValue(seed));
            var failed = report.Outputs.Where(o => !Within(o.MaxAbsDifference, tol)).Select(o => o.Output).ToList();

            // Nothing compared proves nothing: outputs renamed or reshaped on every head is a failure, not a pass.
            var ok = failed.Count == 0 && report.Outputs.Count > 0;
            if (parse.GetValue(json))
            {
                WriteJson(console, report, tol, ok, oldPath, newPath);
            }
            else
            {
                WriteText(console, report, tol, failed, oldPath, newPath);
            }

            return Task.FromResult(ok ? ExitCodes.Ok : ExitCodes.CheckFailed);
        });
        return command;
    }

    private static bool Within(double difference, double tolerance) => difference <= tolerance; // NaN fails

    /// <summary>
    /// The checkpoint, checked against its graph first so that a wrong or partial checkpoint is reported with its
    /// file name and every tensor that does not fit (the verifier itself cannot tell which side a message is about).
    /// </summary>
    private static StateDict Weights(string path, ModelSide side, string modelOption)
    {
        var dict = StateDict.Load(path);
        try
        {
            ReferenceModel.Load(side.Graph, dict);
        }
        catch (ReferenceExecutionException e)
        {
            throw new CliException($"{path}: not a checkpoint of the {modelOption} graph '{side.Graph.Name}': {e.Message}", e);
        }

        return dict;
    }

    private static void WriteText(CliConsole console, VerificationReport report, double tolerance, List<string> failed, string oldPath, string newPath)
    {
        console.Out.WriteLine($"verify: {oldPath} -> {newPath} on {Format.Count(report.Samples)} random states, tolerance {Format.Difference(tolerance)}");
        var table = Tables.Create(console, "output", ">elements", ">max abs diff", "result");
        foreach (var o in report.Outputs)
        {
            Tables.Row(table, o.Output, Format.Count(o.Compared), Difference(o.MaxAbsDifference), Within(o.MaxAbsDifference, tolerance) ? "pass" : "FAIL");
        }

        foreach (var name in report.NotCompared)
        {
            Tables.Row(table, name, "-", "-", "not compared (missing or reshaped in the new model)");
        }

        Tables.Write(console, table);
        if (report.Outputs.Count == 0)
        {
            console.Out.WriteLine("FAILED: no output of the old model has a counterpart of the same name and shape in the new model");
        }
        else if (failed.Count > 0)
        {
            console.Out.WriteLine($"FAILED: {string.Join(", ", failed)} differ{(failed.Count == 1 ? "s" : string.Empty)} by more than {Format.Difference(tolerance)}");
        }
        else
        {
            console.Out.WriteLine($"ok: {Format.Plural(report.Outputs.Count, "output")} within {Format.Difference(tolerance)} (max {Difference(report.MaxAbsDifference)})");
        }
    }

    private static void WriteJson(CliConsole console, VerificationReport report, double tolerance, bool ok, string oldPath, string newPath) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("old", oldPath);
        w.WriteString("new", newPath);
        w.WriteNumber("samples", report.Samples);
        w.WriteNumber("tolerance", tolerance);
        w.WriteBoolean("ok", ok);
        w.WriteStartArray("outputs");
        foreach (var o in report.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", o.Output);
            w.WriteNumber("elements", o.Compared);
            JsonOutput.WriteDouble(w, "maxAbsDiff", o.MaxAbsDifference);
            w.WriteBoolean("pass", Within(o.MaxAbsDifference, tolerance));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("notCompared");
        foreach (var name in report.NotCompared)
        {
            w.WriteStringValue(name);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static string Difference(double value) => double.IsNaN(value) ? "NaN" : Format.Difference(value);
}
