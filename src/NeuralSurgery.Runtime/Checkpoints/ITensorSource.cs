using System;
using System.Collections.Generic;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Named tensors that can be read by byte range: a checkpoint file (<see cref="CheckpointReader"/>), a sharded
/// checkpoint, or an in-memory <see cref="StateDict"/>. An executor gathers contiguous runs of a big tensor
/// through <see cref="Read"/> without loading the tensor whole.
/// </summary>
/// <remarks>Implementations allow concurrent <see cref="Read"/> calls from several threads.</remarks>
public interface ITensorSource
{
    /// <summary>Tensors in file order (TorchSharp: entry order; safetensors: header order; sharded: weight_map order).</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>String metadata, in file order; empty when there is none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor named <paramref name="name"/> (ordinal), or null.</summary>
    TensorInfo? Find(string name);

    /// <summary>
    /// Fills <paramref name="destination"/> with the tensor's data bytes starting at <paramref name="byteOffset"/>
    /// (row-major, little-endian). <paramref name="tensor"/> must be one of <see cref="Tensors"/> (or equal to it),
    /// and the range must lie inside its <see cref="TensorInfo.ByteLength"/>.
    /// </summary>
    void Read(TensorInfo tensor, long byteOffset, Span<byte> destination);
}

/// <summary>Conveniences over any <see cref="ITensorSource"/>.</summary>
public static class TensorSourceExtensions
{
    /// <summary>The tensor named <paramref name="name"/>; <see cref="KeyNotFoundException"/> naming it otherwise.</summary>
    public static TensorInfo Get(this ITensorSource source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(name);
        return source.Find(name) ?? throw new KeyNotFoundException($"No tensor named '{name}' in the checkpoint.");
    }

    /// <summary>All of a tensor's bytes in one new array (one allocation); tensors over 2 GiB must be read in ranges.</summary>
    public static byte[] ReadAll(this ITensorSource source, TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ByteLength > Array.MaxLength)
        {
            throw new NotSupportedException(
                $"Tensor '{tensor.Name}' has {tensor.ByteLength} bytes, more than one array can hold; read it in ranges.");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)tensor.ByteLength);
        source.Read(tensor, 0, data);
        return data;
    }
}
