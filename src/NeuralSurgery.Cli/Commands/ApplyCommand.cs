using System.CommandLine;
using System.IO;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;

namespace NeuralSurgery.Cli.Commands;

/// <summary><c>surgery apply --plan p --in old --out new</c>: <see cref="PlanExecutor.Apply(NeuralSurgery.Plan.SurgeryPlan, string, string, ApplyOptions?)"/> with progress.</summary>
internal static class ApplyCommand
{
    public static Command Create(CliConsole console)
    {
        var planOption = new Option<string>("--plan") { Description = "The plan JSON (from 'surgery plan --out').", Required = true, HelpName = "plan.json" };
        var input = new Option<string>("--in") { Description = "The old model's checkpoint (never modified).", Required = true, HelpName = "old-checkpoint" };
        var output = new Option<string>("--out") { Description = "The new model's checkpoint to write.", Required = true, HelpName = "new-checkpoint" };
        var format = CommonOptions.Format("Output format; by default from the output's name (*.safetensors, else TorchSharp's).");
        var seed = new Option<int>("--seed") { Description = "Seed of the randomly initialised elements (the same seed gives the same bytes).", HelpName = "N" };
        var ignoreStamp = new Option<bool>("--ignore-stamp")
        {
            Description = "Apply the plan even though --in is stamped as another model version than the plan starts from (names and shapes can agree across versions; by default such a checkpoint is refused).",
        };
        var force = CommonOptions.Force();
        var json = CommonOptions.Json("a summary");
        var command = new Command("apply", "Apply a surgery plan to a checkpoint and write the new model's checkpoint, stamped with the plan's target version.")
        {
            planOption, input, output, format, seed, ignoreStamp, force, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var planPath = CommonOptions.Required(parse.GetValue(planOption), "--plan");
            var inPath = CommonOptions.Required(parse.GetValue(input), "--in");
            var outPath = CommonOptions.Required(parse.GetValue(output), "--out");
            var overwrite = parse.GetValue(force);
            var quiet = parse.GetValue(json);
            var chosen = CommonOptions.OutputFormat(parse.GetValue(format), outPath);
            using var reader = CheckpointReader.Open(inPath);
            CommonOptions.Check(new CommandFiles().Input("--plan", planPath).Input("--in", reader).Output("--out", outPath, chosen), overwrite);
            var plan = PlanJson.Read(InputFile.ReadAllText(planPath, "plan", InputFile.MaxDocumentBytes), planPath);
            var options = new ApplyOptions
            {
                Seed = parse.GetValue(seed),
                Overwrite = overwrite,
                Format = chosen,
                Cancellation = cancellation,
                IgnoreSourceStamp = parse.GetValue(ignoreStamp),
            };
            ProgressDisplay.Run(console, "apply", quiet, update =>
                PlanExecutor.Apply(plan, reader, outPath, options with
                {
                    Progress = new SyncProgress<CheckpointProgress>(p => update(p.TensorsDone, p.TensorCount, p.BytesDone, p.BytesTotal)),
                }));

            var bytes = new FileInfo(outPath).Length;
            var hash = PlanExecutor.PlanHash(plan);
            var totals = plan.Totals;
            if (quiet)
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("in", inPath);
                    w.WriteString("out", outPath);
                    w.WriteString("format", chosen.Name());
                    w.WriteNumber("tensors", plan.Tensors.Count);
                    w.WriteNumber("bytes", bytes);
                    w.WriteString("planSha256", hash);
                    w.WriteNumber("seed", options.Seed);
                    if (PlanExecutor.TargetStamp(plan) is { } stamp)
                    {
                        w.WriteString("stamp", $"{stamp.Model} v{stamp.Version}");
                    }

                    w.WriteNumber("copied", totals.CopiedElements);
                    w.WriteNumber("target", totals.TargetElements);
                    w.WriteNumber("shareOfTarget", totals.ShareOfTarget);
                    w.WriteNumber("shareOfSource", totals.ShareOfSource);
                    w.WriteEndObject();
                });
            }
            else
            {
                console.Out.WriteLine($"wrote {outPath} ({chosen.Name()}, {Format.Count(plan.Tensors.Count)} tensors, {Format.Bytes(bytes)}) from {inPath}: "
                    + $"{Format.Count(totals.CopiedElements)} of {Format.Count(totals.TargetElements)} parameters copied ({Format.Share(totals.ShareOfTarget)}); "
                    + $"plan sha256 {hash}, seed {Format.Number(options.Seed)}");
            }

            return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
