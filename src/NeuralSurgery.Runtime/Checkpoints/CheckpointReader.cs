using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// An open checkpoint: its tensor table and metadata are read on <see cref="Open"/>; tensor data is read on
/// demand by positioned reads (<see cref="RandomAccess"/>), so memory is bounded by what a caller asks for, never
/// by the file. Files stay open (shared for reading) until <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// <see cref="Read"/> is safe to call from several threads at once. A file that shrinks while open gives a
/// <see cref="CheckpointFormatException"/> from <see cref="Read"/>.
/// </remarks>
public sealed class CheckpointReader : ITensorSource, IDisposable
{
    private readonly CheckpointFile[] _files;
    private readonly TensorLocation[] _locations;
    private readonly Dictionary<string, int> _byName;
    private bool _disposed;

    private CheckpointReader(
        string path,
        CheckpointFormat format,
        List<CheckpointFile> files,
        List<TensorLocation> locations,
        List<KeyValuePair<string, string>> metadata,
        string? sidecarPath,
        List<string> warnings,
        List<string> inputFiles)
    {
        Path = path;
        Format = format;
        _files = files.ToArray();
        _locations = locations.ToArray();
        _byName = new Dictionary<string, int>(_locations.Length, StringComparer.Ordinal);
        var tensors = new TensorInfo[_locations.Length];
        for (var i = 0; i < _locations.Length; i++)
        {
            tensors[i] = _locations[i].Info;
            _byName.Add(tensors[i].Name, i);
        }

        Tensors = Array.AsReadOnly(tensors);
        var ordered = new OrderedDictionary<string, string>(metadata.Count, StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            ordered.Add(key, value);
        }

        Metadata = new ReadOnlyDictionary<string, string>(ordered);
        var dataFiles = new string[_files.Length];
        for (var i = 0; i < _files.Length; i++)
        {
            dataFiles[i] = _files[i].Path;
        }

        DataFiles = Array.AsReadOnly(dataFiles);
        MetadataSidecarPath = sidecarPath;
        Warnings = warnings.AsReadOnly();
        InputFiles = inputFiles.AsReadOnly();
    }

    /// <summary>The path given to <see cref="Open"/> (the index, for a sharded checkpoint).</summary>
    public string Path { get; }

    public CheckpointFormat Format { get; }

    /// <summary>True for a safetensors checkpoint opened through its <c>*.index.json</c>.</summary>
    public bool IsSharded => Format == CheckpointFormat.Safetensors && CheckpointFormats.IsIndexPath(Path);

    /// <summary>The files holding tensor data: the checkpoint itself, or the shards in order of first use.</summary>
    public IReadOnlyList<string> DataFiles { get; }

    /// <summary>The TorchSharp metadata sidecar the metadata came from, or null.</summary>
    public string? MetadataSidecarPath { get; }

    /// <summary>
    /// Every file this reader read: the checkpoint (or the index and its shards) and a TorchSharp checkpoint's
    /// metadata sidecar when there is one, used or stale. An output must be none of them.
    /// </summary>
    public IReadOnlyList<string> InputFiles { get; }

    /// <summary>Things worth telling a user that do not stop reading (a stale metadata sidecar, ignored).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>
    /// safetensors: <c>__metadata__</c>; sharded: the index's <c>metadata</c> (non-string scalars as JSON text), then
    /// keys of the shards' <c>__metadata__</c> that the index lacks; TorchSharp: the sidecar's, when it matches.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Opens a checkpoint: <paramref name="format"/>, or by name (<see cref="CheckpointFormats.FromPath"/>):
    /// <c>*.safetensors</c>, <c>*.index.json</c> (sharded), anything else TorchSharp's format.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The content is not a valid checkpoint of that format.</exception>
    /// <exception cref="IOException">The file cannot be opened (missing, a folder, ...).</exception>
    public static CheckpointReader Open(string path, CheckpointFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var chosen = format ?? CheckpointFormats.FromPath(path);
        var warnings = new List<string>();
        if (chosen == CheckpointFormat.Safetensors && CheckpointFormats.IsIndexPath(path))
        {
            var sharded = ShardIndex.Open(path);
            return new CheckpointReader(path, chosen, sharded.Files, sharded.Tensors, sharded.Metadata, null, warnings,
                [path, .. sharded.Files.ConvertAll(f => f.Path)]);
        }

        var file = CheckpointFile.Open(path);
        try
        {
            if (chosen == CheckpointFormat.Safetensors)
            {
                var header = SafetensorsCodec.ReadHeader(path, file.Handle, file.Length, 0);
                return new CheckpointReader(path, chosen, [file], header.Tensors, header.Metadata, null, warnings, [path]);
            }

            List<TensorLocation> tensors;
            try
            {
                tensors = TorchSharpCodec.Scan(path, file.Handle, file.Length, 0);
            }
            catch (CheckpointFormatException ex) when (ex.Detail is not null && LooksLikeSafetensors(file))
            {
                throw new CheckpointFormatException(path, ex.Offset, ex.TensorName,
                    ex.Detail + " (the file looks like safetensors: name it *.safetensors or open it as CheckpointFormat.Safetensors)", ex);
            }

            var sidecar = MetadataSidecar.PathFor(path);
            var metadata = MetadataSidecar.Read(sidecar, file.Handle, file.Length, out var warning);
            if (warning is not null)
            {
                warnings.Add(warning);
            }

            List<string> inputs = InputFile.KindOf(sidecar) == FileKind.Missing ? [path] : [path, sidecar];
            return new CheckpointReader(path, chosen, [file], tensors, metadata ?? [], metadata is null ? null : sidecar, warnings, inputs);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public TensorInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var i) ? _locations[i].Info : null;
    }

    /// <summary>The data file that holds <paramref name="tensor"/> (a shard path for sharded checkpoints).</summary>
    public string DataFileOf(TensorInfo tensor) => _files[Locate(tensor).File].Path;

    public void Read(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var location = Locate(tensor);
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        if (byteOffset > tensor.ByteLength || destination.Length > tensor.ByteLength - byteOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"Bytes [{byteOffset}, {byteOffset + destination.Length}) are outside tensor '{tensor.Name}' ({tensor.ByteLength} bytes).");
        }

        var file = _files[location.File];
        var at = location.Offset + byteOffset;
        var n = FileRead.ReadAtMost(file.Handle, destination, at);
        if (n < destination.Length)
        {
            throw new CheckpointFormatException(file.Path, at + n, tensor.Name,
                $"the file ends before the tensor's data does; it was shortened after it was opened");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    internal TensorLocation Locate(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryGetValue(tensor.Name, out var i) || !_locations[i].Info.Equals(tensor))
        {
            throw new ArgumentException($"Tensor {tensor} is not part of checkpoint {Path}.", nameof(tensor));
        }

        return _locations[i];
    }

    /// <summary>An 8-byte header length that fits the file, followed by '{': safetensors, whatever the name says.</summary>
    private static bool LooksLikeSafetensors(CheckpointFile file)
    {
        Span<byte> head = stackalloc byte[9];
        if (file.Length < 10 || FileRead.ReadAtMost(file.Handle, head, 0) < 9)
        {
            return false;
        }

        var n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(head);
        return n <= (ulong)(file.Length - 8) && head[8] == (byte)'{';
    }
}
