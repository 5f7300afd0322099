using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Diff;

/// <summary>Old keys that some new key translates to: one bit per key of each old key space.</summary>
internal sealed class SurvivingKeys
{
    private readonly bool[]?[] _spaces;
    private readonly IReadOnlyList<KeySpace> _layout;

    public SurvivingKeys(IReadOnlyList<KeySpace> oldSpaces)
    {
        _layout = oldSpaces;
        _spaces = new bool[oldSpaces.Count][];
    }

    public void Add(long atom)
    {
        var space = Atom.Space(atom);
        var bits = _spaces[space] ??= new bool[_layout[space].Size];
        bits[Atom.Id(atom)] = true;
    }

    public bool Contains(long atom) => _spaces[Atom.Space(atom)]?[Atom.Id(atom)] == true;
}

/// <summary>
/// Maps new indices of a parameter axis to old ones (DESIGN.md section 6). Axes whose every run carries one
/// affine key (stride 1) on both sides, the common case, are matched index by index without allocating, with
/// old keys found by binary search over runs; anything else (several keys per index, constant keys, keyless
/// positional axes) goes through exact key-tuple matching. Results are cached per pair of axis layouts, so the
/// gate rows shared by four LSTM tensors are matched once.
/// </summary>
internal sealed class AxisMatcher
{
    private readonly KeyTranslator _keys;
    private readonly SurvivingKeys _surviving;
    private readonly Dictionary<(AxisSignature New, AxisSignature Old), long[]> _cache = [];

    public AxisMatcher(KeyTranslator keys, SurvivingKeys surviving)
    {
        _keys = keys;
        _surviving = surviving;
    }

    public long[] Map(Layout newPhi, Layout oldPhi, int axis)
    {
        var key = (new AxisSignature(newPhi, axis), new AxisSignature(oldPhi, axis));
        if (!_cache.TryGetValue(key, out var map))
        {
            var newSegments = key.Item1.Segments();
            var oldSegments = key.Item2.Segments();
            map = (Simple(newSegments) && Simple(oldSegments) && OldIndex.TryBuild(oldSegments, out var index))
                ? MapSimple(newSegments, index!, newPhi.Shape[axis], oldPhi.Shape[axis])
                : MapExact(AxisKeys.Of(newPhi, axis), AxisKeys.Of(oldPhi, axis));
            _cache[key] = map;
        }

        return map;
    }

    /// <summary>Whether any index of the axis is a key of a space that feeds an output head.</summary>
    public bool HasHeadKeys(Layout phi, int axis) =>
        new AxisSignature(phi, axis).Segments().Any(s => s.Keys.Any(k => _keys.IsHeadSpace(k.Space)));

    private static bool Simple(List<Segment> segments) => segments.All(s => s.Keys.Length == 1 && s.Keys[0].Stride == 1);

    private long[] MapSimple(List<Segment> segments, OldIndex index, long length, long oldLength)
    {
        var map = new long[length];
        var used = new bool[oldLength];
        foreach (var s in segments)
        {
            var k = s.Keys[0];
            for (long i = 0; i < s.Length; i++)
            {
                var old = _keys.Translate(Atom.Pack(k.Space, k.Start + i));
                long target = -1;
                if (old >= 0)
                {
                    _surviving.Add(old);
                    target = index.Find(old);
                    if (target >= 0 && used[target])
                    {
                        target = -1;
                    }
                    else if (target >= 0)
                    {
                        used[target] = true;
                    }
                }

                map[s.Start + i] = target;
            }
        }

        return map;
    }

    /// <summary>
    /// New index → old index with exactly the translated keys; indices with equal keys (positional axes) pair
    /// up in order. A key with no old counterpart leaves the index unmapped.
    /// </summary>
    private long[] MapExact(long[][] newKeys, long[][] oldKeys)
    {
        var byKey = new Dictionary<KeyTuple, Queue<long>>();
        for (long i = 0; i < oldKeys.Length; i++)
        {
            var k = new KeyTuple(oldKeys[i]);
            if (!byKey.TryGetValue(k, out var q))
            {
                byKey[k] = q = new Queue<long>();
            }

            q.Enqueue(i);
        }

        var result = new long[newKeys.Length];
        var translated = new List<long>();
        for (var i = 0; i < newKeys.Length; i++)
        {
            translated.Clear();
            var ok = true;
            foreach (var atom in newKeys[i])
            {
                var old = _keys.Translate(atom);
                if (old < 0)
                {
                    ok = false;
                    break;
                }

                translated.Add(old);
                _surviving.Add(old);
            }

            result[i] = -1;
            if (ok && byKey.TryGetValue(new KeyTuple(AxisKeys.SortedDistinct(translated)), out var q) && q.Count > 0)
            {
                result[i] = q.Dequeue();
            }
        }

        return result;
    }

