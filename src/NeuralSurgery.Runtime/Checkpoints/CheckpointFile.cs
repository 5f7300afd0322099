using System;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>An open data file of a reader (the checkpoint, or one shard).</summary>
internal sealed class CheckpointFile(string path, SafeFileHandle handle, long length) : IDisposable
{
    public string Path { get; } = path;

    public SafeFileHandle Handle { get; } = handle;

    public long Length { get; } = length;

    /// <summary>Read-only, shared with other readers; positioned reads only, so one handle serves many threads.</summary>
    public static CheckpointFile Open(string path)
    {
        var handle = System.IO.File.OpenHandle(path, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.Read, System.IO.FileOptions.None);
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
