using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>The changed elements of one tensor: ascending flat indices and the tuned values' raw bytes.</summary>
public sealed record PatchTensor(TensorInfo Tensor, long[] Indices, byte[] Values)
{
    public long Count => Indices.LongLength;
}

/// <summary>
/// A sparse Δ patch (paper 000 section 6.4): only the elements of a tuned checkpoint that differ from its base,
/// with the base's <see cref="CheckpointHash"/> so it cannot be applied to anything else. The receiver already holds
/// w_i; shipping the n changed elements instead of the whole model is what makes sparse tuning cheap to deliver.
/// </summary>
/// <remarks>
/// File layout (docs/patch-format.md): a 96-byte header (magic, version, codec, base hash, tensor count, payload
/// lengths, SHA-256 of the compressed payload) then a Brotli payload holding, per tensor, its name, dtype, shape,
/// the delta-encoded indices and the values. An element changes when its bytes differ, so the patch reproduces the
/// tuned checkpoint bit for bit, for every dtype.
/// </remarks>
public sealed class SparsePatch
{
    public const int Version = 1;
    public const int HeaderSize = 96;
    internal const byte CodecBrotli = 1;
    internal static ReadOnlySpan<byte> Magic => "NSPATCH\0"u8;

    private SparsePatch(byte[] baseHash, IReadOnlyList<PatchTensor> tensors)
    {
        BaseHash = baseHash;
        Tensors = tensors;
    }

    /// <summary>SHA-256 content hash of the base checkpoint (<see cref="CheckpointHash"/>).</summary>
    public byte[] BaseHash { get; }

    public string BaseHashHex => CheckpointHash.ToHex(BaseHash);

    /// <summary>Tensors with at least one changed element, in the base's order.</summary>
    public IReadOnlyList<PatchTensor> Tensors { get; }

    public long ChangedElements
    {
        get
        {
            long n = 0;
            foreach (var t in Tensors)
            {
                n += t.Count;
            }

            return n;
        }
    }

    /// <summary>
    /// The elements of <paramref name="tuned"/> that differ from <paramref name="base"/>. Both must hold the same
    /// tensors with the same dtypes and shapes (a patch changes values, never layout).
    /// </summary>
    public static SparsePatch Create(ITensorSource @base, ITensorSource tuned)
    {
        ArgumentNullException.ThrowIfNull(@base);
        ArgumentNullException.ThrowIfNull(tuned);
        CheckSameLayout(@base, tuned);
        var tensors = new List<PatchTensor>();
        foreach (var info in @base.Tensors)
        {
            var a = @base.ReadAll(info);
            var b = tuned.ReadAll(tuned.Get(info.Name));
            var size = info.DType.ElementSize();
            var indices = new List<long>();
            const int Block = 4096;
            for (long start = 0; start < info.ElementCount; start += Block)
            {
                var count = (int)Math.Min(Block, info.ElementCount - start);
                var sa = a.AsSpan((int)(start * size), count * size);
                var sb = b.AsSpan((int)(start * size), count * size);
                if (sa.SequenceEqual(sb))
                {
                    continue;
                }

                for (var i = 0; i < count; i++)
                {
                    if (!sa.Slice(i * size, size).SequenceEqual(sb.Slice(i * size, size)))
                    {
                        indices.Add(start + i);
                    }
                }
            }

            if (indices.Count == 0)
            {
                continue;
            }

            var values = new byte[indices.Count * size];
            for (var i = 0; i < indices.Count; i++)
            {
                b.AsSpan((int)(indices[i] * size), size).CopyTo(values.AsSpan(i * size));
            }

            tensors.Add(new PatchTensor(info, indices.ToArray(), values));
        }

        return new SparsePatch(CheckpointHash.Compute(@base), tensors);
    }

    /// <summary>Reads both checkpoints, writes the patch to <paramref name="patchPath"/> (temporary file, then rename).</summary>
    public static SparsePatch Create(string basePath, string tunedPath, string patchPath, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        ArgumentNullException.ThrowIfNull(tunedPath);
        ArgumentNullException.ThrowIfNull(patchPath);
        using var a = CheckpointReader.Open(basePath);
        using var b = CheckpointReader.Open(tunedPath);
        new CommandFiles().Input("the base", a).Input("the tuned checkpoint", b).Output("the patch", patchPath).Check(overwrite);
        SparsePatch patch;
        try
        {
            patch = Create(a, b);
        }
        catch (PatchFormatException e)
        {
            throw new PatchFormatException($"{tunedPath} against base {basePath}: {e.Message}", e);
        }

        patch.Save(patchPath, overwrite);
        return patch;
    }

