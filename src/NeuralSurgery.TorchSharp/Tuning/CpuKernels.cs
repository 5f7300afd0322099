using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Algorithm 1's per-element work (paper 000 section 4.4) on contiguous float32 CPU tensors, each job in one
/// streaming pass over memory with AVX2. The plain SGD step it is measured against is memory-bound (it reads w and
/// g and writes w: 12 bytes per element), and libtorch's ops for the same work take one pass each: masking the
/// gradient, restoring frozen elements and I ← αI + Δ² were six passes. Here a step costs one pass before the
/// optimizer (only while some elements are frozen: read g and the mask, write g) and one after it (read w, w_i and I,
/// write I, plus the mask and the reset of frozen elements while some are frozen: 16 to 17 bytes). The arithmetic
/// is the reference runtime's (<see cref="NeuralSurgery.Runtime.Tuning.DynamicSurgery"/>): αI rounded, then one
/// fused multiply-add, so the indicators agree bit for bit. Other devices and dtypes take libtorch's ops.
/// </summary>
internal static unsafe partial class CpuKernels
{
    /// <summary>Elements per parallel work item: 1 MiB of float32, long enough to stream, short enough to balance.</summary>
    private const long Chunk = 1 << 18;

    /// <summary>Whether this CPU has the instructions the kernels use (else libtorch's ops run).</summary>
    public static bool Available => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Contiguous CPU tensor of <paramref name="dtype"/> whose bytes one span can address.</summary>
    public static bool Fits(Tensor t, ScalarType dtype) =>
        t.device_type == DeviceType.CPU && t.dtype == dtype && t.is_contiguous() && t.NumberOfElements * t.ElementSize <= int.MaxValue;

    public static nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>
    /// Before the optimizer: g ← 0 off the mask (null: every element is a member); with an indicator, Dyn-Grad's I ← αI + g² after the masking, each chunk then counted into
    /// <paramref name="precount"/> as segment <paramref name="segment"/> when a deletion follows.
    /// </summary>
    public static void BeforeStep(Tensor gradient, Tensor? mask, Tensor? indicator, float alpha, Precount? precount = null, int segment = 0)
    {
        var (g, m, i) = (Address(gradient), mask is null ? 0 : Address(mask), indicator is null ? 0 : Address(indicator));
        ForChunks(gradient.NumberOfElements, (start, count) =>
        {
            BeforeStep((float*)g + start, m == 0 ? null : (byte*)m + start, i == 0 ? null : (float*)i + start, count, alpha);
            precount?.Count(segment, start, count, (float*)i, (byte*)m);
        });
    }

    /// <summary>
    /// After the optimizer: w ← w_i off the mask (null: every element is a member), written only where the step moved
    /// it; with an indicator, Dyn-Δ's I ← αI + (w − w_i)², which is αI off the mask, each chunk then counted into
    /// <paramref name="precount"/> as segment <paramref name="segment"/> when a deletion follows.
    /// </summary>
    public static void AfterStep(Tensor parameter, Tensor initial, Tensor? mask, Tensor? indicator, float alpha, Precount? precount = null, int segment = 0)
    {
        var (p, w) = (Address(parameter), Address(initial));
        var (m, i) = (mask is null ? 0 : Address(mask), indicator is null ? 0 : Address(indicator));
        ForChunks(parameter.NumberOfElements, (start, count) =>
        {
            AfterStep((float*)p + start, (float*)w + start, m == 0 ? null : (byte*)m + start, i == 0 ? null : (float*)i + start, count, alpha);
            precount?.Count(segment, start, count, (float*)i, (byte*)m);
        });
    }

    /// <summary>
    /// Dyn-Δ's I after this step at the <see cref="Sampled"/> members, computed before the after-step pass
    /// writes it (the same arithmetic), so that the deletion's bracket is known while that pass runs.
    /// </summary>
    public static void PredictDelta(List<float> sample, Tensor parameter, Tensor initial, Tensor? mask, Tensor indicator, float alpha, long stride)
    {
        var p = (float*)Address(parameter);
        var w = (float*)Address(initial);
        var m = mask is null ? null : (byte*)Address(mask);
        var i = (float*)Address(indicator);
        foreach (var k in Sampled(parameter.NumberOfElements, stride))
        {
            if (m == null || m[k] != 0)
            {
                var d = p[k] - w[k];
                sample.Add(MathF.FusedMultiplyAdd(d, d, alpha * i[k]));
            }
        }
    }