    /// <summary>A run of indices <c>[Start, Start + Length)</c> of an axis and the keys its offsets carry.</summary>
    internal readonly record struct Segment(long Start, long Length, KeySeq[] Keys);

    /// <summary>Where each old key sits: per key space, runs sorted by key, found by binary search.</summary>
    private sealed class OldIndex
    {
        private readonly Dictionary<int, (long Key, long Count, long Index)[]> _spaces;

        private OldIndex(Dictionary<int, (long, long, long)[]> spaces) => _spaces = spaces;

        /// <summary>Fails when two runs share keys: then indices must pair up in order (exact matching).</summary>
        public static bool TryBuild(List<Segment> segments, out OldIndex? index)
        {
            index = null;
            var spaces = new Dictionary<int, (long, long, long)[]>();
            foreach (var group in segments.GroupBy(s => s.Keys[0].Space))
            {
                var runs = group.Select(s => (Key: s.Keys[0].Start, Count: s.Length, Index: s.Start)).OrderBy(r => r.Key).ToArray();
                for (var i = 1; i < runs.Length; i++)
                {
                    if (runs[i - 1].Key + runs[i - 1].Count > runs[i].Key)
                    {
                        return false;
                    }
                }

                spaces[group.Key] = runs;
            }

            index = new OldIndex(spaces);
            return true;
        }

        public long Find(long atom)
        {
            if (!_spaces.TryGetValue(Atom.Space(atom), out var runs))
            {
                return -1;
            }

            var id = Atom.Id(atom);
            int lo = 0, hi = runs.Length - 1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >> 1;
                var (key, count, start) = runs[mid];
                if (id < key)
                {
                    hi = mid - 1;
                }
                else if (id >= key + count)
                {
                    lo = mid + 1;
                }
                else
                {
                    return start + (id - key);
                }
            }

            return -1;
        }
    }

    /// <summary>The distinct layouts a Φ's boxes give one axis, with their offsets: equal signatures map alike.</summary>
    private readonly struct AxisSignature : IEquatable<AxisSignature>
    {
        private readonly (long Start, long Length, AxisLayout Layout)[] _parts;
        private readonly int _hash;

        public AxisSignature(Layout phi, int axis)
        {
            var parts = new List<(long, long, AxisLayout)>();
            foreach (var b in phi.Blocks)
            {
                var part = (b.Start[axis], phi.Shape[axis], b.Axes[axis]);
                if (!parts.Contains(part))
                {
                    parts.Add(part);
                }
            }

            _parts = parts.OrderBy(p => p.Item1).ToArray();
            var h = 29;
            foreach (var (start, length, layout) in _parts)
            {
                h = unchecked((((h * 31) + start.GetHashCode()) * 31) + layout.GetHashCode());
                h = unchecked((h * 31) + length.GetHashCode());
            }

            _hash = h;
        }

        /// <summary>Runs of the axis with the union of the keys every box gives them.</summary>
        public List<Segment> Segments()
        {
            var result = new List<Segment>();
            var parts = _parts;
            if (parts.Length == 1 || parts.All(p => p.Start == parts[0].Start && p.Layout.Runs.All(r => r.Keys.Length == 0)))
            {
                var (start, _, layout) = parts[0];
                foreach (var run in layout.Runs)
                {
                    result.Add(new Segment(start, run.Length, run.Keys));
                    start += run.Length;
                }

                return result;
            }

            // Boxes give the axis different runs: cut at every run edge and union the keys there.
            var edges = new SortedSet<long>();
            foreach (var (start, _, layout) in _parts)
            {
                var at = start;
                edges.Add(at);
                foreach (var run in layout.Runs)
                {
                    at += run.Length;
                    edges.Add(at);
                }
            }

            var cuts = edges.ToArray();
            for (var c = 0; c + 1 < cuts.Length; c++)
            {
                var keys = new List<KeySeq>();
                foreach (var (start, _, layout) in _parts)
                {
                    if (cuts[c] < start || cuts[c] >= start + layout.Length)
                    {
                        continue;
                    }

                    var (run, offset) = layout.Locate(cuts[c] - start);
                    keys.AddRange(run.Keys.Select(k => k.Shift(offset)));
                }

                result.Add(new Segment(cuts[c], cuts[c + 1] - cuts[c], keys.Distinct().OrderBy(k => k).ToArray()));
            }

            return result;
        }

        public bool Equals(AxisSignature other)
        {
            if (_hash != other._hash || _parts.Length != other._parts.Length)
            {
                return false;
            }

            for (var i = 0; i < _parts.Length; i++)
            {
                if (_parts[i].Start != other._parts[i].Start || _parts[i].Length != other._parts[i].Length || !_parts[i].Layout.Equals(other._parts[i].Layout))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is AxisSignature s && Equals(s);

        public override int GetHashCode() => _hash;
    }
}
