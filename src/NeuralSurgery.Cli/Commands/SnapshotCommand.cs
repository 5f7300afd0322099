using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.IO;
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
        var torchSharp = ModelOptions.TorchSharp();
        var add = new Command("add", "Record the model class (graph and schema) as the next version of its snapshot chain; nothing when it equals the latest.")
        {
            model, @class, schema, dir, fromGit, torchSharp,
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
            var recorded = SnapshotFolder.Add(folder, loaded.Name, loaded.MetadataName, Path.GetFileName(loaded.SchemaPath ?? schemaPath!), schemaText, loaded.Graph);
            // Relative where the file is under the current folder (as a user types it), else in full.
            var relative = Path.GetRelativePath(Environment.CurrentDirectory, recorded.Path);
            var shown = relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? recorded.Path : relative;
            if (!recorded.Added)
            {
                console.Out.WriteLine($"{loaded.Name} is unchanged since {recorded.Snapshot.Label} ({shown}): nothing recorded");
                return Task.FromResult(ExitCodes.Ok);
            }

            console.Out.WriteLine($"recorded {recorded.Snapshot.Label} in {shown}{(rev is null ? string.Empty : " (as of " + rev + ")")}");
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

    private static Option<string?> Folder() => new("--dir")
    {
        Description = "The snapshot folder (default: Snapshots next to the model file).",
        HelpName = "folder",
    };
}
