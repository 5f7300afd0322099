using System;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using System.Threading.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Algorithm 1's per-element work (paper 000 section 4.4) on contiguous float32 CPU tensors, each job in one
/// streaming pass over memory with AVX2. The plain SGD step it is measured against is memory-bound (it reads w and
/// g and writes w: 12 bytes per element), and libtorch's ops for the same work take one pass each: masking the
/// gradient, restoring frozen elements and I ← αI + Δ² were six passes. Here a step costs one pass before the
/// optimizer (only while some elements are frozen: read g and the mask, write g where it changes) and one after it
/// (read w, w_i and I, write I, plus the mask and the reset of frozen elements while some are frozen). The arithmetic
/// is the reference runtime's (<see cref="NeuralSurgery.Runtime.Tuning.DynamicSurgery"/>): αI rounded, then one
/// fused multiply-add, so the indicators agree bit for bit. Other devices and dtypes take libtorch's ops.
/// </summary>
internal static unsafe partial class CpuKernels
{
    /// <summary>Elements per parallel work item: 1 MiB of float32, long enough to stream, short enough to balance.</summary>
    private const long Chunk = 1 << 18;

    /// <summary>Eight bool bytes that are all true.</summary>
    private const ulong AllSet = 0x0101010101010101UL;

    /// <summary>Whether this CPU has the instructions the kernels use (else libtorch's ops run).</summary>
    public static bool Available => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Contiguous CPU tensor of <paramref name="dtype"/> whose bytes one span can address.</summary>
    public static bool Fits(Tensor t, ScalarType dtype) =>
        t.device_type == DeviceType.CPU && t.dtype == dtype && t.is_contiguous() && t.NumberOfElements * t.ElementSize <= int.MaxValue;

    public static nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>
    /// Before the optimizer: g ← 0 off the mask (null: every element is a member), written only where it changes;
    /// with an indicator, Dyn-Grad's I ← αI + g² after the masking. Returns whether an indicator became NaN.
    /// </summary>
    public static bool BeforeStep(Tensor gradient, Tensor? mask, Tensor? indicator, float alpha)
    {
        var (g, m, i) = (Address(gradient), mask is null ? 0 : Address(mask), indicator is null ? 0 : Address(indicator));
        return ForChunks(gradient.NumberOfElements, (start, count) =>
            BeforeStep((float*)g + start, m == 0 ? null : (byte*)m + start, i == 0 ? null : (float*)i + start, count, alpha));
    }

    /// <summary>
    /// After the optimizer: w ← w_i off the mask (null: every element is a member), written only where the step moved
    /// it; with an indicator, Dyn-Δ's I ← αI + (w − w_i)², which is αI off the mask. Returns whether an indicator
    /// became NaN.
    /// </summary>
    public static bool AfterStep(Tensor parameter, Tensor initial, Tensor? mask, Tensor? indicator, float alpha)
    {
        var (p, w) = (Address(parameter), Address(initial));
        var (m, i) = (mask is null ? 0 : Address(mask), indicator is null ? 0 : Address(indicator));
        return ForChunks(parameter.NumberOfElements, (start, count) =>
            AfterStep((float*)p + start, (float*)w + start, m == 0 ? null : (byte*)m + start, i == 0 ? null : (float*)i + start, count, alpha));
    }

    /// <summary>Runs <paramref name="body"/> over chunks of [0, length) in parallel; true when any chunk returned true.</summary>
    private static bool ForChunks(long length, Func<long, long, bool> body)
    {
        var chunks = (int)((length + Chunk - 1) / Chunk);
        if (chunks <= 1)
        {
            return length > 0 && body(0, length);
        }

        var any = 0;
        Parallel.For(0, chunks, c =>
        {
            var start = c * Chunk;
            if (body(start, Math.Min(length, start + Chunk) - start))
            {
                Interlocked.Exchange(ref any, 1);
            }
        });
        return any != 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // steps are few and long: no unoptimised first tier
    private static bool BeforeStep(float* g, byte* m, float* indicator, long count, float alpha)
    {
        var scale = Vector256.Create(alpha);
        var nan = Vector256<float>.Zero;
        long k = 0;
        for (; k + 8 <= count; k += 8)
        {
            var gv = Avx.LoadVector256(g + k);
            if (m != null && *(ulong*)(m + k) != AllSet)
            {
                var masked = Avx.And(gv, Members(m + k));
                if (Avx.MoveMask(Avx2.CompareEqual(masked.AsInt32(), gv.AsInt32()).AsSingle()) != 0xFF)
                {
                    Avx.Store(g + k, masked);
                }

                gv = masked;
            }

            if (indicator != null)
            {
                var r = Fma.MultiplyAdd(gv, gv, Avx.Multiply(scale, Avx.LoadVector256(indicator + k)));
                nan = Avx.Or(nan, Avx.CompareUnordered(r, r));
                Avx.Store(indicator + k, r);
            }
        }

        var any = Avx.MoveMask(nan) != 0;
        for (; k < count; k++)
        {
            if (m != null && m[k] == 0)
            {
                g[k] = 0;
            }

            if (indicator != null)
            {
                indicator[k] = MathF.FusedMultiplyAdd(g[k], g[k], alpha * indicator[k]);
                any |= float.IsNaN(indicator[k]);
            }
        }

        return any;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AfterStep(float* p, float* w, byte* m, float* indicator, long count, float alpha)
    {
        var scale = Vector256.Create(alpha);
        var nan = Vector256<float>.Zero;
        long k = 0;
        for (; k + 8 <= count; k += 8)
        {
            var pv = Avx.LoadVector256(p + k);
            var wv = Avx.LoadVector256(w + k);
            if (m != null && *(ulong*)(m + k) != AllSet)
            {
                // Frozen elements back to w_i bit for bit; no write where the step left them there.
                var member = Members(m + k);
                var same = Avx2.CompareEqual(pv.AsInt32(), wv.AsInt32()).AsSingle();
                if (Avx.MoveMask(Avx.Or(member, same)) != 0xFF)
                {
                    pv = Avx.BlendVariable(wv, pv, member);
                    Avx.Store(p + k, pv);
                }
            }

            if (indicator != null)
            {
                // Δ after the reset, as the reference computes it (0 off the mask).
                var d = Avx.Subtract(pv, wv);
                var r = Fma.MultiplyAdd(d, d, Avx.Multiply(scale, Avx.LoadVector256(indicator + k)));
                nan = Avx.Or(nan, Avx.CompareUnordered(r, r));
                Avx.Store(indicator + k, r);
            }
        }

        var any = Avx.MoveMask(nan) != 0;
        for (; k < count; k++)
        {
            if (m != null && m[k] == 0)
            {
                p[k] = w[k];
            }

            if (indicator != null)
            {
                var d = p[k] - w[k];
                indicator[k] = MathF.FusedMultiplyAdd(d, d, alpha * indicator[k]);
                any |= float.IsNaN(indicator[k]);
            }
        }

        return any;
    }

    /// <summary>All-ones lanes where the bool bytes at <paramref name="m"/> are set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Members(byte* m) =>
        Avx2.CompareGreaterThan(Avx2.ConvertToVector256Int32(m), Vector256<int>.Zero).AsSingle();
}
