using System;
using System.CommandLine;
using System.IO;
using NeuralSurgery.Cli.Infrastructure;
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
        if (option is null)
        {
            return CheckpointFormats.FromPath(outputPath);
        }

        return CheckpointFormats.TryParse(option, out var format)
            ? format
            : throw new CliException($"--format '{option}': expected torchsharp or safetensors");
    }

    /// <summary>
    /// Refuses an existing output before any work starts (the writers refuse it too, but only after reading the
    /// input); the message says how to replace it.
    /// </summary>
    public static void CheckOutput(string outputPath, bool force)
    {
        if (!force && (File.Exists(outputPath) || Directory.Exists(outputPath)))
        {
            throw new CliException($"{outputPath}: the output already exists; pass --force to replace it");
        }
    }

    public static string Required(string? value, string name) =>
        value ?? throw new InvalidOperationException($"{name} is required but the parser let it through empty.");
}
