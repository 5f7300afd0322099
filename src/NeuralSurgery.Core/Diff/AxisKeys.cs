using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>A key (space, index) packed into one long: the space in the high bits.</summary>
internal static class Atom
{
    private const int Shift = 40;

    public static long Pack(int space, long id) => ((long)space << Shift) | id;

    public static int Space(long atom) => (int)(atom >> Shift);

    public static long Id(long atom) => atom & ((1L << Shift) - 1);
}

/// <summary>The sorted keys of one index: what the differ matches old and new indices by.</summary>
internal readonly struct KeyTuple : IEquatable<KeyTuple>
{
    private readonly long[] _atoms;
    private readonly int _hash;

    public KeyTuple(long[] atoms)
    {
        _atoms = atoms;
        var h = 23;
        foreach (var a in atoms)
        {
            h = unchecked((h * 31) + a.GetHashCode());
        }

        _hash = h;
    }

    public IReadOnlyList<long> Atoms => _atoms;

    public bool Equals(KeyTuple other) => _hash == other._hash && _atoms.AsSpan().SequenceEqual(other._atoms);

    public override bool Equals(object? obj) => obj is KeyTuple k && Equals(k);

    public override int GetHashCode() => _hash;
}

internal static class AxisKeys
{
    /// <summary>Per index of <paramref name="axis"/>, the union of the keys every box of Φ gives it.</summary>
    public static long[][] Of(Layout phi, int axis)
    {
        var length = phi.Shape[axis];
        var lists = new List<long>?[length];
        foreach (var block in phi.Blocks)
        {
            long at = block.Start[axis];
            foreach (var run in block.Axes[axis].Runs)
            {
                if (run.Keys.Length > 0)
                {
                    for (long k = 0; k < run.Length; k++)
                    {
                        var list = lists[at + k] ??= new List<long>(run.Keys.Length);
                        foreach (var key in run.Keys)
                        {
                            list.Add(Atom.Pack(key.Space, key.At(k)));
                        }
                    }
                }

                at += run.Length;
            }
        }

        var result = new long[length][];
        for (long i = 0; i < length; i++)
        {
            var list = lists[i];
            if (list is null)
            {
                result[i] = [];
                continue;
            }

            result[i] = SortedDistinct(list);
        }

        return result;
    }

    /// <summary>The atoms sorted, each once.</summary>
    public static long[] SortedDistinct(List<long> atoms)
    {
        atoms.Sort();
        var n = 0;
        for (var j = 0; j < atoms.Count; j++)
        {
            if (n == 0 || atoms[j] != atoms[n - 1])
            {
                atoms[n++] = atoms[j];
            }
        }

        var result = new long[n];
        atoms.CopyTo(0, result, 0, n);
        return result;
    }
}
