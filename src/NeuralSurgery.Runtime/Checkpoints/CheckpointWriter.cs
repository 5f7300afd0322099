using System;
using System.Buffers;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Writes a checkpoint whose layout (names, dtypes, shapes, order) is fixed up front, streaming each tensor's
/// data in order: <see cref="BeginTensor"/>, any number of <see cref="Write"/> calls, <see cref="EndTensor"/>
/// (or <see cref="WriteTensor"/> / <see cref="CopyTensor"/> for a whole tensor).
/// </summary>
/// <remarks>
/// <para>
/// Everything goes to a temporary file in the target's folder (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>, so the final rename
/// is atomic). <see cref="Commit"/> checks that every tensor was written in full, flushes to disk
/// (<c>Flush(true)</c>) and renames into place. <see cref="Dispose"/> without a successful commit deletes the
/// temporary files: on any error, nothing is left behind and an existing target is untouched. An existing target
/// is refused at <c>Create</c> unless <c>overwrite</c> is set.
/// </para>
/// <para>
/// Formats: TorchSharp's byte-exact (TORCHSHARP.md); it has no metadata, so non-empty metadata goes to a sidecar
/// <c>&lt;path&gt;.meta.json</c>, written and renamed after the checkpoint (a stale sidecar of an overwritten target is
/// deleted). safetensors as the reference implementation writes it: <c>__metadata__</c> first, tensors in layout
/// order with contiguous offsets, header padded with spaces to a multiple of 8. Metadata keys are written in
/// ordinal order so output does not depend on the dictionary type.
/// </para>
/// <para>Not thread-safe: one producer writes in layout order.</para>
/// </remarks>
public sealed class CheckpointWriter : IDisposable
{
    private const int CopyChunk = 4 << 20;

    private readonly TensorInfo[] _layout;
    private readonly KeyValuePair<string, string>[] _metadata;
    private readonly OutputBatch _batch;
    private readonly bool _ownsBatch;
    private readonly long _length;
    private FileStream? _stream;
    private int _next;
    private TensorInfo? _current;
    private long _remaining;
    private bool _faulted;
    private bool _committed;
    private bool _disposed;

    private CheckpointWriter(string path, CheckpointFormat format, TensorInfo[] layout, KeyValuePair<string, string>[] metadata, OutputBatch batch, bool ownsBatch, long length, FileStream stream)
    {
        Path = path;
        Format = format;
        _layout = layout;
        _metadata = metadata;
        _batch = batch;
        _ownsBatch = ownsBatch;
        _length = length;
        _stream = stream;
        Layout = Array.AsReadOnly(layout);
        var ordered = new OrderedDictionary<string, string>(metadata.Length, StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            ordered.Add(key, value);
        }

        Metadata = new ReadOnlyDictionary<string, string>(ordered);
    }

    /// <summary>The target, as a full path.</summary>
    public string Path { get; }

    public CheckpointFormat Format { get; }

    public IReadOnlyList<TensorInfo> Layout { get; }

    /// <summary>The metadata to be written, in the order it will be written (ordinal by key).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The checkpoint file's final length in bytes (without the sidecar).</summary>
    public long Length => _length;

    /// <summary>Tensors ended so far; the next one to begin is <c>Layout[TensorsWritten]</c>.</summary>
    public int TensorsWritten => _next;

    /// <summary>The tensor between <see cref="BeginTensor"/> and <see cref="EndTensor"/>, or null.</summary>
    public TensorInfo? CurrentTensor => _current;

