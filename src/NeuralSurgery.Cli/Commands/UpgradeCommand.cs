using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.IO;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery upgrade ckpt --snapshots Snapshots --to latest --out new</c>: finds which recorded version the
/// checkpoint is of (its stamp, else its names and shapes), plans every step from there to the target version from
/// the snapshots, and applies the chain in one go (<see cref="ChainExecutor"/>); the output is stamped.
/// </summary>
internal static class UpgradeCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new Argument<string>("checkpoint") { Description = "The checkpoint to upgrade (never modified).", HelpName = "checkpoint" };
        var snapshots = new Option<string>("--snapshots") { Description = "The model's snapshot folder (surgery snapshot add).", Required = true, HelpName = "folder" };
        var model = new Option<string?>("--model") { Description = "The model, when the folder holds snapshots of several.", HelpName = "Name" };
        var to = new Option<string>("--to") { Description = "The version to upgrade to: latest (the default) or a number.", HelpName = "latest|N", DefaultValueFactory = _ => "latest" };
        var from = new Option<int?>("--from-version") { Description = "The checkpoint's version, where it has no stamp and its names and shapes fit several.", HelpName = "N" };
        var output = new Option<string>("--out") { Description = "The upgraded checkpoint to write.", Required = true, HelpName = "new-checkpoint" };
        var format = CommonOptions.Format("Output format; by default from the output's name (*.safetensors, else TorchSharp's).");
        var seed = new Option<int>("--seed") { Description = "Seed of the randomly initialised elements (the same seed gives the same bytes).", HelpName = "N" };
        var force = CommonOptions.Force();
        var command = new Command("upgrade", "Upgrade a checkpoint of any recorded model version to a later one through the snapshot chain, in one pass.")
        {
            input, snapshots, model, to, from, output, format, seed, force,
        };
        command.SetAction((parse, cancellation) =>
        {
            var inPath = CommonOptions.Required(parse.GetValue(input), "checkpoint");
            var outPath = CommonOptions.Required(parse.GetValue(output), "--out");
            var folder = CommonOptions.Required(parse.GetValue(snapshots), "--snapshots");
            var overwrite = parse.GetValue(force);
            var chosen = CommonOptions.OutputFormat(parse.GetValue(format), outPath);
            if (!Directory.Exists(folder))
            {
                throw new CliException($"--snapshots {folder}: no such folder");
            }

            var all = SnapshotFolder.Load(folder);
            var names = all.Select(s => s.Model).Distinct(StringComparer.Ordinal).ToList();
            var name = parse.GetValue(model) ?? names.Count switch
            {
                0 => throw new CliException($"--snapshots {folder}: no snapshots; record the model with 'surgery snapshot add'"),
                1 => names[0],
                _ => throw new CliException($"--snapshots {folder}: snapshots of several models ({string.Join(", ", names)}); pick one with --model"),
            };
            var chain = SnapshotFolder.Chain(folder, name);
            if (chain.Versions.Count == 0)
            {
                throw new CliException($"--model {name}: {folder} has no snapshots of it; models there: {string.Join(", ", names)}");
            }

            var target = Target(parse.GetValue(to) ?? "latest", chain);
            using var reader = CheckpointReader.Open(inPath);
            CommonOptions.Check(new CommandFiles().Input("checkpoint", reader).Output("--out", outPath, chosen), overwrite);

            var candidates = chain.Versions.Select(s => VersionCandidate.FromGraph(s.Model, s.Version, s.Fingerprint, s.Graph)).ToList();
            int start;
            if (parse.GetValue(from) is { } given)
            {
                if (given < 1 || given > chain.Versions.Count)
                {
                    throw new CliException($"--from-version {given}: {name} has versions 1 to {chain.Versions.Count}");
                }

                // A given version must still fit the checkpoint: a wrong number would scramble the weights.
                var problems = VersionDetector.Mismatches(reader, candidates[given - 1]);
                if (problems.Count > 0)
                {
                    throw new CliException($"--from-version {given}: {inPath} is not of {candidates[given - 1].Label}: {string.Join("; ", problems.Take(5))}");
                }

                start = given;
                console.Out.WriteLine($"{inPath}: {candidates[given - 1].Label} (--from-version)");
            }
            else
            {
                var detected = VersionDetector.Detect(reader, inPath, candidates);
                start = detected.Version.Version;
                console.Out.WriteLine($"{inPath}: {detected.Version.Label} ({(detected.Stamped ? "stamped" : "by its names and shapes")})");
            }

            if (start >= target)
            {
                throw new CliException($"{inPath} is of {name} v{start}; --to {target} is {(start == target ? "the same version" : "older")}: nothing to upgrade");
            }

            var steps = chain.Steps(start, target, cancellation);
            var composition = PlanComposer.Compose(steps);
            var latest = chain.Versions[target - 1];
            var options = new ApplyOptions
            {
                Seed = parse.GetValue(seed),
                Overwrite = overwrite,
                Format = chosen,
                Cancellation = cancellation,
                Stamp = new CheckpointStamp(name, target, latest.Fingerprint),
            };
            reader.Dispose();
            ChainExecutor.Apply(steps, inPath, outPath, options);

            var totals = composition.Plan.Totals;
            var how = composition.IsExact
                ? $"{Format.Plural(steps.Count, "step")} composed into one plan"
                : $"{Format.Plural(steps.Count, "step")} applied one by one in memory (one plan would differ: {string.Join("; ", composition.Inexact.Take(3))})";
            console.Out.WriteLine($"upgraded to {latest.Label}: {how}; {Format.Count(totals.CopiedElements)} of {Format.Count(totals.TargetElements)} parameters carried over ({Format.Share(totals.ShareOfTarget)})");
            foreach (var note in composition.Plan.Notes.Where(n => !n.StartsWith("not exact: ", StringComparison.Ordinal)))
            {
                console.Out.WriteLine("  - " + ErrorReport.OneLine(note));
            }

            console.Out.WriteLine($"wrote {outPath} (stamped {latest.Label})");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static int Target(string value, SnapshotChain chain)
    {
        if (string.Equals(value, "latest", StringComparison.OrdinalIgnoreCase))
        {
            return chain.Versions.Count;
        }

        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number >= 1 && number <= chain.Versions.Count
            ? number
            : throw new CliException($"--to {value}: expected latest or a version from 1 to {chain.Versions.Count} of {chain.Model}");
    }
}
