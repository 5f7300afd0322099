using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.Diff;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery verify</c>: paper 001 eq. 1 on real checkpoints. Both models run in eval mode on the same random world
/// states (<see cref="Verifier"/>); per output, max |F_old − F_new| against a tolerance. Exit 0 when every
/// compared output is within it, <see cref="ExitCodes.CheckFailed"/> when one is not, 1 for input that cannot be
/// verified (a missing file, a checkpoint that does not fit its graph). With <c>--assembly</c> the models' own forward
/// runs in TorchSharp instead: the training project's built assembly is loaded with its dependencies, the classes
/// load their checkpoints with TorchSharp's <c>Module.load</c>, and both are also run on the reference executor to
/// tell libtorch from the surgery (NeuralSurgery.TorchSharp's <c>ModuleVerifier</c>).
/// </summary>
internal static class VerifyCommand
{
    /// <summary>Every state runs in one batch, so the count bounds the memory of each activation.</summary>
    internal const int MaxSamples = 1_000_000;

    public static Command Create(CliConsole console)
    {
        var oldModel = ModelOptions.Model("--old-model", "The old model");
        var assembly = new Option<string?>("--assembly")
        {
            Description = "The training project's built assembly (bin/.../Training.dll): run the classes --old-class and --new-class with their own forward in TorchSharp instead of reading --old-model/--new-model.",
            HelpName = "Training.dll",
        };
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
        // Either both model sources (reference executor) or --assembly (the models' own forward in TorchSharp).
        oldModel.Required = false;
        newModel.Required = false;
        var command = new Command("verify", "Check that a new model computes what the old one did (paper 001 eq. 1): max |F_old - F_new| per output on random states; exit 3 when one is beyond the tolerance.")
        {
            oldModel, oldSchema, oldClass, oldCheckpoint, newModel, newSchema, newClass, newCheckpoint, assembly, torchSharp, samples, seed, tolerance, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var count = parse.GetValue(samples);
            var tol = parse.GetValue(tolerance);
            if (count is < 1 or > MaxSamples)
            {
                throw new CliException($"--samples {count}: expected 1 to {Format.Count(MaxSamples)} states (all of them run as one batch)");
            }

            if (!(tol >= 0) || double.IsInfinity(tol))
            {
                throw new CliException($"--tolerance {Format.Number(tol)}: expected a finite number >= 0");
            }

            if (parse.GetValue(assembly) is { } dll)
            {
                if (parse.GetValue(oldModel) is not null || parse.GetValue(newModel) is not null)
                {
                    throw new CliException("--assembly runs the compiled classes: give --old-class and --new-class, not --old-model/--new-model");
                }

                return Task.FromResult(InTorchSharp(
                    console,
                    dll,
                    CommonOptions.Required(parse.GetValue(oldClass), "--old-class"),
                    CommonOptions.Required(parse.GetValue(oldCheckpoint), "--old-checkpoint"),
                    CommonOptions.Required(parse.GetValue(newClass), "--new-class"),
                    CommonOptions.Required(parse.GetValue(newCheckpoint), "--new-checkpoint"),
                    count,
                    parse.GetValue(seed),
                    tol,
                    parse.GetValue(json)));
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
            VerificationReport report;
            try
            {
                report = oldSide.Schema is { } oldFeatures && newSide.Schema is { } newFeatures
                    ? Verifier.Verify(oldSide.Graph, oldFeatures, oldWeights, newSide.Graph, newFeatures, newWeights, count, parse.GetValue(seed))
                    : Verifier.Verify(oldSide.Graph, oldSide.Map.Features, oldWeights, newSide.Graph, newSide.Map.Features, newWeights, count, parse.GetValue(seed));
            }
            catch (ArgumentException e) when (e.ParamName == "shape")
            {
                // A wide input times many states: more elements than one tensor holds.
                throw new CliException($"--samples {count}: the random states do not fit in one tensor ({e.Message}); pass fewer --samples", e);
            }
            catch (InsufficientMemoryException e)
            {
                throw new CliException($"--samples {count}: {e.Message}", e);
            }
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

    /// <summary>eq. 1 by the models' own forward, in the training project's assembly with its TorchSharp.</summary>
    private static int InTorchSharp(CliConsole console, string dll, string oldClass, string oldPath, string newClass, string newPath, int samples, int seed, double tolerance, bool json)
    {
        // TorchSharp's Module.load opens the checkpoints itself: the file rule's input check comes first.
        new NeuralSurgery.IO.CommandFiles().Input("--old-checkpoint", oldPath).Input("--new-checkpoint", newPath).Check(overwrite: false);
        var context = ModelAssemblyContext.Open(dll);
        var verify = context.BridgeMethod("VerificationEntryPoint", "VerifyCheckpoints");
        string report;
        try
        {
            report = (string)verify.Invoke(null, [context.Models, oldClass, oldPath, newClass, newPath, samples, seed, tolerance])!;
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ArgumentException or System.IO.IOException or InvalidOperationException)
        {
            // The class, the checkpoint or TorchSharp itself (TorchSharpLoadException names the loader's cause).
            throw new CliException($"{dll}: {e.InnerException.Message}", e.InnerException);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException?.GetType().Name == "TorchSharpLoadException")
        {
            throw new CliException(e.InnerException.Message, e.InnerException);
        }

        using var document = System.Text.Json.JsonDocument.Parse(report);
        var root = document.RootElement;
        var passed = root.GetProperty("passed").GetBoolean();
        if (json)
        {
            console.Out.WriteLine(report);
        }
        else
        {
            console.Out.WriteLine($"verify: {oldPath} ({oldClass}) -> {newPath} ({newClass}) by their own forward in TorchSharp ({root.GetProperty("device").GetString()}) on {Format.Count(root.GetProperty("samples").GetInt32())} random states, tolerance {Format.Difference(tolerance)}");
            var table = Tables.Create(console, "output", ">elements", ">max abs diff", "result");
            foreach (var o in root.GetProperty("outputs").EnumerateArray())
            {
                var diff = Number(o.GetProperty("maxAbsDiff"));
                Tables.Row(table, o.GetProperty("name").GetString()!, Format.Count(o.GetProperty("elements").GetInt64()), Difference(diff), Within(diff, tolerance) ? "pass" : "FAIL");
            }

            foreach (var name in root.GetProperty("notCompared").EnumerateArray())
            {
                Tables.Row(table, name.GetString()!, "-", "-", "not compared (missing or reshaped in the new model)");
            }

            Tables.Write(console, table);
            if (root.TryGetProperty("oldAgainstReference", out var o2) && root.TryGetProperty("newAgainstReference", out var n2))
            {
                console.Out.WriteLine($"TorchSharp against the reference executor (same weights and states): old {Difference(Number(o2))}, new {Difference(Number(n2))}");
            }

            console.Out.WriteLine((passed ? "ok: " : "FAILED: ") + root.GetProperty("diagnosis").GetString());
        }

        return passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static double Number(System.Text.Json.JsonElement e) =>
        e.ValueKind == System.Text.Json.JsonValueKind.Number ? e.GetDouble() : double.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

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
