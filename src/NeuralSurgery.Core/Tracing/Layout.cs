using System;
using System.Collections.Generic;
using System.Linq;

namespace NeuralSurgery.Tracing;

/// <summary>
/// A box of a <see cref="Layout"/>: the elements with index in <c>[Start, Start + Size)</c> on every axis.
/// Element <c>p</c> carries <c>Common ∪ ⋃_a Axes[a] at (p_a - Start_a)</c>; its keys along axis <c>a</c> are
/// those of <c>Axes[a]</c> there.
/// </summary>
public sealed class LayoutBlock
{
    public LayoutBlock(long[] start, long[] size, FeatureSet common, AxisLayout[] axes)
    {
        Start = start;
        Size = size;
        Common = common;
        Axes = axes;
        for (var a = 0; a < axes.Length; a++)
        {
            if (axes[a].Length != size[a])
            {
                throw new ArgumentException($"axis {a} layout has length {axes[a].Length} but the block has size {size[a]}");
            }
        }
    }

    public long[] Start { get; }

    public long[] Size { get; }

    public FeatureSet Common { get; }

    public AxisLayout[] Axes { get; }

    public int Rank => Size.Length;

    public long Volume => Size.Aggregate(1L, (a, b) => a * b);

    public bool Contains(long[] index)
    {
        for (var a = 0; a < Rank; a++)
        {
            if (index[a] < Start[a] || index[a] >= Start[a] + Size[a])
            {
                return false;
            }
        }

        return true;
    }

    public FeatureSet FeaturesAt(long[] index)
    {
        var set = Common;
        for (var a = 0; a < Rank; a++)
        {
            set = set.Union(Axes[a].FeaturesAt(index[a] - Start[a]));
        }

        return set;
    }

    /// <summary>Union of every element's features.</summary>
    public FeatureSet AllFeatures()
    {
        var set = Common;
        foreach (var axis in Axes)
        {
            set = set.Union(axis.AllFeatures());
        }

        return set;
    }

    internal LayoutBlock With(int axis, long start, AxisLayout layout)
    {
        var s = (long[])Start.Clone();
        var z = (long[])Size.Clone();
        var axes = (AxisLayout[])Axes.Clone();
        s[axis] = start;
        z[axis] = layout.Length;
        axes[axis] = layout;
        return new LayoutBlock(s, z, Common, axes);
    }

    internal LayoutBlock Insert(int axis, long start, AxisLayout layout)
    {
        var s = Start.ToList();
        var z = Size.ToList();
        var axes = Axes.ToList();
        s.Insert(axis, start);
        z.Insert(axis, layout.Length);
        axes.Insert(axis, layout);
        return new LayoutBlock(s.ToArray(), z.ToArray(), Common, axes.ToArray());
    }

    internal LayoutBlock Remove(int axis, FeatureSet fold)
    {
        var s = Start.Where((_, i) => i != axis).ToArray();
        var z = Size.Where((_, i) => i != axis).ToArray();
        var axes = Axes.Where((_, i) => i != axis).ToArray();
        return new LayoutBlock(s, z, Common.Union(fold), axes);
    }

    public override string ToString() =>
        "[" + string.Join(", ", Start.Zip(Size, (s, z) => $"{s}:{s + z}")) + "] " + Common + " " + string.Join(" ; ", Axes.Select(a => a.ToString()));
}

/// <summary>
/// The structured tracer's value: feature sets of a whole tensor as a partition into boxes, each box a
/// union of per-axis run-length layouts (DESIGN.md section 5). Most values are a single box; concatenation
/// of differently encoded groups along a non-feature axis and splitting a keyed axis make several.
/// </summary>
public sealed class Layout
{
    public Layout(long[] shape, IReadOnlyList<LayoutBlock> blocks)
    {
        Shape = shape;
        Blocks = blocks;
    }

    public long[] Shape { get; }

    public IReadOnlyList<LayoutBlock> Blocks { get; }

    public int Rank => Shape.Length;

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public static Layout Uniform(long[] shape, FeatureSet features) =>
        new(shape, [new LayoutBlock(new long[shape.Length], shape, features, shape.Select(AxisLayout.Empty).ToArray())]);

