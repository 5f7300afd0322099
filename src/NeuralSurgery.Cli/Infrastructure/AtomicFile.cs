using System;
using System.IO;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>Small outputs (plans) written as checkpoints are: a temporary file beside the target, flushed, renamed.</summary>
internal static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new IOException($"{path}: has no folder to write into");
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{path}: the folder '{folder}' does not exist");
        }

        var temp = Path.Combine(folder, Path.GetFileName(full) + "." + Path.GetRandomFileName() + ".tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
