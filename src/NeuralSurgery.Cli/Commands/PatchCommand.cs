using System.CommandLine;
using System.IO;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery patch create|apply</c>: sparse Δ patches of paper 000 section 6.4 (docs/patch-format.md). A patch holds
/// only the elements tuning changed and the base checkpoint's content hash; apply refuses any other base.
/// </summary>
internal static class PatchCommand
{
    public static Command Create(CliConsole console) => new("patch", "Sparse delta patches: ship only the elements tuning changed (paper 000 section 6.4).")
    {
        CreateCommand(console),
        ApplyCommand(console),
    };

    private static Command CreateCommand(CliConsole console)
    {
        var basePath = new Option<string>("--base") { Description = "The checkpoint before tuning.", Required = true };
        var tuned = new Option<string>("--tuned") { Description = "The tuned checkpoint (same tensors, dtypes and shapes).", Required = true };
        var output = new Option<string>("--out") { Description = "The patch file to write.", Required = true };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("the patch summary");
        var command = new Command("create", "Write the elements of --tuned that differ from --base, compressed, with the base's content hash.")
        {
            basePath, tuned, output, force, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var b = CommonOptions.Required(parse.GetValue(basePath), "--base");
            var t = CommonOptions.Required(parse.GetValue(tuned), "--tuned");
            var o = CommonOptions.Required(parse.GetValue(output), "--out");
            CommonOptions.Check(new CommandFiles().CheckpointInput("--base", b).CheckpointInput("--tuned", t).Output("--out", o), parse.GetValue(force));
            var patch = SparsePatch.Create(b, t, o, parse.GetValue(force));
            Summary(console, parse.GetValue(json), "created", o, patch, new FileInfo(t).Length);
            return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static Command ApplyCommand(CliConsole console)
    {
        var basePath = new Option<string>("--base") { Description = "The checkpoint the patch was created from.", Required = true };
        var patchPath = new Option<string>("--patch") { Description = "The patch file.", Required = true };
        var output = new Option<string>("--out") { Description = "The patched checkpoint to write (format from its name unless --format).", Required = true };
        var format = CommonOptions.Format("Format of --out (default: from its name).");
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("the patch summary");
        var command = new Command("apply", "Apply a patch to the base it was created from; any other base is refused (content hashes differ).")
        {
            basePath, patchPath, output, format, force, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var b = CommonOptions.Required(parse.GetValue(basePath), "--base");
            var p = CommonOptions.Required(parse.GetValue(patchPath), "--patch");
            var o = CommonOptions.Required(parse.GetValue(output), "--out");
            var chosen = CommonOptions.OutputFormat(parse.GetValue(format), o);
            CommonOptions.Check(new CommandFiles().CheckpointInput("--base", b).Input("--patch", p).Output("--out", o, chosen), parse.GetValue(force));
            var patch = SparsePatch.Apply(b, p, o, chosen, parse.GetValue(force));
            Summary(console, parse.GetValue(json), "applied", p, patch, new FileInfo(o).Length);
            return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static void Summary(CliConsole console, bool json, string action, string patchPath, SparsePatch patch, long checkpointBytes)
    {
        var patchBytes = new FileInfo(patchPath).Length;
        if (json)
        {
            JsonOutput.Write(console.Out, w =>
            {
                w.WriteStartObject();
                w.WriteString("action", action);
                w.WriteString("patch", patchPath);
                w.WriteString("baseHash", patch.BaseHashHex);
                w.WriteNumber("tensors", patch.Tensors.Count);
                w.WriteNumber("changedElements", patch.ChangedElements);
                w.WriteNumber("patchBytes", patchBytes);
                w.WriteNumber("checkpointBytes", checkpointBytes);
                w.WriteEndObject();
            });
            return;
        }

        console.Out.WriteLine($"{action} {patchPath}: {Format.Count(patch.ChangedElements)} changed elements in {patch.Tensors.Count} tensors; "
            + $"{Format.Count(patchBytes)} bytes against {Format.Count(checkpointBytes)} for the checkpoint");
        console.Out.WriteLine($"base content hash {patch.BaseHashHex}");
    }
}
