using System;
using System.Runtime.InteropServices;
using NeuralSurgery.Runtime.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>Host copies of a live module's state_dict, and reference tensors to and from TorchSharp tensors.</summary>
public static class LiveStateDict
{
    /// <summary>
    /// The module's state_dict (parameters, then persistent buffers, TorchSharp's order and names) as a
    /// <see cref="StateDict"/>: what <c>Module.save</c> would write, copied to host memory.
    /// </summary>
    public static StateDict Of(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        TorchSharpNative.EnsureLoaded();
        var dict = new StateDict();
        foreach (var (name, tensor) in module.state_dict())
        {
            if (!DTypes.TryFromScalarType((long)tensor.dtype, out var dtype))
            {
                throw new NotSupportedException($"tensor '{name}' has dtype {tensor.dtype}, which NeuralSurgery's checkpoints do not hold");
            }

            using var host = tensor.detach().cpu().contiguous();
            var data = host.bytes.ToArray();
            dict.Add(TensorInfo.Create(name, dtype, host.shape), data);
        }

        return dict;
    }

    /// <summary>A reference tensor as a float32 (or, for indices, int64) TorchSharp tensor on <paramref name="device"/>.</summary>
    internal static Tensor ToTorch(Runtime.Reference.Tensor value, Device device, bool indices)
    {
        var shape = new long[value.Rank];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = value.Dim(i);
        }

        if (!indices)
        {
            return torch.tensor(value.Data, shape, ScalarType.Float32, device);
        }

        var longs = new long[value.Length];
        for (var i = 0; i < longs.Length; i++)
        {
            longs[i] = (long)value.Data[i];
        }

        return torch.tensor(longs, shape, ScalarType.Int64, device);
    }

    /// <summary>A TorchSharp tensor as a reference tensor (float32, host).</summary>
    internal static Runtime.Reference.Tensor FromTorch(Tensor value)
    {
        using var host = value.detach().to_type(ScalarType.Float32).cpu().contiguous();
        var shape = new int[host.shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = checked((int)host.shape[i]);
        }

        return new Runtime.Reference.Tensor(MemoryMarshal.Cast<byte, float>(host.bytes).ToArray(), shape);
    }
}
