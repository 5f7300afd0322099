using System;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>The files a checkpoint input or output stands for, for <see cref="CommandFiles"/>.</summary>
public static class CheckpointFiles
{
    /// <summary>Every file <paramref name="reader"/> read: the checkpoint, an index's shards, a metadata sidecar.</summary>
    public static CommandFiles Input(this CommandFiles files, string role, CheckpointReader reader)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(reader);
        return files.Inputs(role, reader.InputFiles);
    }

    /// <summary>
    /// The checkpoint <paramref name="path"/> and, for TorchSharp's format, its metadata sidecar, which the writer
    /// creates or deletes: neither may be an input or another output. A safetensors path named *.json (a sharded
    /// index, which the writer refuses) is refused by the check.
    /// </summary>
    public static CommandFiles Output(this CommandFiles files, string role, string path, CheckpointFormat format)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(path);
        files.Output(role, path, replaces: true, format == CheckpointFormat.Safetensors && CheckpointFormats.IsIndexPath(path)
            ? "a safetensors output named *.json would be a sharded index, which is not written; name it *.safetensors"
            : null);
        if (format == CheckpointFormat.TorchSharp)
        {
            files.Output(role + " (metadata sidecar)", MetadataSidecar.PathFor(path), replaces: false);
        }

        return files;
    }
}