    /// <summary>Dyn-Grad's I after this step at the <see cref="Sampled"/> members (unchanged without a gradient).</summary>
    public static void PredictGradient(List<float> sample, Tensor? gradient, Tensor? mask, Tensor indicator, float alpha, long stride)
    {
        var g = gradient is null ? null : (float*)Address(gradient);
        var m = mask is null ? null : (byte*)Address(mask);
        var i = (float*)Address(indicator);
        foreach (var k in Sampled(indicator.NumberOfElements, stride))
        {
            if (m == null || m[k] != 0)
            {
                sample.Add(g == null ? i[k] : MathF.FusedMultiplyAdd(g[k], g[k], alpha * i[k]));
            }
        }
    }

    /// <summary>Runs <paramref name="body"/> over chunks of [0, length) in parallel.</summary>
    private static void ForChunks(long length, Action<long, long> body)
    {
        var chunks = (int)((length + Chunk - 1) / Chunk);
        if (chunks <= 1)
        {
            if (length > 0)
            {
                body(0, length);
            }

            return;
        }

        Parallel.For(0, chunks, c =>
        {
            var start = c * Chunk;
            body(start, Math.Min(length, start + Chunk) - start);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // steps are few and long: no unoptimised first tier
    private static void BeforeStep(float* g, byte* m, float* indicator, long count, float alpha)
    {
        var scale = Vector256.Create(alpha);
        long k = 0;
        for (; k + 32 <= count; k += 32)
        {
            // Blocks of members only skip the masking. Within a block, the gradient is stored whether or not a frozen
            // lane was already 0: with a scattered mask that is a coin toss a branch would keep losing.
            var partial = m != null && MemberBits(m, k) != uint.MaxValue;
            for (var j = k; j < k + 32; j += 8)
            {
                var gv = Avx.LoadVector256(g + j);
                if (partial)
                {
                    gv = Avx.And(gv, Members(m + j));
                    Avx.Store(g + j, gv);
                }

                if (indicator != null)
                {
                    Avx.Store(indicator + j, Fma.MultiplyAdd(gv, gv, Avx.Multiply(scale, Avx.LoadVector256(indicator + j))));
                }
            }
        }

        for (; k < count; k++)
        {
            if (m != null && m[k] == 0)
            {
                g[k] = 0;
            }

            if (indicator != null)
            {
                indicator[k] = MathF.FusedMultiplyAdd(g[k], g[k], alpha * indicator[k]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AfterStep(float* p, float* w, byte* m, float* indicator, long count, float alpha)
    {
        var scale = Vector256.Create(alpha);
        long k = 0;
        for (; k + 32 <= count; k += 32)
        {
            var partial = m != null && MemberBits(m, k) != uint.MaxValue; // blocks of members only skip the reset
            for (var j = k; j < k + 32; j += 8)
            {
                var pv = Avx.LoadVector256(p + j);
                var wv = Avx.LoadVector256(w + j);
                if (partial)
                {
                    // Frozen elements back to w_i bit for bit, written only where the step moved one (an optimizer
                    // moves them nearly everywhere, by decay or momentum, or nowhere: the branch predicts).
                    var member = Members(m + j);
                    if (Avx.MoveMask(Avx.Or(member, Avx2.CompareEqual(pv.AsInt32(), wv.AsInt32()).AsSingle())) != 0xFF)
                    {
                        pv = Avx.BlendVariable(wv, pv, member);
                        Avx.Store(p + j, pv);
                    }
                }

                if (indicator != null)
                {
                    // Δ after the reset, as the reference computes it (0 off the mask).
                    var d = Avx.Subtract(pv, wv);
                    Avx.Store(indicator + j, Fma.MultiplyAdd(d, d, Avx.Multiply(scale, Avx.LoadVector256(indicator + j))));
                }
            }
        }

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
            }
        }
    }

    /// <summary>All-ones lanes where the bool bytes at <paramref name="m"/> are set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Members(byte* m) =>
        Avx2.CompareGreaterThan(Avx2.ConvertToVector256Int32(m), Vector256<int>.Zero).AsSingle();
}
