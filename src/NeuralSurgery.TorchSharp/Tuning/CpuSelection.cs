using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Tasks;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Top-n selection over contiguous CPU tensors (float32 scores, bool masks) in two streaming passes, for Algorithm 1's
/// deletions (paper 000 section 4.4: keep the |S| − N members with the largest I_p) and DeviceMask.TopN.
/// A sample (one hashed index per stride window) brackets the threshold; the first pass counts the members above the bracket and collects the
/// positions inside it (and refuses NaN before anything is written); the exact threshold and the last tie taken
/// come from those few; the second pass writes the mask and, for Algorithm 1, resets the members it deletes to w_i.
/// On Algorithm 1's deletion step the first pass rides on the step's own pass (<see cref="Precount"/>), so a deletion
/// adds one pass over memory. libtorch took about a dozen passes and a fresh 10^8-element mask for the same deletion.
/// </summary>
internal static unsafe partial class CpuKernels
{
    /// <summary>About this many sampled scores bracket the threshold; smaller selections are done exactly.</summary>
    private const long SampleTarget = 1 << 17;

    /// <summary>Byte i has bit b of the index (a movemask of eight lanes as eight bool bytes).</summary>
    private static readonly ulong[] Expand = [.. Enumerable.Range(0, 256).Select(i =>
    {
        ulong bytes = 0;
        for (var b = 0; b < 8; b++)
        {
            bytes |= (ulong)((i >> b) & 1) << (8 * b);
        }

        return bytes;
    })];

    /// <summary>
    /// One tensor of a selection: its scores, which elements compete (0: all), where the chosen mask goes (may be
    /// <paramref name="Among"/> itself), and, when not 0, the parameter whose deleted members go back to w_i.
    /// </summary>
    public readonly record struct Segment(string Name, nint Score, nint Among, nint Output, nint Parameter, nint Initial, long Length);

    /// <summary>The threshold and the last tie at it that is taken (segment, index); earlier ties are taken too.</summary>
    private readonly record struct Cut(float Threshold, int Segment, long Position);

    internal readonly record struct Item(int Segment, long Start, long Count);

    internal sealed class Tally
    {
        public long Above;
        public List<int> Band = [];
        public List<float> Values = []; // the band's scores, gathered while they are in registers
        public bool NaN;
    }

    /// <summary>
    /// Writes each segment's Output: exactly <paramref name="keep"/> of the <paramref name="competing"/> competing
    /// elements, the largest scores, ties at the threshold to the earliest (segment order, then index), which is the
    /// reference TopN's order. With <paramref name="precount"/>, the pass that wrote the scores has done the first
    /// pass. Returns the count kept per segment.
    /// </summary>
    /// <exception cref="ArgumentException">A score is NaN; nothing has been written.</exception>
    public static long[] Select(IReadOnlyList<Segment> segments, long competing, long keep, Precount? precount = null)
    {
        var items = new List<Item>();
        for (var s = 0; s < segments.Count; s++)
        {
            for (long start = 0; start < segments[s].Length; start += Chunk)
            {
                items.Add(new Item(s, start, Math.Min(Chunk, segments[s].Length - start)));
            }
        }

        if (keep == 0 || keep == competing)
        {
            // Nothing to rank; the counting pass only refuses NaN.
            _ = Count(segments, items, float.PositiveInfinity, float.NegativeInfinity);
            return Apply(segments, items, keep == 0 ? new Cut(float.PositiveInfinity, -1, -1) : new Cut(float.NegativeInfinity, int.MaxValue, long.MaxValue));
        }

        Tally[] tallies;
        if (precount?.Tallies() is { } counted)
        {
            RefuseNaN(segments, items, counted);
            tallies = counted;
        }
        else
        {
            var (lo, hi) = Bracket(competing, keep, () => Gather(segments, SampleStride(segments.Sum(s => s.Length))));
            tallies = Count(segments, items, lo, hi);
        }

        var cut = Resolve(items, tallies, keep);
        if (cut is null)
        {
            // The sample misjudged the bracket (adversarially periodic scores): every member is in the band.
            cut = Resolve(items, Count(segments, items, float.NegativeInfinity, float.PositiveInfinity), keep)
                ?? throw new InvalidOperationException("an unbounded bracket holds the threshold");
        }

        return Apply(segments, items, cut.Value);
    }

    /// <summary>The stride of the sample that brackets a selection over <paramref name="total"/> elements.</summary>
    public static long SampleStride(long total) => Math.Max(1, total / SampleTarget);