    /// <summary>A single box whose axis <paramref name="axis"/> has the given layout.</summary>
    public static Layout WithAxis(long[] shape, int axis, AxisLayout layout, FeatureSet? common = null) =>
        new(shape, [new LayoutBlock(new long[shape.Length], shape, common ?? FeatureSet.Empty, shape.Select((d, a) => a == axis ? layout : AxisLayout.Empty(d)).ToArray())]);

    public LayoutBlock BlockAt(long[] index) =>
        Blocks.FirstOrDefault(b => b.Contains(index)) ?? throw new ArgumentOutOfRangeException(nameof(index), "index outside the layout");

    public FeatureSet FeaturesAt(long[] index) => BlockAt(index).FeaturesAt(index);

    public FeatureSet AllFeatures()
    {
        var set = FeatureSet.Empty;
        foreach (var b in Blocks)
        {
            set = set.Union(b.AllFeatures());
        }

        return set;
    }

    /// <summary>One feature set per element, row-major. Only for small tensors (tests, the reference check).</summary>
    public FeatureSet[] Expand()
    {
        var result = new FeatureSet[ElementCount];
        var strides = new long[Rank];
        long stride = 1;
        for (var a = Rank - 1; a >= 0; a--)
        {
            strides[a] = stride;
            stride *= Shape[a];
        }

        foreach (var b in Blocks)
        {
            var perAxis = b.Axes.Select(ax => Enumerable.Range(0, (int)ax.Length).Select(i => ax.FeaturesAt(i)).ToArray()).ToArray();
            var idx = new long[Rank];
            for (long e = 0; e < b.Volume; e++)
            {
                var rem = e;
                long offset = 0;
                var set = b.Common;
                for (var a = Rank - 1; a >= 0; a--)
                {
                    idx[a] = rem % b.Size[a];
                    rem /= b.Size[a];
                    offset += (b.Start[a] + idx[a]) * strides[a];
                    set = set.Union(perAxis[a][idx[a]]);
                }

                result[offset] = set;
            }
        }

        return result;
    }

    /// <summary>
    /// Element-wise union of boxes that may overlap (and need not cover everything: uncovered elements carry
    /// nothing), as a partition: the common refinement of the boxes' edges, coalesced back where it can.
    /// </summary>
    public static Layout Combine(long[] shape, IReadOnlyList<LayoutBlock> parts)
    {
        var rank = shape.Length;
        if (rank == 0)
        {
            var common = parts.Aggregate(FeatureSet.Empty, (s, p) => s.Union(p.Common));
            return new Layout(shape, [new LayoutBlock([], [], common, [])]);
        }

        var volume = shape.Aggregate(1L, (a, b) => a * b);
        if (parts.Count == 1 && parts[0].Volume == volume)
        {
            return new Layout(shape, parts);
        }

        if (IsPartition(parts, volume))
        {
            return new Layout(shape, Coalesce(parts));
        }

        // Breakpoints per axis, then every cell of the grid with the parts covering it.
        var cuts = new long[rank][];
        for (var a = 0; a < rank; a++)
        {
            var set = new SortedSet<long> { 0, shape[a] };
            foreach (var p in parts)
            {
                set.Add(p.Start[a]);
                set.Add(p.Start[a] + p.Size[a]);
            }

            cuts[a] = set.ToArray();
        }

        var cells = new List<LayoutBlock>();
        var cell = new int[rank];
        var covering = new List<LayoutBlock>();
        while (true)
        {
            var start = new long[rank];
            var size = new long[rank];
            for (var a = 0; a < rank; a++)
            {
                start[a] = cuts[a][cell[a]];
                size[a] = cuts[a][cell[a] + 1] - start[a];
            }

            covering.Clear();
            foreach (var p in parts)
            {
                var inside = true;
                for (var a = 0; a < rank && inside; a++)
                {
                    inside = p.Start[a] <= start[a] && start[a] + size[a] <= p.Start[a] + p.Size[a];
                }

                if (inside)
                {
                    covering.Add(p);
                }
            }

            var common = FeatureSet.Empty;
            var axes = new AxisLayout[rank];
            for (var a = 0; a < rank; a++)
            {
                axes[a] = AxisLayout.Empty(size[a]);
            }

            foreach (var p in covering)
            {
                common = common.Union(p.Common);
                for (var a = 0; a < rank; a++)
                {
                    axes[a] = axes[a].Merge(p.Axes[a].Slice(start[a] - p.Start[a], size[a]));
                }
            }

            cells.Add(new LayoutBlock(start, size, common, axes));

            var k = rank - 1;
            while (k >= 0 && ++cell[k] == cuts[k].Length - 1)
            {
                cell[k] = 0;
                k--;
            }

            if (k < 0)
            {
                break;
            }
        }

        return new Layout(shape, Coalesce(cells));
    }

