using System;
using System.Buffers;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// The content hash a sparse patch records for its base (docs/patch-format.md): SHA-256 over every tensor in
/// ordinal name order, each as <c>uleb(name byte count) name-UTF-8 uleb(c10 dtype code) uleb(rank) uleb(dim)…</c>
/// followed by its raw little-endian data bytes. Metadata is not hashed, and neither is the file format, so the
/// same weights saved as TorchSharp or safetensors (or sharded) have the same hash.
/// </summary>
public static class CheckpointHash
{
    private const int Chunk = 4 << 20;

    public static byte[] Compute(ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(Chunk);
        try
        {
            Span<byte> number = stackalloc byte[10];
            foreach (var tensor in source.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                var name = Encoding.UTF8.GetBytes(tensor.Name);
                AppendNumber(sha, number, (ulong)name.Length);
                sha.AppendData(name);
                AppendNumber(sha, number, (ulong)tensor.DType.ScalarTypeCode());
                AppendNumber(sha, number, (ulong)tensor.Rank);
                foreach (var dim in tensor.Shape)
                {
                    AppendNumber(sha, number, (ulong)dim);
                }

                for (long at = 0; at < tensor.ByteLength; at += Chunk)
                {
                    var span = buffer.AsSpan(0, (int)Math.Min(Chunk, tensor.ByteLength - at));
                    source.Read(tensor, at, span);
                    sha.AppendData(span);
                }
            }

            return sha.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Lower-case hex, as messages and the CLI print it.</summary>
    public static string ToHex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    private static void AppendNumber(IncrementalHash sha, Span<byte> scratch, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            scratch[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        scratch[n++] = (byte)value;
        sha.AppendData(scratch[..n]);
    }
}
