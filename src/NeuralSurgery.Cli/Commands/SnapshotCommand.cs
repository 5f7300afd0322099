using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery snapshot add Model.cs</c>: records the model class as the next version in its snapshot folder (or says
/// it is unchanged); <c>--from-git rev</c> records it as it was at an older commit. <c>surgery snapshot list</c>
/// prints the chains of a folder.
/// </summary>
internal static class SnapshotCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The model's C# source (*.cs), as it builds with the package.", HelpName = "Model.cs" };
        var @class = ModelOptions.Class("--class", "the model");
        var schema = ModelOptions.Schema("--schema", "The model");
        var dir = Folder();
        var fromGit = new Option<string?>("--from-git")
        {
            Description = "Record the class as it was at this commit (git show rev:path), e.g. to adopt snapshots for checkpoints of past versions; record the oldest first.",
            HelpName = "rev",
        };
        var plan = new Option<string[]>("--plan")
        {
            Description = "The plan (surgery prune or grow) that made this version from the latest, or several made one after the other (repeat, in order): recorded as its step, so checkpoints of the latest keep the units the plans kept. By default the project's *.plan.json files are searched for plans from the latest version to the class.",
            HelpName = "plan.json",
        };
        var torchSharp = ModelOptions.TorchSharp();
        var add = new Command("add", "Record the model class (graph and schema) as the next version of its snapshot chain; nothing when it equals the latest.")
        {
            model, @class, schema, dir, fromGit, plan, torchSharp,
        };
        add.SetAction((parse, cancellation) =>
        {
            var path = CommonOptions.Required(parse.GetValue(model), "model");
            if (!ModelSourceLoader.IsSource(path))
            {
                throw new CliException($"{path}: expected C# model source (*.cs)");
            }

            var rev = parse.GetValue(fromGit);
            var schemaPath = parse.GetValue(schema);
            if (rev is not null && schemaPath is not null)
            {
                throw new CliException("--from-git reads the schema the class named at that commit; leave out --schema");
            }

            var loaded = rev is null
                ? ModelSourceLoader.LoadModel([path], schemaPath is null ? null : FeatureSchemaReader.Load(schemaPath), parse.GetValue(@class), parse.GetValue(torchSharp), console, cancellation)
                : GitSource.Load(path, rev, parse.GetValue(@class), parse.GetValue(torchSharp), console, cancellation);
            var schemaText = loaded.SchemaText ?? (schemaPath is null ? null : InputFile.ReadAllText(schemaPath, "feature schema", InputFile.MaxSourceBytes));
            if (loaded.Schema is null || schemaText is null)
            {
                throw new CliException($"{path}: {loaded.Name} has no [SurgeryModel(\"….features.yaml\")] and no --schema was given; a snapshot records the graph with its schema");
            }

            var folder = parse.GetValue(dir) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, SnapshotFolder.DefaultName);
            var before = SnapshotFolder.Chain(folder, loaded.Name).Latest;
            var current = ModelSnapshot.FingerprintOf(loaded.Graph, loaded.Schema);
            // A named plan always goes to Add, which says why it does not fit; one is searched for only after a change.
            var step = parse.GetValue(plan) is { Length: > 0 } planPaths ? planPaths.Select(ReadPlan).ToList()
                : before is null || before.Fingerprint == current ? null
                : FindPlans(path, before.Fingerprint, current, console);
            SnapshotRecorded recorded;
            try
            {
                recorded = SnapshotFolder.Add(folder, loaded.Name, loaded.MetadataName, Path.GetFileName(loaded.SchemaPath ?? schemaPath!), schemaText, loaded.Graph, step?.Select(p => p.Plan).ToList());
            }
            catch (InvalidDataException e) when (step is not null)
            {
                throw new CliException($"{string.Join(", ", step.Select(p => p.Path))}: {e.Message}");
            }

            // Relative where the file is under the current folder (as a user types it), else in full.
            var relative = Path.GetRelativePath(Environment.CurrentDirectory, recorded.Path);
            var shown = relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? recorded.Path : relative;
            if (!recorded.Added)
            {
                console.Out.WriteLine($"{loaded.Name} is unchanged since {recorded.Snapshot.Label} ({shown}): nothing recorded");
                return Task.FromResult(ExitCodes.Ok);
            }

            console.Out.WriteLine($"recorded {recorded.Snapshot.Label} in {shown}{(rev is null ? string.Empty : " (as of " + rev + ")")}{(step is null ? string.Empty : ", with the plan" + (step.Count > 1 ? "s " : " ") + string.Join(", ", step.Select(p => p.Path)) + " as its step")}");
            if (before is not null)
            {
                console.Out.WriteLine($"changes since {before.Label}:");
                foreach (var change in ModelChanges.Describe(before.Graph, before.ReadSchema(), loaded.Graph, loaded.Schema))
                {
                    console.Out.WriteLine("  - " + change);
                }
            }

            return Task.FromResult(ExitCodes.Ok);
        });

        var listDir = new Argument<string>("folder") { Description = "A snapshot folder.", HelpName = "Snapshots" };
        var list = new Command("list", "Print the snapshot chains of a folder: per model, each version with its schema version, parameters and fingerprint.") { listDir };
        list.SetAction(parse =>
        {
            var folder = CommonOptions.Required(parse.GetValue(listDir), "folder");
            if (!Directory.Exists(folder))
            {
                throw new CliException($"{folder}: no such folder");
            }

            var snapshots = SnapshotFolder.Load(folder);
            if (snapshots.Count == 0)
            {
                console.Out.WriteLine($"{folder}: no snapshots");
                return ExitCodes.Ok;
            }

            var table = Tables.Create(console, "model", ">version", ">schema version", ">parameters", "fingerprint", "class");
            foreach (var s in snapshots)
            {
                Tables.Row(table, s.Model, "v" + s.Version, s.ReadSchema().Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Format.Count(s.Graph.Parameters.Where(p => !p.IsBuffer).Sum(p => p.ElementCount)), s.Fingerprint[..12], s.ClassName);
            }

            Tables.Write(console, table);
            foreach (var name in snapshots.Select(s => s.Model).Distinct())
            {
                // A gap is reported, not hidden: checkpoints of versions before it cannot be upgraded.
                SnapshotChain.Of(name, snapshots, out var problem);
                if (problem is not null)
                {
                    console.Out.WriteLine("problem: " + problem);
                }
            }

            return ExitCodes.Ok;
        });
        return new Command("snapshot", "Snapshots of model classes edited in place: one file per version, checked in beside the model.") { add, list };
    }

    private static (string Path, SurgeryPlan Plan) ReadPlan(string path) =>
        (path, PlanJson.Read(InputFile.ReadAllText(path, "plan", InputFile.MaxDocumentBytes), path));

    /// <summary>
    /// The plan files of the project (the folder with the model's .csproj, else the model's folder; bin and obj left
    /// out, as the build leaves them out of its AdditionalFiles) that lead from the latest version to the class, one
    /// after the other. Chains that keep different units are an error: which units a checkpoint keeps must not
    /// depend on file order.
    /// </summary>
    private static List<(string Path, SurgeryPlan Plan)>? FindPlans(string modelPath, string from, string to, CliConsole console)
    {
        var root = ProjectFolder.Of(modelPath);
        var all = new List<(string Path, SurgeryPlan Plan)>();
        foreach (var file in ProjectFolder.Files(root, PlanJson.FileSuffix))
        {
            var text = InputFile.ReadAllText(file, "plan", InputFile.MaxDocumentBytes);
            if (!PlanJson.ClaimsFormat(text))
            {
                continue;
            }

            try
            {
                all.Add((Path.GetRelativePath(Environment.CurrentDirectory, file), PlanJson.Read(text, file)));
            }
            catch (JsonFormatException e)
            {
                console.Error.WriteLine($"warning: {e.Message}");
            }
        }

        IReadOnlyList<IReadOnlyList<(string Path, SurgeryPlan Plan)>> chains;
        try
        {
            chains = SnapshotSteps.DistinctChains(all, p => p.Plan, from, to);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"the project's plan files do not chain: {e.Message}");
        }

        return chains.Count switch
        {
            0 => null,
            1 => chains[0].ToList(),
            _ => throw new CliException($"{chains.Count} sets of plans lead from the latest version to the class and keep different units ({string.Join("; ", chains.Select(c => string.Join(" + ", c.Select(p => p.Path))))}); name the ones that made the checkpoints with --plan, in order"),
        };
    }

    private static Option<string?> Folder() => new("--dir")
    {
        Description = "The snapshot folder (default: Snapshots next to the model file).",
        HelpName = "folder",
    };
}
