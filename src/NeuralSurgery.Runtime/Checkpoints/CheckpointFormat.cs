using System;
using System.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

public enum CheckpointFormat
{
    /// <summary>TorchSharp's <c>Module.save</c>/<c>Module.load</c> format (TORCHSHARP.md); metadata in a sidecar.</summary>
    TorchSharp,

    /// <summary>safetensors: one file, or (reading only) shards listed by a <c>*.index.json</c>.</summary>
    Safetensors,
}

/// <summary>Format names and detection by file name.</summary>
public static class CheckpointFormats
{
    /// <summary>
    /// <c>*.safetensors</c> and <c>*.index.json</c> are safetensors; anything else (<c>.bin</c>, <c>.dat</c>,
    /// <c>.pt</c>, ...) is TorchSharp's format, which has no magic number to detect it by.
    /// </summary>
    public static CheckpointFormat FromPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || IsIndexPath(path)
            ? CheckpointFormat.Safetensors
            : CheckpointFormat.TorchSharp;
    }

    /// <summary>A sharded safetensors index: a <c>.json</c> file (conventionally <c>*.safetensors.index.json</c>).</summary>
    public static bool IsIndexPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Path.GetFileName(path).EndsWith(".json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>"torchsharp" or "safetensors", any case (command-line spelling).</summary>
    public static bool TryParse(string text, out CheckpointFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.Equals(text, "torchsharp", StringComparison.OrdinalIgnoreCase))
        {
            format = CheckpointFormat.TorchSharp;
            return true;
        }

        if (string.Equals(text, "safetensors", StringComparison.OrdinalIgnoreCase))
        {
            format = CheckpointFormat.Safetensors;
            return true;
        }

        format = default;
        return false;
    }

    /// <summary>The command-line spelling: "torchsharp" or "safetensors".</summary>
    public static string Name(this CheckpointFormat format) => format switch
    {
        CheckpointFormat.TorchSharp => "torchsharp",
        CheckpointFormat.Safetensors => "safetensors",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Not a defined CheckpointFormat value."),
    };
}
