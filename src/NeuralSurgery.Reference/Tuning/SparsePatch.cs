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
        var patch = Load(patchPath, source, basePath);
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

    /// <summary>Reads a patch file, checked as <see cref="Load(string, ITensorSource?, string?)"/> without a base.</summary>
    public static SparsePatch Load(string path) => Load(path, null, null);

    /// <summary>
    /// Reads a patch file without ever holding more than it can need: the header is checked against the file's
    /// length, and, given <paramref name="base"/>, the base's content hash and the declared uncompressed size
    /// against the largest payload a patch of that base can have, all before any payload byte is read; the
    /// payload is hashed and then inflated as a stream that stops at the declared size, every entry checked
    /// against the base before its arrays are allocated. A 2 KB patch that would inflate to gigabytes is
    /// refused after reading its header.
    /// </summary>
    /// <param name="path">The patch file.</param>
    /// <param name="base">The checkpoint the patch will be applied to, or null to check the patch alone.</param>
    /// <param name="baseName">How messages name the base (its path).</param>
    /// <exception cref="PatchFormatException">The patch is malformed, or larger than its base can need.</exception>
    /// <exception cref="PatchBaseMismatchException">The patch was made for another base.</exception>
    public static SparsePatch Load(string path, ITensorSource? @base, string? baseName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(InputFile.OpenHandle(path), FileAccess.Read, bufferSize: 0);
        Span<byte> bytes = stackalloc byte[HeaderSize];
        var read = file.ReadAtLeast(bytes, HeaderSize, throwOnEndOfStream: false);
        var header = ReadHeader(bytes[..read], file.Length, path);
        var limits = @base is null ? null : new BaseLimits(@base, baseName ?? "the base checkpoint", path, header);

        // The payload is read twice (hash, then inflate) rather than held: its size is the file's, not ours to hold.
        using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = file.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
            }

            header.CheckHash(hash.GetHashAndReset(), path);
        }

        file.Position = HeaderSize;
        return Inflate(file, header, path, limits);
    }

    /// <summary>Parses patch bytes; <paramref name="fileName"/> names the source in every error.</summary>
    /// <exception cref="PatchFormatException">Bad magic, version or codec, truncation, a payload hash mismatch, or malformed entries.</exception>
    public static SparsePatch Read(ReadOnlySpan<byte> bytes, string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var header = ReadHeader(bytes, bytes.Length, fileName);
        var payload = bytes[HeaderSize..];
        header.CheckHash(SHA256.HashData(payload), fileName);
        return Inflate(new MemoryStream(payload.ToArray(), writable: false), header, fileName, null);
    }

    /// <summary>
    /// The largest uncompressed payload any patch of <paramref name="base"/> can have: every element of every
    /// tensor changed, each index gap written in the most bytes it can take.
    /// </summary>
    public static long MaxPayloadLength(ITensorSource @base)
    {
        ArgumentNullException.ThrowIfNull(@base);
        long total = 0;
        foreach (var t in @base.Tensors)
        {
            var name = Encoding.UTF8.GetByteCount(t.Name);
            long entry = Leb128.Size((ulong)name) + name + Leb128.MaxBytes64 + Leb128.Size((ulong)t.Rank) + Leb128.Size((ulong)t.ElementCount);
            foreach (var dim in t.Shape)
            {
                entry += Leb128.Size((ulong)dim);
            }

            var perElement = Leb128.Size((ulong)Math.Max(t.ElementCount - 1, 0)) + t.DType.ElementSize();
            entry = t.ElementCount > (long.MaxValue - entry) / perElement ? long.MaxValue : entry + (t.ElementCount * perElement);
            total = entry > long.MaxValue - total ? long.MaxValue : total + entry;
        }

        return total;
    }

    /// <summary>The 96-byte header, checked against the length of the whole file before any payload byte is read.</summary>
    private static PatchHeader ReadHeader(ReadOnlySpan<byte> bytes, long fileLength, string fileName)
    {
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

        var header = new PatchHeader(
            bytes[12..44].ToArray(),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[44..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[48..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[56..]),
            bytes[64..96].ToArray());
        var payload = (ulong)(fileLength - HeaderSize);
        if (payload != header.PayloadLength)
        {
            throw Bad(fileName, $"holds {payload} payload bytes after the header; the header says {header.PayloadLength} ({(payload < header.PayloadLength ? "truncated" : "trailing bytes")})");
        }

        if (header.RawLength > (ulong)Array.MaxLength)
        {
            throw Bad(fileName, $"declares {header.RawLength} uncompressed payload bytes, more than one array can hold");
        }

        return header;
    }

    /// <summary>
    /// Inflates the payload as a stream, parsing entries as they come: never more than the header's declared size
    /// comes out of the codec (one byte more shows the payload is longer, and it stops there).
    /// </summary>
    private static SparsePatch Inflate(Stream payload, PatchHeader header, string fileName, BaseLimits? limits)
    {
        try
        {
            using var brotli = new BrotliStream(payload, CompressionMode.Decompress, leaveOpen: true);
            using var buffered = new BufferedStream(brotli, 1 << 16);
            var reader = new PayloadReader(buffered, (long)header.RawLength, fileName);
            var tensors = new List<PatchTensor>((int)Math.Min(header.Count, 4096));
            for (uint i = 0; i < header.Count; i++)
            {
                tensors.Add(reader.ReadTensor(i, limits));
            }

            if (reader.Remaining != 0)
            {
                throw Bad(fileName, $"has {reader.Remaining} bytes after the {header.Count} tensor entries the header declares");
            }

            if (buffered.ReadByte() != -1)
            {
                throw Bad(fileName, $"payload decompresses to more than the {header.RawLength} bytes the header declares");
            }

            return new SparsePatch(header.BaseHash, tensors);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new PatchFormatException($"{fileName}: payload does not decompress to the {header.RawLength} bytes the header declares ({e.Message})", e);
        }
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

    /// <summary>What the 96-byte header declares.</summary>
    private sealed record PatchHeader(byte[] BaseHash, uint Count, ulong RawLength, ulong PayloadLength, byte[] PayloadHash)
    {
        public void CheckHash(ReadOnlySpan<byte> actual, string fileName)
        {
            if (!actual.SequenceEqual(PayloadHash))
            {
                throw Bad(fileName, "payload does not match the SHA-256 in its header (corrupt)");
            }
        }
    }

    /// <summary>
    /// The base a patch is loaded for: its hash is checked and the declared sizes bounded by it on construction,
    /// before any payload is read; each entry must then name one of its tensors with the same dtype and shape.
    /// </summary>
    private sealed class BaseLimits
    {
        public BaseLimits(ITensorSource @base, string baseName, string patchName, PatchHeader header)
        {
            Base = @base;
            BaseName = baseName;
            var actual = CheckpointHash.Compute(@base);
            if (!actual.AsSpan().SequenceEqual(header.BaseHash))
            {
                throw new PatchBaseMismatchException(patchName, baseName, CheckpointHash.ToHex(header.BaseHash), CheckpointHash.ToHex(actual));
            }

            if (header.Count > (uint)@base.Tensors.Count)
            {
                throw Bad(patchName, $"declares {header.Count} tensor entries; {baseName} has only {@base.Tensors.Count} tensors");
            }

            var most = MaxPayloadLength(@base);
            if (header.RawLength > (ulong)most)
            {
                throw Bad(patchName, $"declares {header.RawLength} uncompressed payload bytes, more than the {most} that any patch of {baseName} can need (corrupt, or a decompression bomb)");
            }
        }

        public ITensorSource Base { get; }

        public string BaseName { get; }
    }

    /// <summary>
    /// Reads the inflating payload with bounds checks that name the file and the tensor entry; never reads past the
    /// declared size, and allocates an entry's arrays only once its counts fit what is left of it.
    /// </summary>
    private sealed class PayloadReader(Stream raw, long declared, string file)
    {
        /// <summary>Declared payload bytes not read yet.</summary>
        public long Remaining { get; private set; } = declared;

        public PatchTensor ReadTensor(uint entry, BaseLimits? limits)
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

            if (limits is not null && limits.Base.Find(name) is var own && (own is null || !own.Equals(info)))
            {
                throw Bad(file, $"tensor {info} does not match {limits.BaseName}'s {(own is null ? "(missing)" : own.ToString())}");
            }

            var count = Number($"tensor '{name}': changed-element count");
            var size = dtype.ElementSize();

            // Each index takes at least one byte and each value its element size: a larger count cannot fit.
            if (count > (ulong)info.ElementCount || count * (ulong)(1 + size) > (ulong)Remaining)
            {
                throw Bad(file, $"tensor '{name}': {count} changed elements do not fit its {info.ElementCount} elements or the {Remaining} payload bytes left");
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
                if (Remaining == 0)
                {
                    throw Bad(file, $"{what}: the payload ends inside a number (truncated)");
                }

                var b = raw.ReadByte();
                if (b < 0)
                {
                    throw new EndOfStreamException($"{what}: the payload ends {Remaining} bytes early");
                }

                Remaining--;
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
            if (count > (ulong)Remaining)
            {
                throw Bad(file, $"{what}: needs {count} bytes but the payload has {Remaining} left (truncated)");
            }

            var result = new byte[count];
            raw.ReadExactly(result);
            Remaining -= (long)count;
            return result;
        }
    }
}
