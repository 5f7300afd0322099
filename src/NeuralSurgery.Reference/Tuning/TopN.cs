using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>Which end of the scores <see cref="TopN"/> keeps.</summary>
public enum SelectionOrder
{
    /// <summary>The n largest |score| (Sel-Δ, Sel-Grad, Dyn-*: paper 000 sections 4.3-4.4).</summary>
    LargestMagnitude,

    /// <summary>The n largest scores.</summary>
    Largest,

    /// <summary>The n smallest scores (Sel-LCA keeps the most negative LCA: eq. 10).</summary>
    Smallest,
}

/// <summary>
/// Exactly n elements across every tensor at once, by radix selection on the float bits rather than a sort:
/// two 16-bit histogram passes find the threshold key, a third pass marks the elements above it and the first
/// ties. O(total) time, 2 × 65,536 counters per worker of extra memory, no copy of the scores, so 100M scores
/// need neither a sort nor O(n log n) work.
/// </summary>
/// <remarks>
/// Scores map to 32-bit keys whose unsigned order is the wanted order (|x| is the bits without the sign; signed x
/// flips the negative half), so equal floats have equal keys and −0 equals +0. Ties at the threshold go to the
/// earliest elements: tensor order of the input, then ascending flat index. NaN scores are refused.
/// </remarks>
public static class TopN
{
    /// <summary>Elements per work item; a multiple of 64 so that workers never share a mask word.</summary>
    private const int ChunkSize = 1 << 20;

    /// <summary>
    /// The mask of exactly <paramref name="n"/> elements with the best scores; only elements set in
    /// <paramref name="among"/> compete when it is given (it must cover the same tensors in the same order).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">n is negative or more than the competing elements.</exception>
    /// <exception cref="ArgumentException">A score is NaN (the message names the tensor and the element).</exception>
    public static ParameterMask Select(
        IReadOnlyList<KeyValuePair<string, float[]>> scores,
        long n,
        SelectionOrder order = SelectionOrder.LargestMagnitude,
        ParameterMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var result = ParameterMask.Empty(scores);
        if (among is not null)
        {
            // Same names and lengths, or the bit positions would not line up.
            _ = ParameterMask.Intersection(result, among);
        }

        return order switch
        {
            SelectionOrder.LargestMagnitude => Run<MagnitudeKey>(scores, n, among, result),
            SelectionOrder.Largest => Run<LargestKey>(scores, n, among, result),
            SelectionOrder.Smallest => Run<SmallestKey>(scores, n, among, result),
            _ => throw new ArgumentOutOfRangeException(nameof(order), order, "Unknown selection order."),
        };
    }

    private static ParameterMask Run<TKey>(IReadOnlyList<KeyValuePair<string, float[]>> scores, long n, ParameterMask? among, ParameterMask result)
        where TKey : struct, IKey
    {
        var chunks = new List<(int Tensor, int Start, int Length)>();
        for (var t = 0; t < scores.Count; t++)
        {
            var length = scores[t].Value.Length;
            for (var s = 0; s < length; s += ChunkSize)
            {
                chunks.Add((t, s, Math.Min(ChunkSize, length - s)));
            }
        }

        // Pass 1: histogram of the high 16 bits (and the NaN check).
        var high = Histogram<TKey>(scores, chunks, among, prefix: null);
        long candidates = 0;
        foreach (var c in high)
        {
            candidates += c;
        }

        if (n < 0 || n > candidates)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Cannot select {n} elements: {candidates} compete (of {result.TotalElements} in {scores.Count} tensors).");
        }

        if (n == 0)
        {
            return result;
        }

        var (b1, need1) = Cut(high, n);

        // Pass 2: histogram of the low 16 bits among keys whose high half is b1.
        var low = Histogram<TKey>(scores, chunks, among, prefix: b1);
        var (b2, need) = Cut(low, need1);
        var threshold = ((uint)b1 << 16) | (uint)b2;

        // Pass 3: ties per chunk, so that the first `need` ties in (tensor, index) order win, then the marks.
        var ties = new long[chunks.Count];
        Parallel.For(0, chunks.Count, i =>
        {
            var (t, start, length) = chunks[i];
            var values = scores[t].Value.AsSpan(start, length);
            var allowed = among?.WordsAt(t);
            long count = 0;
            for (var j = 0; j < values.Length; j++)
            {
                if (TKey.Key(values[j]) == threshold && Allowed(allowed, start + j))
                {
                    count++;
                }
            }

            ties[i] = count;
        });

