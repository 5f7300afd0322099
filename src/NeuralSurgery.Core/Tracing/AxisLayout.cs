using System;
using System.Collections.Generic;
using System.Linq;

namespace NeuralSurgery.Tracing;

/// <summary>
/// A run of equal structure along one axis: offset <c>k</c> carries the features <see cref="Bits"/> plus the
/// slot keys at <c>k</c>, and the keys <c>Keys[i].At(k)</c>.
/// </summary>
public sealed class Run : IEquatable<Run>
{
    private static readonly KeySeq[] NoKeys = [];

    public Run(long length, FeatureSet bits, KeySeq[]? keys = null)
    {
        Length = length;
        Bits = bits;
        Keys = keys is null || keys.Length == 0 ? NoKeys : Canonical(keys);
    }

    public long Length { get; }

    public FeatureSet Bits { get; }

    /// <summary>Sorted, distinct.</summary>
    public KeySeq[] Keys { get; }

    public bool HasSlotKeys => Keys.Length > 0 && Keys[0].Space == 0;

    /// <summary>Features at one offset: the bits plus the slot keys there.</summary>
    public FeatureSet FeaturesAt(long offset)
    {
        if (!HasSlotKeys)
        {
            return Bits;
        }

        var set = Bits;
        foreach (var k in Keys)
        {
            if (k.Space == 0)
            {
                set = set.Union(FeatureSet.Range(k.At(offset), 1));
            }
        }

        return set;
    }

    /// <summary>Union of the features over offsets <c>start, start+step, …</c> (<paramref name="count"/> of them).</summary>
    public FeatureSet FeaturesOver(long start, long count, long step = 1)
    {
        var set = Bits;
        if (count <= 0)
        {
            return FeatureSet.Empty;
        }

        foreach (var k in Keys)
        {
            if (k.Space == 0)
            {
                set = set.Union(FeatureSet.Range(k.At(start), k.Stride == 0 ? 1 : count, k.Stride * step));
            }
        }

        return set;
    }

    public Run Slice(long offset, long length, long step = 1) =>
        offset == 0 && length == Length && step == 1
            ? this
            : new Run(length, Bits, Keys.Length == 0 ? null : Keys.Select(k => k.Shift(offset, step)).ToArray());

    public Run WithLength(long length) => length == Length ? this : new Run(length, Bits, Keys);

    public Run AddBits(FeatureSet bits) => bits.IsSubsetOf(Bits) ? this : new Run(Length, Bits.Union(bits), Keys);

    /// <summary>Union of two runs of equal length, offset by offset.</summary>
    public Run Merge(Run other)
    {
        if (other.Bits.IsSubsetOf(Bits) && other.Keys.Length == 0)
        {
            return this;
        }

        return new Run(Length, Bits.Union(other.Bits), Keys.Length == 0 ? other.Keys : other.Keys.Length == 0 ? Keys : Keys.Concat(other.Keys).ToArray());
    }

