using System;
using System.Collections.Generic;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// TorchSharp's <c>Module.save</c> format (TORCHSHARP.md, read from TorchSharp 0.105-0.107):
/// <c>uleb(N)</c>, then N entries of key (<c>BinaryWriter.Write(string)</c>: 7-bit-encoded UTF-8 byte length, then
/// the bytes), <c>uleb(dtype)</c>, <c>uleb(ndim)</c>, <c>uleb(dim)</c> each, and the raw little-endian data.
/// No magic, no alignment, no trailer, so a file ends exactly after its last tensor's data.
/// </summary>
internal static class TorchSharpCodec
{
    /// <summary>The smallest entry: a 1-byte key length, empty key, dtype, ndim 1, dim 0, no data.</summary>
    private const int MinEntryBytes = 4;

    /// <summary>
    /// Reads keys, dtypes and shapes and skips the data: one pass, memory bounded by the keys and shapes.
    /// Every size is checked against the bytes left in the file before anything is allocated from it.
    /// </summary>
    public static List<TensorLocation> Scan(string path, SafeFileHandle handle, long length, int fileIndex)
    {
        var cursor = new FileCursor(handle, length);
        if (length == 0)
        {
            throw new CheckpointFormatException(path, 0, null,
                "the file is empty; expected a TorchSharp checkpoint starting with its tensor count (unsigned LEB128)");
        }

        var count = ReadUleb(path, cursor, null, "the tensor count", Leb128.MaxBytes64, long.MaxValue);
        // Capacity from what the file can hold, never from the untrusted count alone.
        var capacity = (int)Math.Min(Math.Min(count, (ulong)(cursor.Remaining / MinEntryBytes) + 1), 1 << 16);
        var entries = new List<TensorLocation>(capacity);
        var seen = new Dictionary<string, long>(capacity, StringComparer.Ordinal);
        Span<long> small = stackalloc long[8];
        for (ulong i = 0; i < count; i++)
        {
            var entryStart = cursor.Position;
            var where = $"entry {i + 1} of {count}";
            var keyLength = ReadUleb(path, cursor, null, $"the key length of {where}", Leb128.MaxBytes32, int.MaxValue);
            if (keyLength > (ulong)cursor.Remaining)
            {
                throw new CheckpointFormatException(path, cursor.Position, null,
                    $"the key of {where} is {keyLength} bytes long but only {cursor.Remaining} bytes remain in the file (truncated or corrupt)");
            }

            var keyBytes = new byte[(int)keyLength];
            if (!cursor.TryRead(keyBytes))
            {
                throw Truncated(path, cursor, null, $"the key of {where}");
            }

            if (!Utf8Text.TryDecode(keyBytes, out var name))
            {
                throw new CheckpointFormatException(path, entryStart, null, $"the key of {where} is not valid UTF-8");
            }

            if (seen.TryGetValue(name, out var firstAt))
            {
                throw new CheckpointFormatException(path, entryStart, name,
                    $"duplicate tensor name ({where}); it first appears at byte {firstAt}; names must be unique");
            }

            seen.Add(name, entryStart);
            var codeAt = cursor.Position;
            var code = ReadUleb(path, cursor, name, "the dtype code", Leb128.MaxBytes64, long.MaxValue);
            if (!DTypes.TryFromScalarType((long)code, out var dtype))
            {
                var known = DTypes.UnsupportedScalarTypeName((long)code);
                throw new CheckpointFormatException(path, codeAt, name, known is null
                    ? $"unknown dtype code {code}; expected one of {DTypes.DescribeScalarTypeCodes()}"
                    : $"dtype code {code} ({known}) is not supported; expected one of {DTypes.DescribeScalarTypeCodes()}");
            }

            var rankAt = cursor.Position;
            var rank = ReadUleb(path, cursor, name, "the number of dims", Leb128.MaxBytes64, long.MaxValue);
            if (rank > TensorInfo.MaxRank)
            {
                throw new CheckpointFormatException(path, rankAt, name,
                    $"{rank} dims is more than the {TensorInfo.MaxRank} NeuralSurgery accepts (corrupt)");
            }

            if (rank > (ulong)cursor.Remaining)
            {
                throw new CheckpointFormatException(path, rankAt, name,
                    $"{rank} dims need at least {rank} bytes but only {cursor.Remaining} remain in the file (truncated or corrupt)");
            }

            var shape = rank <= (ulong)small.Length ? small[..(int)rank] : new long[(int)rank];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = (long)ReadUleb(path, cursor, name, $"dim {d} of {rank}", Leb128.MaxBytes64, long.MaxValue);
            }

            var error = TensorInfo.CheckShape(dtype, shape, out _, out var byteLength);
            if (error is not null)
            {
                throw new CheckpointFormatException(path, rankAt, name, error);
            }

            var dataAt = cursor.Position;
            if (byteLength > cursor.Remaining)
            {
                throw new CheckpointFormatException(path, dataAt, name,
                    $"expected {byteLength} data bytes for {TensorInfo.Describe(dtype, shape)} but the file ends at byte {length} (truncated)");
            }

            entries.Add(new TensorLocation(new TensorInfo(name, dtype, shape.ToArray()), fileIndex, dataAt));
            cursor.Position = dataAt + byteLength;
        }

