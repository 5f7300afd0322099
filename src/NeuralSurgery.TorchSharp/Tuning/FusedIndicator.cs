using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Algorithm 1's indicator update I ← αI + d² (d = w − w_i for Dyn-Δ, d = g for Dyn-Grad) in one pass over CPU
/// memory. libtorch runs it as four elementwise kernels (copy, subtract, scale, multiply-add), each a full pass over
/// 10^8 elements; this reads the operands once and writes I once. Other devices and dtypes take the kernels.
/// </summary>
internal static class FusedIndicator
{
    private const long Chunk = 1 << 18;

    /// <summary>Whether <see cref="Update"/> can take these tensors (contiguous float32 on the CPU, one span each).</summary>
    public static bool Applies(Tensor indicator, Tensor a, Tensor? b) =>
        Fits(indicator) && Fits(a) && (b is null || Fits(b)) && indicator.NumberOfElements == a.NumberOfElements;

    /// <summary>I ← αI + (a − b)², or αI + a² without <paramref name="b"/>.</summary>
    public static unsafe void Update(Tensor indicator, Tensor a, Tensor? b, float alpha)
    {
        var n = indicator.NumberOfElements;
        var i = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(indicator.bytes));
        var x = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(a.bytes));
        var y = b is null ? 0 : (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(b.bytes));
        var chunks = (int)((n + Chunk - 1) / Chunk);
        Parallel.For(0, chunks, c =>
        {
            var start = c * Chunk;
            var end = Math.Min(n, start + Chunk);
            Run((float*)i + start, (float*)x + start, y == 0 ? null : (float*)y + start, end - start, alpha);
        });
    }

    private static unsafe void Run(float* indicator, float* a, float* b, long count, float alpha)
    {
        var width = Vector<float>.Count;
        var scale = new Vector<float>(alpha);
        long k = 0;
        for (; k + width <= count; k += width)
        {
            var d = Unsafe.ReadUnaligned<Vector<float>>(a + k);
            if (b != null)
            {
                d -= Unsafe.ReadUnaligned<Vector<float>>(b + k);
            }

            var current = Unsafe.ReadUnaligned<Vector<float>>(indicator + k);
            Unsafe.WriteUnaligned(indicator + k, (scale * current) + (d * d));
        }

        for (; k < count; k++)
        {
            var d = b == null ? a[k] : a[k] - b[k];
            indicator[k] = (alpha * indicator[k]) + (d * d);
        }
    }

    private static bool Fits(Tensor t) =>
        t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous() && t.NumberOfElements * 4 <= int.MaxValue;
}