    /// <summary>The base with the patched values, in memory; refuses a base whose content hash differs.</summary>
    /// <param name="base">The checkpoint the patch was created from.</param>
    /// <param name="baseName">How messages name the base (its path).</param>
    /// <param name="patchName">How messages name the patch (its path).</param>
    public StateDict Apply(ITensorSource @base, string baseName = "the base checkpoint", string patchName = "the patch")
    {
        ArgumentNullException.ThrowIfNull(@base);
        CheckBase(@base, baseName, patchName);
        var result = new StateDict();
        foreach (var (key, value) in @base.Metadata)
        {
            result.Metadata.Add(key, value);
        }

        var byName = ByName();
        foreach (var info in @base.Tensors)
        {
            var data = @base.ReadAll(info);
            if (byName.TryGetValue(info.Name, out var entry))
            {
                Patch(entry, info, data, patchName);
            }

            result.Add(info, data);
        }

        return result;
    }

    /// <summary>
    /// Applies the patch at <paramref name="patchPath"/> to the checkpoint at <paramref name="basePath"/> and writes
    /// <paramref name="outputPath"/> (format from its name unless given; temporary file, then rename), one tensor
    /// in memory at a time.
    /// </summary>
    public static SparsePatch Apply(string basePath, string patchPath, string outputPath, CheckpointFormat? format = null, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        ArgumentNullException.ThrowIfNull(patchPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        var chosen = format ?? CheckpointFormats.FromPath(outputPath);
        using var source = CheckpointReader.Open(basePath);
        new CommandFiles().Input("the base", source).Input("the patch", patchPath).Output("the output", outputPath, chosen).Check(overwrite);
        var patch = Load(patchPath);
        patch.CheckBase(source, basePath, patchPath);
        var byName = patch.ByName();
        using var writer = CheckpointWriter.Create(outputPath, chosen, source.Tensors, source.Metadata, overwrite);
        foreach (var info in source.Tensors)
        {
            var data = source.ReadAll(info);
            if (byName.TryGetValue(info.Name, out var entry))
            {
                Patch(entry, info, data, patchPath);
            }

            writer.WriteTensor(info.Name, data);
        }

        writer.Commit();
        return patch;
    }

    /// <summary>The patch file's bytes: header then compressed payload.</summary>
    public byte[] ToBytes()
    {
        var raw = new MemoryStream();
        Span<byte> number = stackalloc byte[10];
        foreach (var t in Tensors)
        {
            var name = Encoding.UTF8.GetBytes(t.Tensor.Name);
            WriteNumber(raw, number, (ulong)name.Length);
            raw.Write(name);
            WriteNumber(raw, number, (ulong)t.Tensor.DType.ScalarTypeCode());
            WriteNumber(raw, number, (ulong)t.Tensor.Rank);
            foreach (var dim in t.Tensor.Shape)
            {
                WriteNumber(raw, number, (ulong)dim);
            }

            WriteNumber(raw, number, (ulong)t.Indices.LongLength);

            // Gaps between ascending indices are small for clustered changes and compress well; the values follow
            // as one block so the codec sees like bytes together.
            long previous = -1;
            foreach (var index in t.Indices)
            {
                WriteNumber(raw, number, (ulong)(index - previous - 1));
                previous = index;
            }

            raw.Write(t.Values);
        }

        var compressed = new MemoryStream();
        using (var brotli = new BrotliStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(brotli);
        }

        var payload = compressed.ToArray();
        var file = new byte[HeaderSize + payload.Length];
        var header = file.AsSpan(0, HeaderSize);
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], Version);
        header[10] = CodecBrotli;
        BaseHash.CopyTo(header[12..44]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[44..], (uint)Tensors.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], (ulong)raw.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], (ulong)payload.Length);
        SHA256.HashData(payload, header[64..96]);
        payload.CopyTo(file, HeaderSize);
        return file;
    }

    /// <summary>Writes the patch through a temporary file beside <paramref name="path"/> and renames it into place.</summary>
    public void Save(string path, bool overwrite = false)
    {
        using var batch = new OutputBatch();
        Save(batch, path, overwrite);
        batch.Commit();
    }

    /// <summary>Writes the patch as one output of <paramref name="batch"/>, put in place by the batch's commit.</summary>
    public void Save(OutputBatch batch, string path, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(path);
        RefuseExisting(path, overwrite);
        batch.WriteAllBytes(path, ToBytes(), overwrite);
    }

    /// <summary>Reads a patch file (a regular file, read whole; one past the array limit is refused by name).</summary>
    public static SparsePatch Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Read(InputFile.ReadAllBytes(path, InputFile.MaxWholeFile, "patch"), path);
    }

    /// <summary>Parses patch bytes; <paramref name="fileName"/> names the source in every error.</summary>
    /// <exception cref="PatchFormatException">Bad magic, version or codec, truncation, a payload hash mismatch, or malformed entries.</exception>
    public static SparsePatch Read(ReadOnlySpan<byte> bytes, string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (bytes.Length < HeaderSize)
        {
            throw Bad(fileName, $"is {bytes.Length} bytes, shorter than the {HeaderSize}-byte patch header (truncated, or not a patch)");
        }

        if (!bytes[..8].SequenceEqual(Magic))
        {
            throw Bad(fileName, "does not start with the patch magic 'NSPATCH\\0'; expected a file written by 'surgery patch create'");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
        if (version != Version)
        {
            throw Bad(fileName, $"has patch format version {version}; this build reads version {Version}");
        }

        if (bytes[10] != CodecBrotli)
        {
            throw Bad(fileName, $"uses codec {bytes[10]}; expected {CodecBrotli} (Brotli)");
        }

        var baseHash = bytes[12..44].ToArray();
        var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[44..]);
        var rawLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[48..]);
        var payloadLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[56..]);
        var payload = bytes[HeaderSize..];
        if ((ulong)payload.Length != payloadLength)
        {
            throw Bad(fileName, $"holds {payload.Length} payload bytes after the header; the header says {payloadLength} ({((ulong)payload.Length < payloadLength ? "truncated" : "trailing bytes")})");
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload, hash);
        if (!hash.SequenceEqual(bytes[64..96]))
        {
            throw Bad(fileName, "payload does not match the SHA-256 in its header (corrupt)");
        }

        if (rawLength > (ulong)Array.MaxLength)
        {
            throw Bad(fileName, $"declares {rawLength} uncompressed payload bytes, more than one array can hold");
        }

        var raw = new byte[rawLength];
        try
        {
            using var input = new BrotliStream(new MemoryStream(payload.ToArray()), CompressionMode.Decompress);
            input.ReadExactly(raw);
            if (input.ReadByte() != -1)
            {
                throw Bad(fileName, $"payload decompresses to more than the {rawLength} bytes the header declares");
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new PatchFormatException($"{fileName}: payload does not decompress to the {rawLength} bytes the header declares ({e.Message})", e);
        }

        var tensors = new List<PatchTensor>((int)Math.Min(count, 4096));
        var reader = new PayloadReader(raw, fileName);
        for (uint i = 0; i < count; i++)
        {
            tensors.Add(reader.ReadTensor(i));
        }

        if (reader.Position != raw.Length)
        {
            throw Bad(fileName, $"has {raw.Length - reader.Position} bytes after the {count} tensor entries the header declares");
        }

        return new SparsePatch(baseHash, tensors);
    }

    private Dictionary<string, PatchTensor> ByName()
    {
        var byName = new Dictionary<string, PatchTensor>(StringComparer.Ordinal);
        foreach (var t in Tensors)
        {
            byName[t.Tensor.Name] = t;
        }

        return byName;
    }

    private void CheckBase(ITensorSource @base, string baseName, string patchName)
    {
        var actual = CheckpointHash.Compute(@base);
        if (!actual.AsSpan().SequenceEqual(BaseHash))
        {
            throw new PatchBaseMismatchException(patchName, baseName, BaseHashHex, CheckpointHash.ToHex(actual));
        }

        foreach (var t in Tensors)
        {
            var info = @base.Find(t.Tensor.Name);
            if (info is null || !info.Equals(t.Tensor))
            {
                // Only reachable with a hash collision or a hand-made patch; still never write out of bounds.
                throw new PatchFormatException($"{patchName}: tensor {t.Tensor} does not match {baseName}'s {(info is null ? "(missing)" : info.ToString())}");
            }
        }
    }

    private static void Patch(PatchTensor entry, TensorInfo info, byte[] data, string patchName)
    {
        var size = info.DType.ElementSize();
        for (var i = 0; i < entry.Indices.Length; i++)
        {
            var index = entry.Indices[i];
            if (index < 0 || index >= info.ElementCount)
            {
                throw new PatchFormatException($"{patchName}: tensor '{info.Name}' element {index} lies outside its {info.ElementCount} elements");
            }

            entry.Values.AsSpan(i * size, size).CopyTo(data.AsSpan((int)(index * size), size));
        }
    }

    private static void CheckSameLayout(ITensorSource @base, ITensorSource tuned)
    {
        var problems = new List<string>();
        foreach (var a in @base.Tensors)
        {
            var b = tuned.Find(a.Name);
            if (b is null)
            {
                problems.Add($"tensor '{a.Name}' is missing from the tuned checkpoint");
            }
            else if (!a.Equals(b))
            {
                problems.Add($"tensor '{a.Name}' is {a} in the base but {b} in the tuned checkpoint");
            }
        }

        foreach (var b in tuned.Tensors)
        {
            if (@base.Find(b.Name) is null)
            {
                problems.Add($"tensor '{b.Name}' is only in the tuned checkpoint");
            }
        }

        if (problems.Count > 0)
        {
            throw new PatchFormatException("a patch changes values only; expected the same tensors, dtypes and shapes: " + string.Join("; ", problems));
        }
    }

    private static void RefuseExisting(string path, bool overwrite)
    {
        if (!overwrite && (File.Exists(path) || Directory.Exists(path)))
        {
            throw new IOException($"{path}: the output already exists; pass overwrite (--force) to replace it");
        }
    }

    private static void WriteNumber(Stream stream, Span<byte> scratch, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            scratch[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        scratch[n++] = (byte)value;
        stream.Write(scratch[..n]);
    }

    private static PatchFormatException Bad(string file, string detail) => new($"{file}: {detail}");

    /// <summary>Reads the decompressed payload with bounds checks that name the file and the tensor entry.</summary>
    private sealed class PayloadReader(byte[] raw, string file)
    {
        public int Position { get; private set; }

        public PatchTensor ReadTensor(uint entry)
        {
            var nameLength = Number($"entry {entry}: name length");
            var nameBytes = Bytes(nameLength, $"entry {entry}: name");
            string name;
            try
            {
                name = new UTF8Encoding(false, true).GetString(nameBytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new PatchFormatException($"{file}: entry {entry}: the tensor name is not valid UTF-8", e);
            }

            var code = Number($"tensor '{name}': dtype");
            if (!DTypes.TryFromScalarType((long)code, out var dtype))
            {
                throw Bad(file, $"tensor '{name}': unknown dtype code {code}");
            }

            var rank = Number($"tensor '{name}': rank");
            if (rank > TensorInfo.MaxRank)
            {
                throw Bad(file, $"tensor '{name}': rank {rank} is more than {TensorInfo.MaxRank}");
            }

            var shape = new long[rank];
            for (var a = 0; a < shape.Length; a++)
            {
                var dim = Number($"tensor '{name}': dim {a}");
                shape[a] = dim <= long.MaxValue ? (long)dim : throw Bad(file, $"tensor '{name}': dim {a} is {dim}, too large");
            }

            TensorInfo info;
            try
            {
                info = TensorInfo.Create(name, dtype, shape);
            }
            catch (ArgumentException e)
            {
                throw new PatchFormatException($"{file}: {e.Message}", e);
            }

            var count = Number($"tensor '{name}': changed-element count");
            var size = dtype.ElementSize();

            // Each index takes at least one byte and each value its element size: a larger count cannot fit.
            if (count > (ulong)info.ElementCount || count * (ulong)(1 + size) > (ulong)(raw.Length - Position))
            {
                throw Bad(file, $"tensor '{name}': {count} changed elements do not fit its {info.ElementCount} elements or the {raw.Length - Position} payload bytes left");
            }

            var indices = new long[count];
            long previous = -1;
            for (ulong i = 0; i < count; i++)
            {
                var gap = Number($"tensor '{name}': index {i}");
                var index = previous + 1 + (long)Math.Min(gap, (ulong)long.MaxValue / 2);
                if (gap >= (ulong)info.ElementCount || index >= info.ElementCount)
                {
                    throw Bad(file, $"tensor '{name}': changed element {i} has index {index}, outside its {info.ElementCount} elements");
                }

                indices[i] = index;
                previous = index;
            }

            var values = Bytes(count * (ulong)size, $"tensor '{name}': values");
            return new PatchTensor(info, indices, values);
        }

        private ulong Number(string what)
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (Position >= raw.Length)
                {
                    throw Bad(file, $"{what}: the payload ends inside a number (truncated)");
                }

                var b = raw[Position++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw Bad(file, $"{what}: a number runs past 10 bytes");
        }

        private byte[] Bytes(ulong count, string what)
        {
            if (count > (ulong)(raw.Length - Position))
            {
                throw Bad(file, $"{what}: needs {count} bytes but the payload has {raw.Length - Position} left (truncated)");
            }

            var result = raw.AsSpan(Position, (int)count).ToArray();
            Position += (int)count;
            return result;
        }
    }
}