        if (cursor.Remaining > 0)
        {
            var after = entries.Count == 0 ? "the tensor count (0)" : $"the last tensor '{entries[^1].Info.Name}'";
            throw new CheckpointFormatException(path, cursor.Position, null,
                $"{cursor.Remaining} unexpected bytes after {after}; a TorchSharp checkpoint ends with the last tensor's data");
        }

        return entries;
    }

    /// <summary>The file's first bytes: the tensor count.</summary>
    public static byte[] EncodePreamble(int count)
    {
        var bytes = new byte[Leb128.Size((ulong)count)];
        Leb128.Write(bytes, (ulong)count);
        return bytes;
    }

    /// <summary>Key, dtype code, ndim and dims: everything of an entry before its data.</summary>
    public static byte[] EncodeEntryHeader(TensorInfo tensor)
    {
        var key = Utf8Text.Strict.GetBytes(tensor.Name);
        var size = Leb128.Size((ulong)key.Length) + key.Length
            + Leb128.Size((ulong)tensor.DType.ScalarTypeCode()) + Leb128.Size((ulong)tensor.Rank);
        foreach (var dim in tensor.Shape)
        {
            size += Leb128.Size((ulong)dim);
        }

        var bytes = new byte[size];
        var at = Leb128.Write(bytes, (ulong)key.Length);
        key.CopyTo(bytes, at);
        at += key.Length;
        at += Leb128.Write(bytes.AsSpan(at), (ulong)tensor.DType.ScalarTypeCode());
        at += Leb128.Write(bytes.AsSpan(at), (ulong)tensor.Rank);
        foreach (var dim in tensor.Shape)
        {
            at += Leb128.Write(bytes.AsSpan(at), (ulong)dim);
        }

        return bytes;
    }

    /// <summary>
    /// Unsigned LEB128 of at most <paramref name="maxBytes"/> bytes and at most <paramref name="maxValue"/>.
    /// Non-minimal encodings (redundant 0x80 groups) are accepted, as <c>BinaryReader</c> accepts them.
    /// </summary>
    private static ulong ReadUleb(string path, FileCursor cursor, string? tensor, string what, int maxBytes, ulong maxValue)
    {
        var start = cursor.Position;
        ulong value = 0;
        for (var i = 0; ; i++)
        {
            var b = cursor.ReadByte();
            if (b < 0)
            {
                throw Truncated(path, cursor, tensor, what);
            }

            var group = (ulong)(b & 0x7F);
            var shift = 7 * i;
            if (shift > 57 && (group >> (64 - shift)) != 0)
            {
                throw new CheckpointFormatException(path, start, tensor,
                    $"{what} is an unsigned LEB128 value that overflows 64 bits (corrupt)");
            }

            value |= group << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            if (i + 1 == maxBytes)
            {
                throw new CheckpointFormatException(path, start, tensor,
                    $"{what} is an unsigned LEB128 value longer than {maxBytes} bytes (corrupt)");
            }
        }

        if (value > maxValue)
        {
            throw new CheckpointFormatException(path, start, tensor,
                $"{what} is {value}, larger than the largest allowed value {maxValue} (corrupt)");
        }

        return value;
    }

    private static CheckpointFormatException Truncated(string path, FileCursor cursor, string? tensor, string what) =>
        new(path, cursor.Position, tensor, $"the file ends at byte {cursor.Length} while reading {what} (truncated)");
}