    /// <summary>Whether <paramref name="next"/> continues this run exactly (same bits, each key carrying on).</summary>
    public bool Continues(Run next)
    {
        if (!next.Bits.Equals(Bits) || next.Keys.Length != Keys.Length)
        {
            return false;
        }

        // Keys pair up as a bijection, not by position: slicing can reorder two keys of one space.
        var used = Keys.Length <= 64 ? 0UL : throw new InvalidOperationException("a run holds more than 64 keys");
        foreach (var b in next.Keys)
        {
            var found = false;
            for (var i = 0; i < Keys.Length && !found; i++)
            {
                var a = Keys[i];
                if ((used & (1UL << i)) == 0 && a.Space == b.Space && a.Stride == b.Stride && a.At(Length) == b.Start)
                {
                    used |= 1UL << i;
                    found = true;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(Run? other) =>
        other is not null && other.Length == Length && other.Bits.Equals(Bits) && other.Keys.AsSpan().SequenceEqual(Keys);

    public override bool Equals(object? obj) => obj is Run r && Equals(r);

    public override int GetHashCode()
    {
        var h = unchecked((Length.GetHashCode() * 397) ^ Bits.GetHashCode());
        foreach (var k in Keys)
        {
            h = unchecked((h * 31) + k.GetHashCode());
        }

        return h;
    }

    public override string ToString() => $"{Length}x{Bits}" + (Keys.Length == 0 ? string.Empty : "[" + string.Join(" ", Keys) + "]");

    private static KeySeq[] Canonical(KeySeq[] keys)
    {
        if (keys.Length == 1)
        {
            return keys;
        }

        var sorted = (KeySeq[])keys.Clone();
        Array.Sort(sorted);
        var n = 1;
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] != sorted[n - 1])
            {
                sorted[n++] = sorted[i];
            }
        }

        if (n != sorted.Length)
        {
            Array.Resize(ref sorted, n);
        }

        return sorted;
    }
}

/// <summary>
/// The run-length layout of one axis (DESIGN.md section 5): ordered runs in canonical form (a run that
/// continues its predecessor is merged into it), so equal layouts compare equal.
/// </summary>
public sealed class AxisLayout : IEquatable<AxisLayout>
{
    private readonly int _hash;

    private AxisLayout(Run[] runs)
    {
        Runs = runs;
        Length = 0;
        var h = 19;
        foreach (var r in runs)
        {
            Length += r.Length;
            h = unchecked((h * 31) + r.GetHashCode());
        }

        _hash = h;
    }

    public IReadOnlyList<Run> Runs { get; }

    public long Length { get; }

    public static AxisLayout Empty(long length) => new([new Run(length, FeatureSet.Empty)]);

    public static AxisLayout Of(Run run) => new([run]);

    /// <summary>An axis whose offset <c>k</c> carries key <c>start + k</c> of <paramref name="space"/>.</summary>
    public static AxisLayout Keyed(long length, int space, long start = 0) => new([new Run(length, FeatureSet.Empty, [new KeySeq(space, start, 1)])]);

    public static AxisLayout FromRuns(IEnumerable<Run> runs)
    {
        var list = new List<Run>();
        foreach (var r in runs)
        {
            if (r.Length == 0)
            {
                continue;
            }

            if (list.Count > 0 && list[list.Count - 1].Continues(r))
            {
                var last = list[list.Count - 1];
                list[list.Count - 1] = last.WithLength(last.Length + r.Length);
            }
            else
            {
                list.Add(r);
            }
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("an axis layout needs at least one element");
        }

        return new AxisLayout(list.ToArray());
    }

    public static AxisLayout Concat(IEnumerable<AxisLayout> parts) => FromRuns(parts.SelectMany(p => p.Runs));

    public bool IsPlain => Runs.Count == 1 && Runs[0].Keys.Length == 0;

    /// <summary>The run at <paramref name="index"/> and the offset within it.</summary>
    public (Run Run, long Offset) Locate(long index)
    {
        long start = 0;
        foreach (var r in Runs)
        {
            if (index < start + r.Length)
            {
                return (r, index - start);
            }

            start += r.Length;
        }

        throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is outside an axis of length {Length}");
    }

    public FeatureSet FeaturesAt(long index)
    {
        var (run, offset) = Locate(index);
        return run.FeaturesAt(offset);
    }

    /// <summary>Keys at one index.</summary>
    public IEnumerable<(int Space, long Key)> KeysAt(long index)
    {
        var (run, offset) = Locate(index);
        return run.Keys.Select(k => (k.Space, k.At(offset)));
    }

    /// <summary>Union of all features along the axis.</summary>
    public FeatureSet AllFeatures()
    {
        var set = FeatureSet.Empty;
        foreach (var r in Runs)
        {
            set = set.Union(r.FeaturesOver(0, r.Length));
        }

        return set;
    }

