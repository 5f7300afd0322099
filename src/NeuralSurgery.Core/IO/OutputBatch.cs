using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;

namespace NeuralSurgery.IO;

/// <summary>
/// Outputs that appear together or not at all. Each output is written to a temporary file in its target's folder
/// (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>, so the rename is atomic); <see cref="Commit"/> flushes every one to disk and
/// only then renames them into place, in the order they were added. <see cref="Dispose"/> without a commit deletes
/// every temporary file, so a failure while any output is written leaves no output and no temporary file behind.
/// A single output is a batch of one.
/// </summary>
/// <remarks>
/// If a rename itself fails (the folder vanished between writing and renaming), the outputs this batch had already
/// created are deleted again; a file it had already replaced cannot be brought back, and the error says so.
/// </remarks>
public sealed class OutputBatch : IDisposable
{
    private readonly List<Pending> _pending = [];
    private bool _committed;
    private bool _disposed;

    /// <summary>
    /// Starts the output <paramref name="path"/>: a new temporary file beside it, open for writing. The stream
    /// belongs to the batch: <see cref="Commit"/> flushes it to disk and closes it (a caller may close it earlier).
    /// </summary>
    /// <exception cref="IOException">The target is a folder, exists without <paramref name="overwrite"/>, or is already in the batch.</exception>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    public FileStream Create(string path, bool overwrite, long preallocationSize = 0)
    {
        var full = Reserve(path, overwrite);
        var temp = TempPathFor(full);
        var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 1 << 16,
            PreallocationSize = preallocationSize,
        });
        _pending.Add(new Pending(full, temp, overwrite) { Stream = stream });
        return stream;
    }

    /// <summary>An output whose whole content is at hand.</summary>
    public void WriteAllBytes(string path, ReadOnlySpan<byte> content, bool overwrite)
    {
        var stream = Create(path, overwrite, content.Length);
        stream.Write(content);
    }

    /// <summary>A file removed at <see cref="Commit"/>, after the renames (a metadata sidecar that would describe other contents).</summary>
    public void Delete(string path)
    {
        var full = Reserve(path, overwrite: true);
        _pending.Add(new Pending(full, null, true));
    }

    /// <summary>The temporary file an output of this batch is being written to (to read it back before the commit).</summary>
    public string TempPathOf(string path)
    {
        var full = Path.GetFullPath(path);
        return _pending.Find(p => p.Temp is not null && string.Equals(p.Final, full, FileIdentity.Comparison))?.Temp
            ?? throw new InvalidOperationException($"{path} is not an output of this batch.");
    }

    /// <summary>Drops an output (its writer failed): its temporary file is deleted and the commit leaves it out.</summary>
    public void Abandon(string path)
    {
        var full = Path.GetFullPath(path);
        foreach (var p in _pending.FindAll(p => string.Equals(p.Final, full, FileIdentity.Comparison)))
        {
            p.Close();
            TryDelete(p.Temp);
            _pending.Remove(p);
        }
    }

    /// <summary>Flushes every output to disk, then renames each into place (and deletes what was to be deleted).</summary>
    /// <exception cref="IOException">A write or rename failed; no output of the batch is left that was not there before.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
        {
            throw new InvalidOperationException("The outputs are already committed.");
        }

        foreach (var p in _pending)
        {
            if (p.Stream is { CanWrite: true } stream)
            {
                stream.Flush(flushToDisk: true);
            }

            p.Close();
        }

        var created = new List<string>();
        var replaced = new List<string>();
        try
        {
            foreach (var p in _pending)
            {
                if (p.Temp is null)
                {
                    File.Delete(p.Final);
                    continue;
                }

                var existed = File.Exists(p.Final);
                try
                {
                    File.Move(p.Temp, p.Final, p.Overwrite);
                }
                catch (IOException ex) when (!p.Overwrite && File.Exists(p.Final))
                {
                    throw new IOException($"{p.Final} was created by someone else while it was being written; refusing to overwrite it", ex);
                }

                p.Temp = null;
                (existed ? replaced : created).Add(p.Final);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            foreach (var path in created)
            {
                TryDelete(path);
            }

            var lost = replaced.Count == 0 ? string.Empty : $" ({string.Join(", ", replaced)} had already been replaced)";
            throw new IOException($"the outputs could not all be put in place: {ex.Message}{lost}", ex);
        }

        _committed = true;
    }

    /// <summary>Closes the streams; without a successful <see cref="Commit"/>, deletes every temporary file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var p in _pending)
        {
            p.Close();
            if (!_committed)
            {
                TryDelete(p.Temp);
            }
        }
    }

    private string Reserve(string path, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
        {
            throw new InvalidOperationException("The outputs are already committed.");
        }

        var full = Path.GetFullPath(path);
        if (_pending.Exists(p => string.Equals(p.Final, full, FileIdentity.Comparison)))
        {
            throw new IOException($"{path}: written twice by one operation; each output needs a file of its own");
        }

        if (Directory.Exists(full))
        {
            throw new IOException($"{path}: is a folder; expected a file to write");
        }

        var folder = Path.GetDirectoryName(full) ?? throw new IOException($"{path}: has no folder to write into");
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"{path}: the folder '{folder}' does not exist");
        }

        if (!overwrite && File.Exists(full))
        {
            throw new IOException($"{path}: the output already exists; refusing to overwrite it");
        }

        return full;
    }

    private static string TempPathFor(string fullPath)
    {
        var folder = Path.GetDirectoryName(fullPath)!;
        var random = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        return Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(fullPath)}.{random}.tmp"));
    }

    private static void TryDelete(string? path)
    {
        if (path is null)
        {
            return;
        }

        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the name ends in .tmp so a user can tell what it was.
        }
    }

    private sealed class Pending(string final, string? temp, bool overwrite)
    {
        public string Final { get; } = final;

        /// <summary>Null for a deletion, and once renamed.</summary>
        public string? Temp { get; set; } = temp;

        public bool Overwrite { get; } = overwrite;

        public FileStream? Stream { get; set; }

        public void Close()
        {
            try
            {
                Stream?.Dispose();
            }
            catch (IOException)
            {
                // Flushing a failed write fails again; the temporary file is deleted anyway.
            }

            Stream = null;
        }
    }
}