    /// <summary>Where the metadata sidecar of a TorchSharp-format checkpoint at <paramref name="checkpointPath"/> lives.</summary>
    public static string MetadataSidecarPath(string checkpointPath)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        return MetadataSidecar.PathFor(checkpointPath);
    }

    /// <summary>
    /// Starts a checkpoint at <paramref name="path"/> with the tensors of <paramref name="layout"/>, in that order.
    /// </summary>
    /// <exception cref="IOException">The target exists and <paramref name="overwrite"/> is false, or is a folder.</exception>
    /// <exception cref="ArgumentException">Duplicate names, a safetensors tensor named <c>__metadata__</c>, a <c>.json</c>
    /// safetensors target (writing sharded checkpoints is not supported), or metadata with null or malformed strings.</exception>
    public static CheckpointWriter Create(
        string path,
        CheckpointFormat format,
        IReadOnlyList<TensorInfo> layout,
        IReadOnlyDictionary<string, string>? metadata = null,
        bool overwrite = false) =>
        Create(null, path, format, layout, metadata, overwrite);

    /// <summary>
    /// As <see cref="Create(string, CheckpointFormat, IReadOnlyList{TensorInfo}, IReadOnlyDictionary{string, string}?, bool)"/>,
    /// as one output of <paramref name="batch"/>: <see cref="Commit"/> finishes the file (and its sidecar) and the
    /// batch's own commit puts it in place together with the batch's other outputs.
    /// </summary>
    public static CheckpointWriter Create(
        OutputBatch? batch,
        string path,
        CheckpointFormat format,
        IReadOnlyList<TensorInfo> layout,
        IReadOnlyDictionary<string, string>? metadata = null,
        bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(layout);
        _ = format.Name();
        var tensors = new TensorInfo[layout.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Length; i++)
        {
            var tensor = layout[i] ?? throw new ArgumentException($"Layout entry {i} is null.", nameof(layout));
            if (!names.Add(tensor.Name))
            {
                throw new ArgumentException($"The layout has tensor '{tensor.Name}' twice; names must be unique.", nameof(layout));
            }

            if (format == CheckpointFormat.Safetensors && tensor.Name == SafetensorsCodec.MetadataKey)
            {
                throw new ArgumentException($"A safetensors tensor cannot be named '{SafetensorsCodec.MetadataKey}': the header uses that key for metadata.", nameof(layout));
            }

            tensors[i] = tensor;
        }

        if (format == CheckpointFormat.Safetensors && CheckpointFormats.IsIndexPath(path))
        {
            throw new ArgumentException($"'{path}' names a sharded index; writing sharded safetensors checkpoints is not supported.", nameof(path));
        }

        var sortedMetadata = SortMetadata(metadata);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(fullPath))
        {
            throw new IOException($"Cannot write checkpoint '{fullPath}': it is a folder.");
        }

        if (!overwrite && File.Exists(fullPath))
        {
            throw new IOException($"Checkpoint '{fullPath}' already exists; refusing to overwrite it (pass overwrite: true to replace it).");
        }

        byte[] preamble;
        long length;
        if (format == CheckpointFormat.TorchSharp)
        {
            preamble = TorchSharpCodec.EncodePreamble(tensors.Length);
            length = preamble.Length;
            foreach (var tensor in tensors)
            {
                length = checked(length + TorchSharpCodec.EncodeEntryHeader(tensor).Length + tensor.ByteLength);
            }
        }
        else
        {
            preamble = SafetensorsCodec.EncodeHeader(tensors, sortedMetadata);
            length = preamble.Length;
            foreach (var tensor in tensors)
            {
                length = checked(length + tensor.ByteLength);
            }
        }

        var owns = batch is null;
        batch ??= new OutputBatch();
        FileStream stream;
        try
        {
            stream = batch.Create(fullPath, overwrite, length);
        }
        catch
        {
            if (owns)
            {
                batch.Dispose();
            }

            throw;
        }

        var writer = new CheckpointWriter(fullPath, format, tensors, sortedMetadata, batch, owns, length, stream);
        try
        {
            writer.Emit(preamble);
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Starts the next tensor of the layout, which must be named <paramref name="name"/>.</summary>
    public void BeginTensor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        EnsureWritable();
        if (_current is not null)
        {
            throw new InvalidOperationException($"Tensor '{_current.Name}' is still being written; call EndTensor first.");
        }

        if (_next >= _layout.Length)
        {
            throw new InvalidOperationException($"All {_layout.Length} tensors of the layout are written; '{name}' is not expected.");
        }

        var tensor = _layout[_next];
        if (tensor.Name != name)
        {
            throw new InvalidOperationException(
                $"Expected tensor '{tensor.Name}' ({_next + 1} of {_layout.Length}) next, not '{name}'; tensors are written in layout order.");
        }

        if (Format == CheckpointFormat.TorchSharp)
        {
            Emit(TorchSharpCodec.EncodeEntryHeader(tensor));
        }

        _current = tensor;
        _remaining = tensor.ByteLength;
    }

    /// <summary>The next bytes of the current tensor's data (row-major, little-endian).</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        EnsureWritable();
        var tensor = _current ?? throw new InvalidOperationException("No tensor is being written; call BeginTensor first.");
        if (data.Length > _remaining)
        {
            throw new InvalidOperationException(
                $"Tensor '{tensor.Name}' has {tensor.ByteLength} bytes; writing {data.Length} more after {tensor.ByteLength - _remaining} would exceed it.");
        }

        Emit(data);
        _remaining -= data.Length;
    }

    /// <summary>Ends the current tensor; all of its bytes must have been written.</summary>
    public void EndTensor()
    {
        EnsureWritable();
        var tensor = _current ?? throw new InvalidOperationException("No tensor is being written; call BeginTensor first.");
        if (_remaining != 0)
        {
            throw new InvalidOperationException(
                $"Tensor '{tensor.Name}' has {tensor.ByteLength} bytes but only {tensor.ByteLength - _remaining} were written.");
        }

        _current = null;
        _next++;
    }

    /// <summary>A whole tensor at once.</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        BeginTensor(name);
        Write(data);
        EndTensor();
    }

    /// <summary>
    /// Streams tensor <paramref name="sourceTensor"/> of <paramref name="source"/> as the layout's next tensor
    /// <paramref name="name"/> (which may differ from the source's name) in 1 MiB chunks. dtype and shape must match.
    /// </summary>
    public void CopyTensor(string name, ITensorSource source, TensorInfo sourceTensor)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sourceTensor);
        var target = _next < _layout.Length ? _layout[_next] : null;
        if (target is not null && (target.DType != sourceTensor.DType || target.Shape != sourceTensor.Shape))
        {
            throw new ArgumentException(
                $"Cannot copy {sourceTensor} into {target}: dtype and shape must match.", nameof(sourceTensor));
        }

        BeginTensor(name);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(CopyChunk, Math.Max(1, sourceTensor.ByteLength)));
        try
        {
            for (long at = 0; at < sourceTensor.ByteLength;)
            {
                var span = buffer.AsSpan(0, (int)Math.Min(buffer.Length, sourceTensor.ByteLength - at));
                source.Read(sourceTensor, at, span);
                Write(span);
                at += span.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        EndTensor();
    }

    /// <summary>
    /// Checks every tensor was written, flushes to disk and renames the temporary file onto <see cref="Path"/>
    /// together with the metadata sidecar of the TorchSharp format; a writer of a shared <see cref="OutputBatch"/>
    /// leaves the renames to the batch's commit.
    /// </summary>
    /// <exception cref="InvalidOperationException">Tensors are missing or a write failed earlier.</exception>
    /// <exception cref="IOException">The target appeared meanwhile (without overwrite), or the file system failed.</exception>
    public void Commit()
    {
        EnsureWritable();
        if (_current is not null || _next < _layout.Length)
        {
            var missing = _current ?? _layout[_next];
            throw new InvalidOperationException(
                $"Cannot commit {Path}: {_layout.Length - _next} of {_layout.Length} tensors are not written, starting with '{missing.Name}'.");
        }

        try
        {
            var stream = _stream!;
            stream.Flush(flushToDisk: true);
            if (stream.Length != _length)
            {
                throw new InvalidOperationException($"Internal error: wrote {stream.Length} bytes, expected {_length}.");
            }

            stream.Dispose();
            _stream = null;
            var sidecarPath = MetadataSidecar.PathFor(Path);
            if (Format == CheckpointFormat.TorchSharp && _metadata.Length > 0)
            {
                string fingerprint;
                using (var written = File.OpenHandle(_batch.TempPathOf(Path), FileMode.Open, FileAccess.Read, FileShare.Read))
                {
                    fingerprint = MetadataSidecar.Fingerprint(written, _length);
                }

                _batch.WriteAllBytes(sidecarPath, MetadataSidecar.Encode(_length, fingerprint, _metadata), overwrite: true);
            }
            else if (Format == CheckpointFormat.TorchSharp && File.Exists(sidecarPath))
            {
                // The sidecar of the file we replace describes other contents.
                _batch.Delete(sidecarPath);
            }

            if (_ownsBatch)
            {
                _batch.Commit();
            }

            _committed = true;
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>Closes the file; without a successful <see cref="Commit"/>, deletes the temporary files.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // Flushing a failed write fails again; the file is deleted below.
        }

        _stream = null;
        if (_ownsBatch)
        {
            _batch.Dispose();
        }
        else if (!_committed)
        {
            // A shared batch must not put a half-written checkpoint in place.
            _batch.Abandon(Path);
            _batch.Abandon(MetadataSidecar.PathFor(Path));
        }
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _stream!.Write(bytes);
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
        {
            throw new InvalidOperationException($"Checkpoint {Path} is already committed.");
        }

        if (_faulted)
        {
            throw new InvalidOperationException($"An earlier write to {Path} failed; dispose the writer (its temporary file is deleted) and start again.");
        }
    }

    private static KeyValuePair<string, string>[] SortMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return [];
        }

        var pairs = new List<KeyValuePair<string, string>>(metadata.Count);
        foreach (var (key, value) in metadata)
        {
            if (key is null || value is null)
            {
                throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
            }

            if (!Utf8Text.IsWellFormed(key) || !Utf8Text.IsWellFormed(value))
            {
                throw new ArgumentException($"Metadata entry '{key}' is not well-formed Unicode (a lone surrogate).", nameof(metadata));
            }

            pairs.Add(new(key, value));
        }

        pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return pairs.ToArray();
    }
}