    /// <summary>
    /// The sampled indices of a tensor: one at a hashed offset inside each <paramref name="stride"/>-long window, so
    /// that a layout periodic in the stride (a 768-wide layer under a stride of 768) cannot bias the sample.
    /// </summary>
    public static IEnumerable<long> Sampled(long length, long stride)
    {
        for (long window = 0; window * stride < length; window++)
        {
            var i = (window * stride) + (long)((ulong)(window + 1) * 0x9E3779B97F4A7C15UL >> 33) % stride;
            if (i < length)
            {
                yield return i;
            }
        }
    }

    /// <summary>
    /// Scores a <see cref="Sampled"/> sample of about <see cref="SampleTarget"/> members puts five binomial standard deviations
    /// either side of the threshold's quantile; unbounded (and no sample taken) for small selections.
    /// </summary>
    public static (float Lo, float Hi) Bracket(long competing, long keep, Func<float[]> sampled)
    {
        var unbounded = (float.NegativeInfinity, float.PositiveInfinity);
        if (competing <= SampleTarget * 4)
        {
            return unbounded;
        }

        var sample = sampled();
        var m = sample.Length;
        if (m < 1000 || sample.Any(float.IsNaN))
        {
            return unbounded;
        }

        var q = (double)(competing - keep + 1) / competing; // the threshold is the (|S| − keep + 1)-th smallest
        var margin = (5 * Math.Sqrt(m * q * (1 - q))) + 16;
        var low = (long)Math.Floor((q * m) - margin);
        var high = (long)Math.Ceiling((q * m) + margin);
        return (low < 1 ? float.NegativeInfinity : Smallest(sample, low), high > m ? float.PositiveInfinity : Smallest(sample, high));
    }

    /// <summary>
    /// A selection's first pass done by the kernel pass that writes the scores (Algorithm 1's deletion step): each
    /// chunk is counted against the bracket right after the kernel wrote it, from cache rather than from memory.
    /// </summary>
    internal sealed class Precount
    {
        private readonly Tally?[][] _tallies;

        public Precount((float Lo, float Hi) bracket, IEnumerable<long> lengths)
        {
            (Lo, Hi) = bracket;
            _tallies = [.. lengths.Select(n => new Tally?[(n + Chunk - 1) / Chunk])];
        }

        public float Lo { get; }

        public float Hi { get; }

        /// <summary>Counts the chunk [start, start + count) of segment <paramref name="segment"/> (pointers at index 0).</summary>
        public void Count(int segment, long start, long count, float* score, byte* among) =>
            _tallies[segment][start / Chunk] = CpuKernels.Count(score + start, among == null ? null : among + start, new Item(segment, start, count), Lo, Hi);

        /// <summary>The tallies in segment and chunk order, or null unless every chunk was counted.</summary>
        public Tally[]? Tallies()
        {
            var all = _tallies.SelectMany(t => t).ToArray();
            return all.All(t => t is not null) ? [.. all.Select(t => t!)] : null;
        }
    }