    /// <summary>Union of features at indices <c>start, start+step, …</c> (<paramref name="count"/> of them).</summary>
    public FeatureSet FeaturesOver(long start, long count, long step = 1)
    {
        var set = FeatureSet.Empty;
        foreach (var (run, offset, n) in Selected(start, count, step))
        {
            set = set.Union(run.FeaturesOver(offset, n, step));
        }

        return set;
    }

    /// <summary>Indices <c>start, start+step, …</c> (<paramref name="count"/> of them) as a new layout.</summary>
    public AxisLayout Slice(long start, long count, long step = 1) =>
        start == 0 && count == Length && step == 1
            ? this
            : FromRuns(Selected(start, count, step).Select(s => s.Run.Slice(s.Offset, s.Count, step)));

    /// <summary>The runs a strided selection touches: per run, the first selected offset in it and how many.</summary>
    private IEnumerable<(Run Run, long Offset, long Count)> Selected(long start, long count, long step)
    {
        if (count <= 0)
        {
            yield break;
        }

        var last = start + ((count - 1) * step);
        long runStart = 0;
        foreach (var r in Runs)
        {
            var runEnd = runStart + r.Length;
            if (runEnd > start && runStart <= last)
            {
                // First selected index at or after runStart.
                var first = start >= runStart ? start : start + (((runStart - start + step - 1) / step) * step);
                if (first < runEnd && first <= last)
                {
                    yield return (r, first - runStart, Math.Min((runEnd - 1 - first) / step, (last - first) / step) + 1);
                }
            }

            runStart = runEnd;
        }
    }

    /// <summary>A length-1 axis stretched to <paramref name="length"/> (broadcasting): keys become constant.</summary>
    public AxisLayout Broadcast(long length)
    {
        if (Length != 1)
        {
            throw new InvalidOperationException($"only an axis of length 1 broadcasts, not one of length {Length}");
        }

        var r = Runs[0];
        return length == 1 ? this : Of(new Run(length, r.Bits, r.Keys.Select(k => new KeySeq(k.Space, k.Start, 0)).ToArray()));
    }

    public AxisLayout AddBits(FeatureSet bits) => bits.IsEmpty ? this : FromRuns(Runs.Select(r => r.AddBits(bits)));

    /// <summary>Offset-by-offset union of two layouts of equal length.</summary>
    public AxisLayout Merge(AxisLayout other)
    {
        if (other.Length != Length)
        {
            throw new InvalidOperationException($"cannot merge axis layouts of lengths {Length} and {other.Length}");
        }

        if (ReferenceEquals(this, other) || other.IsEmptyPlain)
        {
            return this;
        }

        if (IsEmptyPlain)
        {
            return other;
        }

        var runs = new List<Run>();
        int i = 0, j = 0;
        long oi = 0, oj = 0;
        while (i < Runs.Count && j < other.Runs.Count)
        {
            var a = Runs[i];
            var b = other.Runs[j];
            var len = Math.Min(a.Length - oi, b.Length - oj);
            runs.Add(a.Slice(oi, len).Merge(b.Slice(oj, len)));
            oi += len;
            oj += len;
            if (oi == a.Length)
            {
                i++;
                oi = 0;
            }

            if (oj == b.Length)
            {
                j++;
                oj = 0;
            }
        }

        return FromRuns(runs);
    }

    private bool IsEmptyPlain => Runs.Count == 1 && Runs[0].Keys.Length == 0 && Runs[0].Bits.IsEmpty;

    public bool Equals(AxisLayout? other)
    {
        if (other is null || other._hash != _hash || other.Runs.Count != Runs.Count)
        {
            return false;
        }

        for (var i = 0; i < Runs.Count; i++)
        {
            if (!Runs[i].Equals(other.Runs[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is AxisLayout a && Equals(a);

    public override int GetHashCode() => _hash;

    public override string ToString() => string.Join(" | ", Runs);
}
