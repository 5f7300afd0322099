using System;
using System.CommandLine;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Commands;

/// <summary>Options several commands share, spelled the same everywhere.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json(string what) => new("--json") { Description = "Write " + what + " as JSON on stdout (no tables, no progress)." };

    public static Option<bool> Force() => new("--force") { Description = "Replace the output file if it exists." };

    public static Option<string?> Format(string description)
    {
        var option = new Option<string?>("--format") { Description = description, HelpName = "torchsharp|safetensors" };
        option.AcceptOnlyFromAmong("torchsharp", "safetensors");
        return option;
    }

    /// <summary>The output format: the option's, or from the output's name (*.safetensors, else TorchSharp).</summary>
    public static CheckpointFormat OutputFormat(string? option, string outputPath)
    {
        // A *.json safetensors output (a sharded index, not written) is refused by the file rule (CheckpointFiles.Output).
        return option is null ? CheckpointFormats.FromPath(outputPath)
            : CheckpointFormats.TryParse(option, out var parsed) ? parsed
            : throw new CliException($"--format '{option}': expected torchsharp or safetensors");
    }

    /// <summary>
    /// The one rule for every command's files (<see cref="CommandFiles.Check"/>), before any work starts: inputs are
    /// regular files; an output is never an input or another output, with or without --force; an existing output
    /// is replaced only with --force.
    /// </summary>
    public static void Check(CommandFiles files, bool force)
    {
        ArgumentNullException.ThrowIfNull(files);
        files.Check(force, "--force");
    }

    /// <summary>A checkpoint input: every file reading it opens (the file or index, the shards, a metadata sidecar).</summary>
    public static CommandFiles CheckpointInput(this CommandFiles files, string option, string path)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var reader = CheckpointReader.Open(path);
        return files.Input(option, reader);
    }

    public static string Required(string? value, string name) =>
        value ?? throw new InvalidOperationException($"{name} is required but the parser let it through empty.");
}
