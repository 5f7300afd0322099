using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// A checkpoint file (or its index or metadata sidecar) is not what its format says: truncated, corrupt or
/// hostile. The message names the file, the tensor when known, the byte offset, and what was expected.
/// </summary>
/// <remarks>
/// An <see cref="IOException"/>, so a command line can treat it like a missing file: a user error with a
/// one-line message. Readers throw nothing else for bad content.
/// </remarks>
public sealed class CheckpointFormatException : IOException
{
    public CheckpointFormatException()
    {
    }

    public CheckpointFormatException(string message)
        : base(message)
    {
    }

    public CheckpointFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CheckpointFormatException(string filePath, long? offset, string? tensorName, string detail, Exception? innerException = null)
        : base(Format(filePath, offset, tensorName, detail), innerException)
    {
        FilePath = filePath;
        Offset = offset;
        TensorName = tensorName;
        Detail = detail;
    }

    /// <summary>The file at fault: the checkpoint, a shard, the index or the sidecar.</summary>
    public string? FilePath { get; }

    /// <summary>Byte offset in <see cref="FilePath"/> where the problem was found, when it has one.</summary>
    public long? Offset { get; }

    /// <summary>The tensor concerned, when it is known.</summary>
    public string? TensorName { get; }

    /// <summary>The message without the location prefix: what was found and what was expected.</summary>
    public string? Detail { get; }

    private static string Format(string filePath, long? offset, string? tensorName, string detail)
    {
        var builder = new StringBuilder(filePath);
        if (tensorName is not null)
        {
            builder.Append(": tensor '").Append(tensorName).Append('\'');
        }

        if (offset is { } at)
        {
            builder.Append(tensorName is null ? ": " : ", ").Append("byte ").Append(at.ToString(CultureInfo.InvariantCulture));
        }

        return builder.Append(": ").Append(detail).ToString();
    }
}
