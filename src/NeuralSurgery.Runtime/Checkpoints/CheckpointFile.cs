using System;
using Microsoft.Win32.SafeHandles;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>An open data file of a reader (the checkpoint, or one shard).</summary>
internal sealed class CheckpointFile(string path, SafeFileHandle handle, long length) : IDisposable
{
    public string Path { get; } = path;

    public SafeFileHandle Handle { get; } = handle;

    public long Length { get; } = length;

    /// <summary>
    /// Read-only, shared with other readers; positioned reads only, so one handle serves many threads. Only a
    /// regular file is opened (<see cref="InputFile"/>): a FIFO named as a checkpoint or shard would block forever.
    /// </summary>
    public static CheckpointFile Open(string path)
    {
        var handle = InputFile.OpenHandle(path);
        try
        {
            return new CheckpointFile(path, handle, System.IO.RandomAccess.GetLength(handle));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose() => Handle.Dispose();
}