        var quota = new long[chunks.Count];
        var left = need;
        for (var i = 0; i < chunks.Count; i++)
        {
            quota[i] = Math.Min(left, ties[i]);
            left -= quota[i];
        }

        Parallel.For(0, chunks.Count, i =>
        {
            var (t, start, length) = chunks[i];
            var values = scores[t].Value.AsSpan(start, length);
            var allowed = among?.WordsAt(t);
            var words = result.WordsAt(t);
            var take = quota[i];
            for (var j = 0; j < values.Length; j++)
            {
                var k = TKey.Key(values[j]);
                if (k < threshold || !Allowed(allowed, start + j))
                {
                    continue;
                }

                if (k == threshold)
                {
                    if (take == 0)
                    {
                        continue;
                    }

                    take--;
                }

                var at = start + j;
                words[at >> 6] |= 1UL << (at & 63);
            }
        });

        return result;
    }

    /// <summary>The bucket where the running count from the top reaches <paramref name="n"/>, and how many of that bucket are needed.</summary>
    private static (int Bucket, long Need) Cut(long[] histogram, long n)
    {
        long above = 0;
        for (var b = histogram.Length - 1; b >= 0; b--)
        {
            if (above + histogram[b] >= n)
            {
                return (b, n - above);
            }

            above += histogram[b];
        }

        throw new InvalidOperationException($"Histogram holds {above} elements, fewer than the {n} to select.");
    }

    private static long[] Histogram<TKey>(IReadOnlyList<KeyValuePair<string, float[]>> scores, List<(int Tensor, int Start, int Length)> chunks, ParameterMask? among, int? prefix)
        where TKey : struct, IKey
    {
        var total = new long[1 << 16];
        var gate = new Lock();
        try
        {
            Fill();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0 && e.InnerExceptions[0] is ArgumentException first)
        {
            // A NaN found by a worker: report it as the caller's argument error, not a parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        return total;

        void Fill() => Parallel.For(
            0,
            chunks.Count,
            () => new long[1 << 16],
            (i, _, local) =>
            {
                var (t, start, length) = chunks[i];
                var values = scores[t].Value.AsSpan(start, length);
                var allowed = among?.WordsAt(t);
                if (prefix is { } p)
                {
                    for (var j = 0; j < values.Length; j++)
                    {
                        var k = TKey.Key(values[j]);
                        if ((k >> 16) == (uint)p && Allowed(allowed, start + j))
                        {
                            local[k & 0xFFFF]++;
                        }
                    }
                }
                else
                {
                    for (var j = 0; j < values.Length; j++)
                    {
                        var v = values[j];
                        if (float.IsNaN(v))
                        {
                            throw new ArgumentException($"Score of tensor '{scores[t].Key}' at element {start + j} is NaN; expected a number.", nameof(scores));
                        }

                        if (Allowed(allowed, start + j))
                        {
                            local[TKey.Key(v) >> 16]++;
                        }
                    }
                }

                return local;
            },
            local =>
            {
                lock (gate)
                {
                    for (var b = 0; b < local.Length; b++)
                    {
                        total[b] += local[b];
                    }
                }
            });
    }

    private static bool Allowed(ulong[]? words, int index) => words is null || (words[index >> 6] & (1UL << (index & 63))) != 0;

    /// <summary>Maps a score to a key whose unsigned order is the selection order (bigger key = selected first).</summary>
    private interface IKey
    {
        static abstract uint Key(float value);
    }

    private readonly struct MagnitudeKey : IKey
    {
        public static uint Key(float value) => BitConverter.SingleToUInt32Bits(value) & 0x7FFF_FFFFu;
    }

    private readonly struct LargestKey : IKey
    {
        public static uint Key(float value)
        {
            var bits = BitConverter.SingleToUInt32Bits(value);
            if ((bits & 0x7FFF_FFFFu) == 0)
            {
                return 0x8000_0000u; // −0 and +0 tie.
            }

            // Negative floats order backwards by their bits; flipping them all puts them below the positives.
            return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        }
    }

    private readonly struct SmallestKey : IKey
    {
        public static uint Key(float value) => ~LargestKey.Key(value);
    }
}
