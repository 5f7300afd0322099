using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;

namespace NeuralSurgery.Runtime.Reference.Kernels;

/// <summary>
/// Single-precision matrix multiply C = op(A)·op(B) (+ C), row-major, op = identity or transpose.
/// </summary>
/// <remarks>
/// GotoBLAS/BLIS structure: B is packed per (K block, N block) into NR-wide panels shared by all workers, each
/// worker packs an MC×KC block of A into MR-tall panels that stay in L2, and a 6×16 register micro-kernel of
/// Vector256 fused multiply-adds walks the panels. Packing absorbs the transposes, so the four variants share one
/// kernel; edges are zero-padded in the packed panels and written back through a small tile. Work is split over
/// (M block, N range) tasks with <see cref="Parallel.For(int, int, Action{int})"/> once the product is large
/// enough to pay for the fork.
/// </remarks>
public static unsafe class MatMul
{
    private const int MR = 6;
    private const int NR = 16;
    private const int KC = 256;
    private const int MC = 96;
    private const int NC = 2048;

    /// <summary>Products with fewer multiply-adds run on the calling thread.</summary>
    public const long ParallelThreshold = 1L << 20;

    /// <summary>
    /// C[m, n] = op(A)[m, k] · op(B)[k, n], or C += that when <paramref name="accumulate"/>. A is stored [m, k]
    /// (or [k, m] when <paramref name="transposeA"/>), B [k, n] (or [n, k] when <paramref name="transposeB"/>).
    /// </summary>
    public static void Multiply(
        ReadOnlySpan<float> a,
        ReadOnlySpan<float> b,
        Span<float> c,
        int m,
        int n,
        int k,
        bool transposeA = false,
        bool transposeB = false,
        bool accumulate = false)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"Matrix sizes must be >= 0; got m {m}, n {n}, k {k}.");
        }

        Need(a, (long)m * k, "A", $"{(transposeA ? "[k, m]" : "[m, k]")} = {m}x{k}");
        Need(b, (long)k * n, "B", $"{(transposeB ? "[n, k]" : "[k, n]")} = {k}x{n}");
        Need(c, (long)m * n, "C", $"[m, n] = {m}x{n}");
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }

            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            Run(pa, pb, pc, m, n, k, transposeA, transposeB, accumulate);
        }
    }

    private static void Need(ReadOnlySpan<float> span, long count, string name, string shape)
    {
        if (span.Length < count)
        {
            throw new ArgumentException($"Matrix {name} has {span.Length} elements; expected at least {count} for {shape}.");
        }
    }

    private static void Run(float* a, float* b, float* c, int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        var parallel = Environment.ProcessorCount > 1 && (long)m * n * k >= ParallelThreshold;
        var blocksM = (m + MC - 1) / MC;
        var bPack = ArrayPool<float>.Shared.Rent(KC * RoundUp(Math.Min(n, NC), NR));
        try
        {
            fixed (float* bp = bPack)
            {
                for (var jc = 0; jc < n; jc += NC)
                {
                    var nc = Math.Min(NC, n - jc);
                    var panels = (nc + NR - 1) / NR;
                    for (var pc = 0; pc < k; pc += KC)
                    {
                        var kc = Math.Min(KC, k - pc);
                        var add = accumulate || pc > 0;
                        PackB(b, bp, n, k, tb, pc, kc, jc, nc, panels, parallel);

                        // Enough tasks to keep every core busy when M has few blocks (a batch of 64 rows is one).
                        var target = parallel ? Environment.ProcessorCount * 2 : 1;
                        var splitN = Math.Clamp((target + blocksM - 1) / blocksM, 1, panels);
                        var tasks = blocksM * splitN;
                        var bAddr = (nint)bp;
                        void Task(int t)
                        {
                            var ib = t / splitN;
                            var js = t % splitN;
                            var p0 = (int)((long)js * panels / splitN);
                            var p1 = (int)((long)(js + 1) * panels / splitN);
                            Block(a, (float*)bAddr, c, m, n, k, ta, ib * MC, pc, kc, jc, nc, p0, p1, add);
                        }

                        if (parallel && tasks > 1)
                        {
                            Parallel.For(0, tasks, Task);
                        }
                        else
                        {
                            for (var t = 0; t < tasks; t++)
                            {
                                Task(t);
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bPack);
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>Packs B[pc..pc+kc, jc..jc+nc] into NR-wide panels: panel j holds kc rows of NR values, zero-padded.</summary>
    private static void PackB(float* b, float* dst, int n, int k, bool tb, int pc, int kc, int jc, int nc, int panels, bool parallel)
    {
        var bAddr = (nint)b;
        var dAddr = (nint)dst;
        void Panel(int j)
        {
            var src = (float*)bAddr;
            var d = (float*)dAddr + ((long)j * kc * NR);
            var j0 = jc + (j * NR);
            var w = Math.Min(NR, jc + nc - j0);
            if (!tb)
            {
                for (var p = 0; p < kc; p++)
                {
                    var row = src + ((long)(pc + p) * n) + j0;
                    var o = d + (p * NR);
                    if (w == NR)
                    {
                        Vector256.Store(Vector256.Load(row), o);
                        Vector256.Store(Vector256.Load(row + 8), o + 8);
                    }
                    else
                    {
                        for (var q = 0; q < NR; q++)
                        {
                            o[q] = q < w ? row[q] : 0f;
                        }
                    }
                }
            }
            else
            {
                // B is stored [n, k]: read each source row contiguously, scatter into the panel's column.
                for (var q = 0; q < NR; q++)
                {
                    if (q < w)
                    {
                        var row = src + ((long)(j0 + q) * k) + pc;
                        for (var p = 0; p < kc; p++)
                        {
                            d[(p * NR) + q] = row[p];
                        }
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++)
                        {
                            d[(p * NR) + q] = 0f;
                        }
                    }
                }
            }
        }

        if (parallel && panels > 1)
        {
            Parallel.For(0, panels, Panel);
        }
        else
        {
            for (var j = 0; j < panels; j++)
            {
                Panel(j);
            }
        }
    }

    /// <summary>One task: pack A rows [i0, i0+MC) × [pc, pc+kc) and multiply them with B panels [p0, p1).</summary>
    private static void Block(float* a, float* bPacked, float* c, int m, int n, int k, bool ta, int i0, int pc, int kc, int jc, int nc, int p0, int p1, bool add)
    {
        var mc = Math.Min(MC, m - i0);
        var aPanels = (mc + MR - 1) / MR;
        var aPack = ArrayPool<float>.Shared.Rent(aPanels * MR * kc);
        try
        {
            fixed (float* ap = aPack)
            {
                PackA(a, ap, m, k, ta, i0, mc, pc, kc, aPanels);
                var tile = stackalloc float[MR * NR];
                for (var jp = p0; jp < p1; jp++)
                {
                    var j0 = jc + (jp * NR);
                    var nr = Math.Min(NR, jc + nc - j0);
                    var bPanel = bPacked + ((long)jp * kc * NR);
                    for (var ip = 0; ip < aPanels; ip++)
                    {
                        var r0 = i0 + (ip * MR);
                        var mr = Math.Min(MR, m - r0);
                        var aPanel = ap + (ip * MR * kc);
                        if (mr == MR && nr == NR)
                        {
                            Kernel6x16(aPanel, bPanel, kc, c + ((long)r0 * n) + j0, n, add);
                        }
                        else
                        {
                            Kernel6x16(aPanel, bPanel, kc, tile, NR, add: false);
                            for (var r = 0; r < mr; r++)
                            {
                                var dst = c + ((long)(r0 + r) * n) + j0;
                                for (var q = 0; q < nr; q++)
                                {
                                    dst[q] = add ? dst[q] + tile[(r * NR) + q] : tile[(r * NR) + q];
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aPack);
        }
    }

    /// <summary>Packs A rows into MR-tall panels: panel i holds kc columns of MR values, zero-padded.</summary>
    private static void PackA(float* a, float* dst, int m, int k, bool ta, int i0, int mc, int pc, int kc, int panels)
    {
        for (var ip = 0; ip < panels; ip++)
        {
            var d = dst + (ip * MR * kc);
            var r0 = i0 + (ip * MR);
            var h = Math.Min(MR, i0 + mc - r0);
            if (ta)
            {
                // A is stored [k, m]: the MR values of one column are contiguous.
                for (var p = 0; p < kc; p++)
                {
                    var col = a + ((long)(pc + p) * m) + r0;
                    for (var r = 0; r < MR; r++)
                    {
                        d[(p * MR) + r] = r < h ? col[r] : 0f;
                    }
                }
            }
            else
            {
                for (var r = 0; r < MR; r++)
                {
                    if (r < h)
                    {
                        var row = a + ((long)(r0 + r) * k) + pc;
                        for (var p = 0; p < kc; p++)
                        {
                            d[(p * MR) + r] = row[p];
                        }
                    }
                    else
                    {
                        for (var p = 0; p < kc; p++)
                        {
                            d[(p * MR) + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    /// <summary>The 6×16 register tile: 12 accumulators, two B vectors and one broadcast of A (15 of 16 ymm registers).</summary>
    private static void Kernel6x16(float* a, float* b, int kc, float* c, int ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Fmadd(x, b0, c00);
            c01 = Fmadd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Fmadd(x, b0, c10);
            c11 = Fmadd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Fmadd(x, b0, c20);
            c21 = Fmadd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Fmadd(x, b0, c30);
            c31 = Fmadd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Fmadd(x, b0, c40);
            c41 = Fmadd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Fmadd(x, b0, c50);
            c51 = Fmadd(x, b1, c51);
            a += MR;
            b += NR;
        }

        Store(c, c00, c01, add);
        Store(c + ldc, c10, c11, add);
        Store(c + (2 * ldc), c20, c21, add);
        Store(c + (3 * ldc), c30, c31, add);
        Store(c + (4 * ldc), c40, c41, add);
        Store(c + (5 * ldc), c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }

        Vector256.Store(v0, c);
        Vector256.Store(v1, c + 8);
    }
}