    /// <summary>
    /// The <paramref name="k"/>-th smallest (from 1) by quickselect, reordering <paramref name="values"/> (no NaN).
    /// libtorch's kthvalue took tens of milliseconds for the band of a 10^8-element deletion.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per deletion: no unoptimised first tier
    private static float Smallest(float[] values, long k)
    {
        var (lo, hi, target) = (0, values.Length - 1, (int)(k - 1));
        while (lo < hi)
        {
            var (a, b, c) = (values[lo], values[lo + ((hi - lo) >> 1)], values[hi]);
            var pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c)); // median of three
            var (i, j) = (lo, hi);
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            // [lo, j] ≤ pivot ≤ [i, hi], and what lies between equals the pivot.
            if (target <= j)
            {
                hi = j;
            }
            else if (target >= i)
            {
                lo = i;
            }
            else
            {
                return values[target];
            }
        }

        return values[target];
    }

    /// <summary>The members' scores at the <see cref="Sampled"/> indices of each segment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] Gather(IReadOnlyList<Segment> segments, long stride)
    {
        var sample = new List<float>((int)(SampleTarget * 2));
        foreach (var segment in segments)
        {
            var score = (float*)segment.Score;
            var among = (byte*)segment.Among;
            foreach (var i in Sampled(segment.Length, stride))
            {
                if (among == null || among[i] != 0)
                {
                    sample.Add(score[i]);
                }
            }
        }

        return [.. sample];
    }

    /// <summary>Per item: competing elements above <paramref name="hi"/>, positions of those in [lo, hi]; refuses NaN.</summary>
    private static Tally[] Count(IReadOnlyList<Segment> segments, List<Item> items, float lo, float hi)
    {
        var tallies = new Tally[items.Count];
        Parallel.For(0, items.Count, w =>
        {
            var (segment, item) = (segments[items[w].Segment], items[w]);
            tallies[w] = Count((float*)segment.Score + item.Start, segment.Among == 0 ? null : (byte*)segment.Among + item.Start, item, lo, hi);
        });

        RefuseNaN(segments, items, tallies);
        return tallies;
    }

    private static void RefuseNaN(IReadOnlyList<Segment> segments, List<Item> items, Tally[] tallies)
    {
        for (var w = 0; w < items.Count; w++)
        {
            if (tallies[w].NaN)
            {
                throw new ArgumentException($"a score of '{segments[items[w].Segment].Name}' is NaN", "scores");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Tally Count(float* score, byte* among, Item item, float lo, float hi)
    {
        var tally = new Tally();
        var (low, high) = (Vector256.Create(lo), Vector256.Create(hi));
        var nan = Vector256<float>.Zero;
        long k = 0;
        for (; k + 32 <= item.Count; k += 32)
        {
            var (s0, s1, s2, s3) = (Avx.LoadVector256(score + k), Avx.LoadVector256(score + k + 8), Avx.LoadVector256(score + k + 16), Avx.LoadVector256(score + k + 24));
            nan = Avx.Or(nan, Avx.Or(Avx.Or(Avx.CompareUnordered(s0, s0), Avx.CompareUnordered(s1, s1)), Avx.Or(Avx.CompareUnordered(s2, s2), Avx.CompareUnordered(s3, s3))));
            var members = MemberBits(among, k);
            if (members == 0)
            {
                continue;
            }

            tally.Above += BitOperations.PopCount(Bits(Avx.CompareGreaterThan(s0, high), Avx.CompareGreaterThan(s1, high), Avx.CompareGreaterThan(s2, high), Avx.CompareGreaterThan(s3, high)) & members);
            var inside = Bits(Inside(s0, low, high), Inside(s1, low, high), Inside(s2, low, high), Inside(s3, low, high)) & members;
            for (; inside != 0; inside &= inside - 1)
            {
                var b = BitOperations.TrailingZeroCount(inside);
                tally.Band.Add((int)(item.Start + k + b));
                tally.Values.Add(score[k + b]);
            }
        }

        tally.NaN = Avx.MoveMask(nan) != 0;
        for (; k < item.Count; k++)
        {
            var s = score[k];
            tally.NaN |= float.IsNaN(s);
            if (among != null && among[k] == 0)
            {
                continue;
            }

            if (s > hi)
            {
                tally.Above++;
            }
            else if (s >= lo)
            {
                tally.Band.Add((int)(item.Start + k));
                tally.Values.Add(s);
            }
        }

        return tally;
    }

    private static Vector256<float> Inside(Vector256<float> s, Vector256<float> low, Vector256<float> high) =>
        Avx.And(Avx.CompareGreaterThanOrEqual(s, low), Avx.CompareLessThanOrEqual(s, high));

    /// <summary>Four compare results of eight lanes as the 32 bits of 32 elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Bits(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d) =>
        (uint)Avx.MoveMask(a) | ((uint)Avx.MoveMask(b) << 8) | ((uint)Avx.MoveMask(c) << 16) | ((uint)Avx.MoveMask(d) << 24);

    /// <summary>The exact threshold and last tie from the band, or null when the bracket does not hold the threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Cut? Resolve(List<Item> items, Tally[] tallies, long keep)
    {
        var above = tallies.Sum(t => t.Above);
        var band = tallies.Sum(t => (long)t.Band.Count);
        var needed = keep - above; // how many of the band's largest are kept
        if (needed < 1 || needed > band || band > Array.MaxLength)
        {
            return null;
        }

        var values = new float[band];
        var v = 0;
        foreach (var tally in tallies)
        {
            tally.Values.CopyTo(values, v);
            v += tally.Values.Count;
        }

        var threshold = Smallest((float[])values.Clone(), band - needed + 1);

        long greater = 0;
        foreach (var x in values)
        {
            greater += x > threshold ? 1 : 0;
        }

        var ties = needed - greater;
        v = 0;
        for (var w = 0; w < items.Count; w++)
        {
            foreach (var position in tallies[w].Band)
            {
                if (values[v++] == threshold && --ties == 0)
                {
                    return new Cut(threshold, items[w].Segment, position);
                }
            }
        }

        throw new InvalidOperationException("the band holds fewer ties than its threshold implies");
    }

    /// <summary>Writes the masks by the cut and resets deleted members; returns the count kept per segment.</summary>
    private static long[] Apply(IReadOnlyList<Segment> segments, List<Item> items, Cut cut)
    {
        var kept = new long[items.Count];
        Parallel.For(0, items.Count, w => kept[w] = Apply(segments[items[w].Segment], items[w], cut));
        var perSegment = new long[segments.Count];
        for (var w = 0; w < items.Count; w++)
        {
            perSegment[items[w].Segment] += kept[w];
        }

        return perSegment;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Apply(Segment segment, Item item, Cut cut)
    {
        var score = (float*)segment.Score + item.Start;
        var among = segment.Among == 0 ? null : (byte*)segment.Among + item.Start;
        var output = (byte*)segment.Output + item.Start;
        var p = segment.Parameter == 0 ? null : (float*)segment.Parameter + item.Start;
        var w = segment.Parameter == 0 ? null : (float*)segment.Initial + item.Start;
        var inPlace = among == output;
        var t = Vector256.Create(cut.Threshold);
        long kept = 0;
        long k = 0;
        for (; k + 32 <= item.Count; k += 32)
        {
            var members = MemberBits(among, k);
            var keep = 0u;
            if (members != 0)
            {
                var (s0, s1, s2, s3) = (Avx.LoadVector256(score + k), Avx.LoadVector256(score + k + 8), Avx.LoadVector256(score + k + 16), Avx.LoadVector256(score + k + 24));
                keep = Bits(Avx.CompareGreaterThan(s0, t), Avx.CompareGreaterThan(s1, t), Avx.CompareGreaterThan(s2, t), Avx.CompareGreaterThan(s3, t)) & members;
                var ties = Bits(Avx.CompareEqual(s0, t), Avx.CompareEqual(s1, t), Avx.CompareEqual(s2, t), Avx.CompareEqual(s3, t)) & members;
                for (; ties != 0; ties &= ties - 1)
                {
                    var b = BitOperations.TrailingZeroCount(ties);
                    keep |= Taken(cut, item, k + b) ? 1u << b : 0;
                }
            }

            if (!inPlace || keep != members)
            {
                var o = (ulong*)(output + k);
                (o[0], o[1], o[2], o[3]) = (Expand[keep & 0xFF], Expand[(keep >> 8) & 0xFF], Expand[(keep >> 16) & 0xFF], Expand[keep >> 24]);
            }

            kept += BitOperations.PopCount(keep);
            var deleted = members & ~keep;
            if (p != null && deleted != 0)
            {
                // Deleted members back to w_i by blends rather than a branch per element.
                for (var j = 0; j < 32; j += 8)
                {
                    var lanes = Avx2.CompareGreaterThan(Avx2.ConvertToVector256Int32(Vector128.CreateScalar(Expand[(deleted >> j) & 0xFF]).AsByte()), Vector256<int>.Zero);
                    Avx.Store(p + k + j, Avx.BlendVariable(Avx.LoadVector256(p + k + j), Avx.LoadVector256(w + k + j), lanes.AsSingle()));
                }
            }
        }

        for (; k < item.Count; k++)
        {
            var member = among == null || among[k] != 0;
            var keep = member && (score[k] > cut.Threshold || (score[k] == cut.Threshold && Taken(cut, item, k)));
            output[k] = keep ? (byte)1 : (byte)0;
            kept += keep ? 1 : 0;
            if (p != null && member && !keep)
            {
                p[k] = w[k];
            }
        }

        return kept;
    }

    /// <summary>Whether a tie at the threshold is taken: it comes no later than the cut's.</summary>
    private static bool Taken(Cut cut, Item item, long offset) =>
        item.Segment < cut.Segment || (item.Segment == cut.Segment && item.Start + offset <= cut.Position);

    /// <summary>The competing elements of 32 as bits (all when there is no mask).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint MemberBits(byte* among, long k) =>
        among == null ? uint.MaxValue : ~(uint)Avx2.MoveMask(Avx2.CompareEqual(Avx.LoadVector256(among + k), Vector256<byte>.Zero));
}
