using System;
using System.IO;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>Rewrites a checkpoint in another format, tensor by tensor, with memory bounded by a 1 MiB buffer.</summary>
public static class CheckpointConverter
{
    /// <summary>
    /// Reads <paramref name="inputPath"/> (format by name unless <paramref name="inputFormat"/>; sharded indexes too)
    /// and writes every tensor, in order, with the metadata, to <paramref name="outputPath"/> in <paramref name="format"/>.
    /// Names, order, dtypes, shapes and bytes are preserved. The input is never modified; the output appears
    /// atomically or not at all.
    /// </summary>
    /// <exception cref="IOException">Output and input are the same file, or the output exists without overwrite.</exception>
    /// <exception cref="CheckpointFormatException">The input is not a valid checkpoint.</exception>
    public static void Convert(
        string inputPath,
        string outputPath,
        CheckpointFormat format,
        bool overwrite = false,
        CheckpointFormat? inputFormat = null,
        IProgress<CheckpointProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(inputPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        using var reader = CheckpointReader.Open(inputPath, inputFormat);
        new CommandFiles()
            .Input("the checkpoint being converted", reader)
            .Output("the output", outputPath, format)
            .Check(overwrite);
        Copy(reader, outputPath, format, overwrite, progress);
    }

    /// <summary>Writes every tensor and the metadata of <paramref name="source"/> to a new checkpoint.</summary>
    public static void Copy(
        ITensorSource source,
        string outputPath,
        CheckpointFormat format,
        bool overwrite = false,
        IProgress<CheckpointProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var tensors = source.Tensors;
        long total = 0;
        foreach (var tensor in tensors)
        {
            total += tensor.ByteLength;
        }

        using var writer = CheckpointWriter.Create(outputPath, format, tensors, source.Metadata, overwrite);
        long done = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            writer.CopyTensor(tensors[i].Name, source, tensors[i]);
            done += tensors[i].ByteLength;
            progress?.Report(new CheckpointProgress(i + 1, tensors.Count, tensors[i].Name, done, total));
        }

        writer.Commit();
    }
}
