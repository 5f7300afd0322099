using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NeuralSurgery.Tracing;

/// <summary>
/// An immutable set of feature slot ids as a bitfield (paper 001 section 2.3.2, footnote 4).
/// Trailing zero words are trimmed so equal sets have equal representations.
/// </summary>
public sealed class FeatureSet : IEquatable<FeatureSet>
{
    private readonly ulong[] _words;
    private readonly int _hash;

    private FeatureSet(ulong[] words)
    {
        _words = words;
        var h = 17;
        foreach (var w in words)
        {
            h = unchecked((h * 31) + w.GetHashCode());
        }

        _hash = h;
    }

    public static FeatureSet Empty { get; } = new([]);

    public bool IsEmpty => _words.Length == 0;

    public int Count
    {
        get
        {
            var n = 0;
            foreach (var w in _words)
            {
                n += PopCount(w);
            }

            return n;
        }
    }

    internal ReadOnlySpan<ulong> Words => _words;

    public static FeatureSet Of(params int[] ids) => FromIds(ids);

    public static FeatureSet FromIds(IEnumerable<int> ids)
    {
        var words = new List<ulong>();
        foreach (var id in ids)
        {
            if (id < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), "feature ids are non-negative");
            }

            var w = id >> 6;
            while (words.Count <= w)
            {
                words.Add(0);
            }

            words[w] |= 1UL << (id & 63);
        }

        return Create(words.ToArray());
    }

    /// <summary>The ids <c>start, start+stride, …</c> (<paramref name="count"/> of them).</summary>
    public static FeatureSet Range(long start, long count, long stride = 1)
    {
        if (count <= 0)
        {
            return Empty;
        }

        var last = start + ((count - 1) * stride);
        var words = new ulong[(Math.Max(start, last) >> 6) + 1];
        if (stride == 1)
        {
            for (var id = start; id <= last;)
            {
                var bit = (int)(id & 63);
                var take = (int)Math.Min(64 - bit, last - id + 1);
                words[id >> 6] |= (take == 64 ? ulong.MaxValue : ((1UL << take) - 1)) << bit;
                id += take;
            }
        }
        else
        {
            for (long k = 0; k < count; k++)
            {
                var id = start + (k * stride);
                words[id >> 6] |= 1UL << (int)(id & 63);
            }
        }

        return Create(words);
    }

    internal static FeatureSet Create(ulong[] words)
    {
        var n = words.Length;
        while (n > 0 && words[n - 1] == 0)
        {
            n--;
        }

        if (n == 0)
        {
            return Empty;
        }

        if (n != words.Length)
        {
            Array.Resize(ref words, n);
        }

        return new FeatureSet(words);
    }

    public bool Contains(int id)
    {
        var w = id >> 6;
        return id >= 0 && w < _words.Length && (_words[w] & (1UL << (id & 63))) != 0;
    }

    public FeatureSet Union(FeatureSet other)
    {
        if (other.IsEmpty || ReferenceEquals(this, other))
        {
            return this;
        }

        if (IsEmpty)
        {
            return other;
        }

        var (longer, shorter) = _words.Length >= other._words.Length ? (_words, other._words) : (other._words, _words);
        var contained = true;
        for (var i = 0; i < shorter.Length; i++)
        {
            if ((longer[i] | shorter[i]) != longer[i])
            {
                contained = false;
                break;
            }
        }

        if (contained)
        {
            return ReferenceEquals(longer, _words) ? this : other;
        }

        var words = (ulong[])longer.Clone();
        for (var i = 0; i < shorter.Length; i++)
        {
            words[i] |= shorter[i];
        }

        return new FeatureSet(words);
    }

    public FeatureSet Except(FeatureSet other)
    {
        var words = (ulong[])_words.Clone();
        for (var i = 0; i < Math.Min(words.Length, other._words.Length); i++)
        {
            words[i] &= ~other._words[i];
        }

        return Create(words);
    }

    public FeatureSet Intersect(FeatureSet other)
    {
        var words = new ulong[Math.Min(_words.Length, other._words.Length)];
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = _words[i] & other._words[i];
        }

        return Create(words);
    }

    public bool Overlaps(FeatureSet other)
    {
        for (var i = 0; i < Math.Min(_words.Length, other._words.Length); i++)
        {
            if ((_words[i] & other._words[i]) != 0)
            {
                return true;
            }
        }

        return false;
    }

    public bool IsSubsetOf(FeatureSet other)
    {
        if (_words.Length > other._words.Length)
        {
            return false;
        }

        for (var i = 0; i < _words.Length; i++)
        {
            if ((_words[i] & ~other._words[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Set members in increasing order.</summary>
    public IEnumerable<int> Ids()
    {
        for (var w = 0; w < _words.Length; w++)
        {
            var bits = _words[w];
            while (bits != 0)
            {
                var bit = TrailingZeroCount(bits);
                yield return (w << 6) + bit;
                bits &= bits - 1;
            }
        }
    }

    public bool Equals(FeatureSet? other)
    {
        if (other is null || other._hash != _hash || other._words.Length != _words.Length)
        {
            return false;
        }

        return _words.AsSpan().SequenceEqual(other._words);
    }

    public override bool Equals(object? obj) => obj is FeatureSet other && Equals(other);

    public override int GetHashCode() => _hash;

    public override string ToString() => "{" + string.Join(",", Ids().Select(i => i.ToString(CultureInfo.InvariantCulture))) + "}";

    internal static int PopCount(ulong v)
    {
#if NET5_0_OR_GREATER
        return System.Numerics.BitOperations.PopCount(v);
#else
        v -= (v >> 1) & 0x5555555555555555UL;
        v = (v & 0x3333333333333333UL) + ((v >> 2) & 0x3333333333333333UL);
        v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
        return (int)((v * 0x0101010101010101UL) >> 56);
#endif
    }

    internal static int TrailingZeroCount(ulong v)
    {
#if NET5_0_OR_GREATER
        return System.Numerics.BitOperations.TrailingZeroCount(v);
#else
        var n = 0;
        while ((v & 1) == 0)
        {
            v >>= 1;
            n++;
        }

        return n;
#endif
    }
}
