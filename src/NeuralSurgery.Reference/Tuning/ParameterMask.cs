using System;
using System.Collections.Generic;
using System.Numerics;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// One bit per element over a fixed, ordered set of named tensors: which parameter elements a sparse-tuning method
/// may change (paper 000 section 4). Bit set = trainable; clear = frozen at its initial value.
/// </summary>
/// <remarks>
/// Tensors keep the order they were added in; that order is the tie-breaking order of <see cref="TopN"/> and the
/// order of every enumeration, so results are deterministic. Indices are flat row-major element indices. Not
/// thread-safe for writes.
/// </remarks>
public sealed class ParameterMask
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<ulong[]> _bits = [];
    private readonly List<long> _lengths = [];

    /// <summary>An empty mask (every bit clear) over tensors of the given flat lengths, in the given order.</summary>
    public ParameterMask(IEnumerable<KeyValuePair<string, long>> lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        foreach (var (name, length) in lengths)
        {
            ArgumentNullException.ThrowIfNull(name);
            if (length < 0 || length > (long)Array.MaxLength * 64)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), $"Tensor '{name}' has {length} elements; expected 0 to {(long)Array.MaxLength * 64}.");
            }

            if (!_index.TryAdd(name, _names.Count))
            {
                throw new ArgumentException($"The mask already has a tensor named '{name}'.", nameof(lengths));
            }

            _names.Add(name);
            _lengths.Add(length);
            _bits.Add(new ulong[(length + 63) / 64]);
        }
    }

    /// <summary>Tensor names, in mask order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Elements covered by the mask (set or not).</summary>
    public long TotalElements
    {
        get
        {
            long total = 0;
            foreach (var l in _lengths)
            {
                total += l;
            }

            return total;
        }
    }

    /// <summary>An empty mask with the tensors (names and lengths) of <paramref name="tensors"/>.</summary>
    public static ParameterMask Empty(IEnumerable<KeyValuePair<string, float[]>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var lengths = new List<KeyValuePair<string, long>>();
        foreach (var (name, values) in tensors)
        {
            lengths.Add(new(name, values.LongLength));
        }

        return new ParameterMask(lengths);
    }

    /// <summary>A mask with every bit set: full tuning.</summary>
    public static ParameterMask All(IEnumerable<KeyValuePair<string, long>> lengths)
    {
        var mask = new ParameterMask(lengths);
        mask.SetAll(true);
        return mask;
    }

    /// <summary>An empty mask over the same tensors.</summary>
    public ParameterMask CloneEmpty()
    {
        var lengths = new List<KeyValuePair<string, long>>(_names.Count);
        for (var i = 0; i < _names.Count; i++)
        {
            lengths.Add(new(_names[i], _lengths[i]));
        }

        return new ParameterMask(lengths);
    }

    public ParameterMask Clone()
    {
        var copy = CloneEmpty();
        for (var i = 0; i < _bits.Count; i++)
        {
            _bits[i].CopyTo(copy._bits[i], 0);
        }

        return copy;
    }

    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _index.ContainsKey(name);
    }

    /// <summary>Flat element count of tensor <paramref name="name"/>.</summary>
    public long LengthOf(string name) => _lengths[IndexOf(name)];

    public bool this[string name, long index]
    {
        get
        {
            var bits = Bits(name, index);
            return (bits[index >> 6] & (1UL << (int)(index & 63))) != 0;
        }

        set
        {
            var bits = Bits(name, index);
            if (value)
            {
                bits[index >> 6] |= 1UL << (int)(index & 63);
            }
            else
            {
                bits[index >> 6] &= ~(1UL << (int)(index & 63));
            }
        }
    }

    /// <summary>Sets or clears every bit of every tensor.</summary>
    public void SetAll(bool value)
    {
        for (var i = 0; i < _bits.Count; i++)
        {
            SetRange(i, 0, _lengths[i], value);
        }
    }

    /// <summary>Sets or clears every bit of one tensor.</summary>
    public void SetTensor(string name, bool value)
    {
        var i = IndexOf(name);
        SetRange(i, 0, _lengths[i], value);
    }

    /// <summary>Sets or clears elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of a tensor.</summary>
    public void SetRange(string name, long start, long count, bool value)
    {
        var i = IndexOf(name);
        if (start < 0 || count < 0 || start > _lengths[i] - count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Elements [{start}, {start + count}) lie outside tensor '{name}' ({_lengths[i]} elements).");
        }

        SetRange(i, start, count, value);
    }

    /// <summary>Set bits over every tensor.</summary>
    public long Count()
    {
        long total = 0;
        foreach (var bits in _bits)
        {
            total += PopCount(bits);
        }

        return total;
    }

    /// <summary>Set bits of one tensor.</summary>
    public long CountOf(string name) => PopCount(_bits[IndexOf(name)]);

    /// <summary>In place: this ∪ <paramref name="other"/>; both masks must cover the same tensors with the same lengths.</summary>
    public ParameterMask UnionWith(ParameterMask other)
    {
        Combine(other, static (a, b) => a | b);
        return this;
    }

    /// <summary>In place: this ∩ <paramref name="other"/>.</summary>
    public ParameterMask IntersectWith(ParameterMask other)
    {
        Combine(other, static (a, b) => a & b);
        return this;
    }

    /// <summary>In place: this ∖ <paramref name="other"/>.</summary>
    public ParameterMask ExceptWith(ParameterMask other)
    {
        Combine(other, static (a, b) => a & ~b);
        return this;
    }

    public static ParameterMask Union(ParameterMask a, ParameterMask b)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.Clone().UnionWith(b);
    }

    public static ParameterMask Intersection(ParameterMask a, ParameterMask b)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.Clone().IntersectWith(b);
    }

    /// <summary>Flips every bit.</summary>
    public ParameterMask Invert()
    {
        for (var t = 0; t < _bits.Count; t++)
        {
            var bits = _bits[t];
            for (var w = 0; w < bits.Length; w++)
            {
                bits[w] = ~bits[w];
            }

            ClearTail(t);
        }

        return this;
    }

    /// <summary>Set element indices of one tensor, ascending.</summary>
    public IEnumerable<long> Indices(string name)
    {
        var bits = _bits[IndexOf(name)];
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w];
            while (word != 0)
            {
                yield return ((long)w << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
            }
        }
    }

    /// <summary>
    /// Zeroes the elements of <paramref name="gradient"/> whose bit is clear: the mask applied after backward and
    /// before the optimiser step (TORCHSHARP.md, training loop facts; <c>p.grad.mul_(mask)</c>).
    /// </summary>
    public void MaskGradient(string name, Span<float> gradient)
    {
        var t = IndexOf(name);
        CheckLength(t, gradient.Length, "gradient");
        var bits = _bits[t];
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w];
            if (word == ulong.MaxValue)
            {
                continue;
            }

            var start = w << 6;
            var end = Math.Min(start + 64, gradient.Length);
            if (word == 0)
            {
                gradient[start..end].Clear();
                continue;
            }

            for (var i = start; i < end; i++)
            {
                if ((word & (1UL << (i - start))) == 0)
                {
                    gradient[i] = 0;
                }
            }
        }
    }

    /// <summary>
    /// Copies <paramref name="reference"/> into <paramref name="weights"/> where the bit is clear: the re-mask after
    /// the optimiser step, needed because weight decay and momentum still move elements whose gradient was zeroed.
    /// </summary>
    public void RestoreFrozen(string name, Span<float> weights, ReadOnlySpan<float> reference)
    {
        var t = IndexOf(name);
        CheckLength(t, weights.Length, "weights");
        CheckLength(t, reference.Length, "reference");
        var bits = _bits[t];
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w];
            if (word == ulong.MaxValue)
            {
                continue;
            }

            var start = w << 6;
            var end = Math.Min(start + 64, weights.Length);
            if (word == 0)
            {
                reference[start..end].CopyTo(weights[start..end]);
                continue;
            }

            for (var i = start; i < end; i++)
            {
                if ((word & (1UL << (i - start))) == 0)
                {
                    weights[i] = reference[i];
                }
            }
        }
    }

    /// <summary>The raw words of one tensor (bit i of word w is element 64w + i); bits past the length stay clear.</summary>
    internal ulong[] WordsOf(string name) => _bits[IndexOf(name)];

    internal ulong[] WordsAt(int tensor) => _bits[tensor];

    internal long LengthAt(int tensor) => _lengths[tensor];

    internal int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _index.TryGetValue(name, out var i) ? i : throw new KeyNotFoundException($"The parameter mask has no tensor named '{name}'; it covers {Describe()}.");
    }

    private string Describe() => _names.Count <= 8 ? "'" + string.Join("', '", _names) + "'" : $"{_names.Count} tensors";

    private ulong[] Bits(string name, long index)
    {
        var t = IndexOf(name);
        if ((ulong)index >= (ulong)_lengths[t])
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Element {index} lies outside tensor '{name}' ({_lengths[t]} elements).");
        }

        return _bits[t];
    }

    private void CheckLength(int t, int length, string what)
    {
        if (length != _lengths[t])
        {
            throw new ArgumentException($"The {what} of tensor '{_names[t]}' has {length} elements; the mask expects {_lengths[t]}.", what);
        }
    }

    private void SetRange(int t, long start, long count, bool value)
    {
        var bits = _bits[t];
        var end = start + count;
        while (start < end)
        {
            var w = start >> 6;
            var lo = (int)(start & 63);
            var hi = (int)Math.Min(64, end - (w << 6));
            var span = hi - lo;
            var m = span == 64 ? ulong.MaxValue : ((1UL << span) - 1) << lo;
            bits[w] = value ? bits[w] | m : bits[w] & ~m;
            start = (w << 6) + hi;
        }
    }

    private void ClearTail(int t)
    {
        var rem = (int)(_lengths[t] & 63);
        if (rem != 0)
        {
            _bits[t][^1] &= (1UL << rem) - 1;
        }
    }

    private void Combine(ParameterMask other, Func<ulong, ulong, ulong> op)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._names.Count != _names.Count)
        {
            throw new ArgumentException($"The masks cover different tensors: {_names.Count} and {other._names.Count}.", nameof(other));
        }

        for (var t = 0; t < _names.Count; t++)
        {
            if (other._names[t] != _names[t] || other._lengths[t] != _lengths[t])
            {
                throw new ArgumentException(
                    $"The masks differ at tensor {t}: '{_names[t]}' ({_lengths[t]} elements) against '{other._names[t]}' ({other._lengths[t]} elements); expected the same tensors in the same order.",
                    nameof(other));
            }

            var a = _bits[t];
            var b = other._bits[t];
            for (var w = 0; w < a.Length; w++)
            {
                a[w] = op(a[w], b[w]);
            }
        }
    }

    private static long PopCount(ulong[] bits)
    {
        long n = 0;
        foreach (var w in bits)
        {
            n += BitOperations.PopCount(w);
        }

        return n;
    }
}