    private static bool IsPartition(IReadOnlyList<LayoutBlock> parts, long volume)
    {
        if (parts.Sum(p => p.Volume) != volume)
        {
            return false;
        }

        for (var i = 0; i < parts.Count; i++)
        {
            for (var j = i + 1; j < parts.Count; j++)
            {
                var overlap = true;
                for (var a = 0; a < parts[i].Rank && overlap; a++)
                {
                    overlap = parts[i].Start[a] < parts[j].Start[a] + parts[j].Size[a] && parts[j].Start[a] < parts[i].Start[a] + parts[i].Size[a];
                }

                if (overlap)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Merges boxes adjacent along one axis whose other axes are equal (see <see cref="Join"/>).</summary>
    internal static List<LayoutBlock> Coalesce(IEnumerable<LayoutBlock> input)
    {
        var blocks = input.ToList();
        if (blocks.Count < 2)
        {
            return blocks;
        }

        var rank = blocks[0].Rank;
        var changed = true;
        while (changed && blocks.Count > 1)
        {
            changed = false;
            for (var axis = rank - 1; axis >= 0; axis--)
            {
                var groups = blocks.GroupBy(b => new Signature(b, axis));
                var next = new List<LayoutBlock>();
                foreach (var g in groups)
                {
                    var sorted = g.OrderBy(b => b.Start[axis]).ToList();
                    var current = sorted[0];
                    for (var i = 1; i < sorted.Count; i++)
                    {
                        var b = sorted[i];
                        if (current.Start[axis] + current.Size[axis] == b.Start[axis])
                        {
                            current = Join(current, b, axis);
                            changed = true;
                        }
                        else
                        {
                            next.Add(current);
                            current = b;
                        }
                    }

                    next.Add(current);
                }

                blocks = next;
            }
        }

        return blocks.OrderBy(b => b.Start, LexComparer.Instance).ToList();
    }

    /// <summary>
    /// Two boxes adjacent along <paramref name="axis"/> with equal other axes as one box: where their common sets
    /// differ, each moves into its own runs along that axis, which cover every element of the box.
    /// </summary>
    private static LayoutBlock Join(LayoutBlock left, LayoutBlock right, int axis)
    {
        if (left.Common.Equals(right.Common))
        {
            return left.With(axis, left.Start[axis], AxisLayout.Concat([left.Axes[axis], right.Axes[axis]]));
        }

        var shared = left.Common.Intersect(right.Common);
        var joined = AxisLayout.Concat([left.Axes[axis].AddBits(left.Common.Except(shared)), right.Axes[axis].AddBits(right.Common.Except(shared))]);
        var axes = (AxisLayout[])left.Axes.Clone();
        axes[axis] = joined;
        var size = (long[])left.Size.Clone();
        size[axis] = joined.Length;
        return new LayoutBlock(left.Start, size, shared, axes);
    }

    // ---- structural ops (every one keeps the partition exact) ----

    /// <summary>Indices <c>start, start+step, …</c> (<paramref name="count"/> of them) along <paramref name="axis"/>.</summary>
    public Layout Select(int axis, long start, long count, long step = 1)
    {
        var shape = (long[])Shape.Clone();
        shape[axis] = count;
        var last = start + ((count - 1) * step);
        var blocks = new List<LayoutBlock>();
        foreach (var b in Blocks)
        {
            var bs = b.Start[axis];
            var be = bs + b.Size[axis];
            if (be <= start || bs > last)
            {
                continue;
            }

            var firstK = bs <= start ? 0 : (bs - start + step - 1) / step;
            var first = start + (firstK * step);
            if (first >= be || first > last)
            {
                continue;
            }

            var n = Math.Min((be - 1 - first) / step, (last - first) / step) + 1;
            blocks.Add(b.With(axis, firstK, b.Axes[axis].Slice(first - bs, n, step)));
        }

        return new Layout(shape, Coalesce(blocks));
    }

    /// <summary>
    /// Sliding windows over <paramref name="axes"/> (convolution taps after the channels are folded, pooling): output
    /// position <c>o</c> on axis <c>axes[i]</c> reads the input positions of <c>window(i, o)</c> that lie inside the axis,
    /// and every output element carries the union over the product of its windows. A block's element set is
    /// <c>Common ∪ ⋃_a Axes[a](p_a)</c>, so the union over a product of positions is separable: per axis, the union
    /// of that axis' layout over the window's positions inside the block, wherever every window meets the block.
    /// Positions on window axes lose their keys (they name positions, which a window mixes).
    /// </summary>
    public Layout WindowUnion(int[] axes, long[] outLengths, Func<int, long, NeuralSurgery.Graph.Window> window)
    {
        var shape = (long[])Shape.Clone();
        for (var i = 0; i < axes.Length; i++)
        {
            shape[axes[i]] = outLengths[i];
        }

        var parts = new List<LayoutBlock>();
        foreach (var block in Blocks)
        {
            // Per window axis: the runs of consecutive outputs whose window meets the block, with their unions.
            var segments = new List<(long Start, List<Run> Runs)>[axes.Length];
            var empty = false;
            for (var i = 0; i < axes.Length && !empty; i++)
            {
                var a = axes[i];
                long lo = block.Start[a], hi = lo + block.Size[a];
                var list = new List<(long Start, List<Run> Runs)>();
                List<Run>? current = null;
                for (long o = 0; o < outLengths[i]; o++)
                {
                    var w = window(i, o);
                    if (NeuralSurgery.Graph.Windows.Clip(w, lo, hi) is not { } k)
                    {
                        current = null;
                        continue;
                    }

                    if (current is null)
                    {
                        current = [];
                        list.Add((o, current));
                    }

                    current.Add(new Run(1, block.Axes[a].FeaturesOver(w.Start + (k.First * w.Step) - lo, k.Last - k.First + 1, w.Step)));
                }

                segments[i] = list;
                empty = list.Count == 0;
            }

            if (empty)
            {
                continue;
            }

            // The product of the axes' segments: one box each.
            var boxes = new List<(long[] Start, long[] Size, AxisLayout[] Axes)> { ((long[])block.Start.Clone(), (long[])block.Size.Clone(), (AxisLayout[])block.Axes.Clone()) };
            for (var i = 0; i < axes.Length; i++)
            {
                var a = axes[i];
                var next = new List<(long[] Start, long[] Size, AxisLayout[] Axes)>();
                foreach (var box in boxes)
                {
                    foreach (var (start, runs) in segments[i])
                    {
                        var st = (long[])box.Start.Clone();
                        var sz = (long[])box.Size.Clone();
                        var ax = (AxisLayout[])box.Axes.Clone();
                        st[a] = start;
                        sz[a] = runs.Count;
                        ax[a] = AxisLayout.FromRuns(runs);
                        next.Add((st, sz, ax));
                    }
                }

                boxes = next;
            }

            parts.AddRange(boxes.Select(b => new LayoutBlock(b.Start, b.Size, block.Common, b.Axes)));
        }

        return Combine(shape, parts);
    }

    public Layout Transpose(int axis0, int axis1)
    {
        long[] Swap(long[] v)
        {
            var c = (long[])v.Clone();
            (c[axis0], c[axis1]) = (c[axis1], c[axis0]);
            return c;
        }

        return new Layout(Swap(Shape), Blocks.Select(b =>
        {
            var axes = (AxisLayout[])b.Axes.Clone();
            (axes[axis0], axes[axis1]) = (axes[axis1], axes[axis0]);
            return new LayoutBlock(Swap(b.Start), Swap(b.Size), b.Common, axes);
        }).ToList());
    }

    public Layout InsertAxis(int axis, AxisLayout layout)
    {
        var shape = Shape.ToList();
        shape.Insert(axis, layout.Length);
        return new Layout(shape.ToArray(), Blocks.Select(b => b.Insert(axis, 0, layout)).ToList());
    }

    public Layout Unsqueeze(int axis) => InsertAxis(axis, AxisLayout.Empty(1));

    /// <summary>Drops a length-1 axis; its features fold into the boxes' common sets, its keys are dropped.</summary>
    public Layout Squeeze(int axis)
    {
        var shape = Shape.Where((_, i) => i != axis).ToArray();
        return new Layout(shape, Coalesce(Blocks.Select(b => b.Remove(axis, b.Axes[axis].AllFeatures()))));
    }

    /// <summary>
    /// Union over every axis not in <paramref name="keep"/> (in that order): element <c>q</c> of the result
    /// carries the union of the elements that agree with <c>q</c> on the kept axes. Keys of kept axes stay.
    /// </summary>
    public Layout ReduceTo(params int[] keep)
    {
        var shape = keep.Select(a => Shape[a]).ToArray();
        var parts = new List<LayoutBlock>(Blocks.Count);
        foreach (var b in Blocks)
        {
            var common = b.Common;
            for (var a = 0; a < Rank; a++)
            {
                if (Array.IndexOf(keep, a) < 0)
                {
                    common = common.Union(b.Axes[a].AllFeatures());
                }
            }

            parts.Add(new LayoutBlock(keep.Select(a => b.Start[a]).ToArray(), keep.Select(a => b.Size[a]).ToArray(), common, keep.Select(a => b.Axes[a]).ToArray()));
        }

        return Combine(shape, parts);
    }

    /// <summary>Union along <paramref name="axis"/> (max, mean, sum).</summary>
    public Layout Reduce(int axis, bool keepDim)
    {
        var reduced = ReduceTo(Enumerable.Range(0, Rank).Where(a => a != axis).ToArray());
        return keepDim ? reduced.Unsqueeze(axis) : reduced;
    }

    /// <summary>Broadcasts to <paramref name="shape"/> with PyTorch's rules (leading axes added, length-1 axes stretched).</summary>
    public Layout BroadcastTo(long[] shape)
    {
        var layout = this;
        while (layout.Rank < shape.Length)
        {
            layout = layout.Unsqueeze(0);
        }

        var blocks = layout.Blocks.ToList();
        for (var a = 0; a < shape.Length; a++)
        {
            if (layout.Shape[a] == shape[a])
            {
                continue;
            }

            if (layout.Shape[a] != 1)
            {
                throw new InvalidOperationException($"cannot broadcast axis {a} of length {layout.Shape[a]} to {shape[a]}");
            }

            blocks = blocks.Select(b => b.With(a, 0, b.Axes[a].Broadcast(shape[a]))).ToList();
        }

        return new Layout(shape, blocks);
    }

    /// <summary>Element-wise union with broadcasting (add, sub, mul of two values; Table 1, x_i ⊙ x_j).</summary>
    public static Layout Elementwise(Layout a, Layout b, long[] shape)
    {
        var parts = a.BroadcastTo(shape).Blocks.Concat(b.BroadcastTo(shape).Blocks).ToList();
        return Combine(shape, parts);
    }

    public static Layout Concat(int axis, IReadOnlyList<Layout> parts)
    {
        var shape = (long[])parts[0].Shape.Clone();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        var blocks = new List<LayoutBlock>();
        long offset = 0;
        foreach (var p in parts)
        {
            blocks.AddRange(p.Blocks.Select(b => b.With(axis, b.Start[axis] + offset, b.Axes[axis])));
            offset += p.Shape[axis];
        }

        return new Layout(shape, Coalesce(blocks));
    }

    /// <summary>The line through <paramref name="index"/> along <paramref name="axis"/>, features folded in, keys of that axis kept.</summary>
    public AxisLayout Line(long[] index, int axis)
    {
        var pieces = new List<(long Start, AxisLayout Layout)>();
        foreach (var b in Blocks)
        {
            var inside = true;
            for (var a = 0; a < Rank && inside; a++)
            {
                inside = a == axis || (index[a] >= b.Start[a] && index[a] < b.Start[a] + b.Size[a]);
            }

            if (!inside)
            {
                continue;
            }

            var extra = b.Common;
            for (var a = 0; a < Rank; a++)
            {
                if (a != axis)
                {
                    extra = extra.Union(b.Axes[a].FeaturesAt(index[a] - b.Start[a]));
                }
            }

            pieces.Add((b.Start[axis], b.Axes[axis].AddBits(extra)));
        }

        return AxisLayout.Concat(pieces.OrderBy(p => p.Start).Select(p => p.Layout));
    }

    /// <summary>Row-major reinterpretation to <paramref name="target"/> (view, reshape, flatten).</summary>
    public Layout Reshape(long[] target)
    {
        if (target.Aggregate(1L, (a, b) => a * b) != ElementCount)
        {
            throw new InvalidOperationException($"cannot reshape [{string.Join(", ", Shape)}] to [{string.Join(", ", target)}]");
        }

        // Drop length-1 axes, match the rest in groups of equal products, merge each group's source axes into
        // one and split it into the target axes, then put the target's length-1 axes back.
        // A length-1 axis that carries unit keys (the one channel of a conv before a flatten) is merged into a
        // neighbour instead, so its elements keep the keys: squeezing would drop them and with them the unit's identity.
        var layout = this;
        for (var a = layout.Rank - 1; a >= 0; a--)
        {
            if (layout.Shape[a] != 1)
            {
                continue;
            }

            var keyed = layout.Rank > 1 && layout.Blocks.Any(b => b.Axes[a].Runs.Any(r => r.Keys.Length > 0));
            layout = !keyed ? layout.Squeeze(a) : a + 1 < layout.Rank ? layout.MergeAxes(a) : layout.MergeAxes(a - 1);
        }

        var dims = target.Where(d => d != 1).ToArray();
        var groups = new List<(int SrcStart, int SrcCount, int DstStart, int DstCount)>();
        int i = 0, j = 0;
        while (i < layout.Rank && j < dims.Length)
        {
            var gi = i;
            var gj = j;
            var pi = layout.Shape[i++];
            var pj = dims[j++];
            while (pi != pj)
            {
                if (pi < pj)
                {
                    pi *= layout.Shape[i++];
                }
                else
                {
                    pj *= dims[j++];
                }
            }

            groups.Add((gi, i - gi, gj, j - gj));
        }

        for (var g = groups.Count - 1; g >= 0; g--)
        {
            var (srcStart, srcCount, dstStart, dstCount) = groups[g];
            for (var k = 1; k < srcCount; k++)
            {
                layout = layout.MergeAxes(srcStart);
            }

            for (var k = 0; k < dstCount - 1; k++)
            {
                layout = layout.SplitAxis(srcStart + k, dims[dstStart + k]);
            }
        }

        for (var a = 0; a < target.Length; a++)
        {
            if (target[a] == 1)
            {
                layout = layout.Unsqueeze(a);
            }
        }

        return layout;
    }

    /// <summary>Merges axes <paramref name="axis"/> and <c>axis + 1</c> row-major.</summary>
    internal Layout MergeAxes(int axis)
    {
        var inner = Shape[axis + 1];
        var shape = Shape.Take(axis).Concat([Shape[axis] * inner]).Concat(Shape.Skip(axis + 2)).ToArray();
        var blocks = new List<LayoutBlock>();
        foreach (var b in Blocks)
        {
            var outerLayout = b.Axes[axis];
            var innerLayout = b.Axes[axis + 1];
            var pieces = new List<AxisLayout>();
            for (long o = 0; o < b.Size[axis]; o++)
            {
                var (run, offset) = outerLayout.Locate(o);
                var keys = run.Keys.Select(k => new KeySeq(k.Space, k.At(offset), 0)).ToArray();
                pieces.Add(AxisLayout.FromRuns(innerLayout.Runs.Select(r => new Run(r.Length, r.Bits.Union(run.Bits), r.Keys.Concat(keys).ToArray()))));
            }

            var rest = b.Start.Take(axis).Concat(b.Start.Skip(axis + 2)).ToArray();
            var restSize = b.Size.Take(axis).Concat(b.Size.Skip(axis + 2)).ToArray();
            var restAxes = b.Axes.Take(axis).Concat(b.Axes.Skip(axis + 2)).ToList();
            if (b.Size[axis + 1] == inner)
            {
                var merged = AxisLayout.Concat(pieces);
                blocks.Add(Build(rest, restSize, restAxes, axis, b.Start[axis] * inner, merged, b.Common));
            }
            else
            {
                for (long o = 0; o < b.Size[axis]; o++)
                {
                    blocks.Add(Build(rest, restSize, restAxes, axis, ((b.Start[axis] + o) * inner) + b.Start[axis + 1], pieces[(int)o], b.Common));
                }
            }
        }

        return new Layout(shape, Coalesce(blocks));

        static LayoutBlock Build(long[] start, long[] size, List<AxisLayout> axes, int axis, long at, AxisLayout layout, FeatureSet common)
        {
            var s = start.ToList();
            var z = size.ToList();
            var l = axes.ToList();
            s.Insert(axis, at);
            z.Insert(axis, layout.Length);
            l.Insert(axis, layout);
            return new LayoutBlock(s.ToArray(), z.ToArray(), common, l.ToArray());
        }
    }

    /// <summary>Splits axis <paramref name="axis"/> into <c>[outer, length / outer]</c> row-major.</summary>
    internal Layout SplitAxis(int axis, long outer)
    {
        var inner = Shape[axis] / outer;
        var shape = Shape.Take(axis).Concat([outer, inner]).Concat(Shape.Skip(axis + 1)).ToArray();
        var blocks = new List<LayoutBlock>();
        foreach (var b in Blocks)
        {
            var s = b.Start[axis];
            var e = s + b.Size[axis];
            for (var row = s / inner; row <= (e - 1) / inner; row++)
            {
                var lo = Math.Max(s, row * inner);
                var hi = Math.Min(e, (row + 1) * inner);
                var piece = b.Axes[axis].Slice(lo - s, hi - lo);
                var split = b.With(axis, lo - (row * inner), piece).Insert(axis, row, AxisLayout.Empty(1));
                blocks.Add(split);
            }
        }

        return new Layout(shape, Coalesce(blocks));
    }

    public override string ToString() => "[" + string.Join(", ", Shape) + "] " + string.Join(" || ", Blocks);

    private sealed class LexComparer : IComparer<long[]>
    {
        public static readonly LexComparer Instance = new();

        public int Compare(long[]? x, long[]? y)
        {
            for (var i = 0; i < x!.Length; i++)
            {
                var c = x[i].CompareTo(y![i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        }
    }

    /// <summary>A box's other axes (start and layout): boxes with equal signatures, adjacent along the axis, merge.</summary>
    private readonly struct Signature : IEquatable<Signature>
    {
        private readonly LayoutBlock _block;
        private readonly int _axis;
        private readonly int _hash;

        public Signature(LayoutBlock block, int axis)
        {
            _block = block;
            _axis = axis;
            var h = 7;
            for (var a = 0; a < block.Rank; a++)
            {
                if (a != axis)
                {
                    h = unchecked((h * 31) + block.Start[a].GetHashCode());
                    h = unchecked((h * 31) + block.Axes[a].GetHashCode());
                }
            }

            _hash = h;
        }

        public bool Equals(Signature other)
        {
            if (_hash != other._hash)
            {
                return false;
            }

            for (var a = 0; a < _block.Rank; a++)
            {
                if (a != _axis && (_block.Start[a] != other._block.Start[a] || !_block.Axes[a].Equals(other._block.Axes[a])))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is Signature s && Equals(s);

        public override int GetHashCode() => _hash;
    }
}
