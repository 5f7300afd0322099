using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>Output shapes of each op; every rejection names the node, the operand and both shapes.</summary>
internal sealed class ShapeInference : GraphInterpreter<Shape>
{
    /// <summary>Stateless when used through <see cref="Infer"/>, so one instance serves every graph.</summary>
    private static readonly ShapeInference Instance = new();

    public static IReadOnlyList<Shape> Infer(GraphNode node, GraphModule? module, IReadOnlyList<Shape> operands) =>
        Instance.Evaluate(new NodeArgs<Shape>(node, module, operands));

    private static GraphException Mismatch(NodeArgs<Shape> a, int operand, string expected) =>
        a.Error($"operand '{a.Node.Operands[operand]}' has shape {a.Operands[operand]}; expected {expected}");

    private static int Axis(NodeArgs<Shape> a, int axis, int rank)
    {
        if (axis < 0 || axis >= rank)
        {
            throw a.Error($"axis {axis} is out of range for operand '{a.Node.Operands[0]}' of shape {a.Operands[0]} (axes are stored normalised, 0 to {rank - 1})");
        }

        return axis;
    }

    private static Shape[] One(NodeArgs<Shape> a, Shape result)
    {
        a.Arity(1, 1);
        return [result];
    }

    public override IReadOnlyList<Shape> VisitDropout(DropoutOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        if (!(op.P >= 0 && op.P <= 1))
        {
            throw a.Error($"p is {op.P.ToString(System.Globalization.CultureInfo.InvariantCulture)}; expected a probability in [0, 1]");
        }

        return [a.X];
    }

    public override IReadOnlyList<Shape> VisitActivation(ActivationOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        return [a.X];
    }

    public override IReadOnlyList<Shape> VisitSoftmax(SoftmaxOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        Axis(a, op.Axis, a.X.Rank);
        return [a.X];
    }

    public override IReadOnlyList<Shape> VisitBinary(BinaryOp op, NodeArgs<Shape> a)
    {
        a.Arity(2, 2);
        return [Broadcast(a.Operands[0], a.Operands[1], a.Where, a.Node.Operands)];
    }

    public override IReadOnlyList<Shape> VisitConcat(ConcatOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, int.MaxValue);
        var operands = a.Operands;
        var first = operands[0];
        Axis(a, op.Axis, first.Rank);
        var total = Dim.Of(0);
        for (var i = 0; i < operands.Count; i++)
        {
            var s = operands[i];
            if (s.Rank != first.Rank || Enumerable.Range(0, s.Rank).Any(x => x != op.Axis && s[x] != first[x]))
            {
                throw a.Error($"operand '{a.Node.Operands[i]}' has shape {s} but operand '{a.Node.Operands[0]}' has shape {first}; concat along axis {op.Axis} needs equal sizes on every other axis");
            }

            total += s[op.Axis];
        }

        return [first.With(op.Axis, total)];
    }

    public override IReadOnlyList<Shape> VisitStack(StackOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, int.MaxValue);
        var first = a.X;
        if (op.Axis < 0 || op.Axis > first.Rank)
        {
            throw a.Error($"axis {op.Axis} is out of range for stacking tensors of rank {first.Rank}");
        }

        for (var i = 1; i < a.Operands.Count; i++)
        {
            if (a.Operands[i] != first)
            {
                throw a.Error($"operand '{a.Node.Operands[i]}' has shape {a.Operands[i]} but operand '{a.Node.Operands[0]}' has shape {first}; stack needs equal shapes");
            }
        }

        return [first.Insert(op.Axis, a.Operands.Count)];
    }

    public override IReadOnlyList<Shape> VisitReduce(ReduceOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        Axis(a, op.Axis, a.X.Rank);
        return [op.KeepDim ? a.X.With(op.Axis, 1) : a.X.Remove(op.Axis)];
    }

    public override IReadOnlyList<Shape> VisitReshape(ReshapeOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        return [Reshape(a.X, op.Target, a.Where, a.Node.Operands[0])];
    }

    public override IReadOnlyList<Shape> VisitFlatten(FlattenOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank == 0)
        {
            return [Shape.Of(1L)];
        }

        Axis(a, op.StartAxis, s.Rank);
        Axis(a, op.EndAxis, s.Rank);
        if (op.EndAxis < op.StartAxis)
        {
            throw a.Error($"flatten end axis {op.EndAxis} is before start axis {op.StartAxis}");
        }

        var merged = Product(s.Dims.Skip(op.StartAxis).Take(op.EndAxis - op.StartAxis + 1), a.Where, a.Node.Operands[0], s);
        var dims = s.Dims.Take(op.StartAxis).Concat([merged]).Concat(s.Dims.Skip(op.EndAxis + 1));
        return [new Shape(dims)];
    }

    public override IReadOnlyList<Shape> VisitUnsqueeze(UnsqueezeOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        if (op.Axis < 0 || op.Axis > a.X.Rank)
        {
            throw a.Error($"axis {op.Axis} is out of range for unsqueezing operand '{a.Node.Operands[0]}' of shape {a.X}");
        }

        return [a.X.Insert(op.Axis, 1)];
    }

    public override IReadOnlyList<Shape> VisitSqueeze(SqueezeOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        Axis(a, op.Axis, a.X.Rank);
        if (a.X[op.Axis] != Dim.Of(1))
        {
            throw Mismatch(a, 0, $"size 1 on axis {op.Axis} to squeeze it");
        }

        return [a.X.Remove(op.Axis)];
    }

    public override IReadOnlyList<Shape> VisitNarrow(NarrowOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        Axis(a, op.Axis, a.X.Rank);
        var d = a.X[op.Axis];
        if (!d.IsConstant)
        {
            throw Mismatch(a, 0, $"a constant size on axis {op.Axis} to narrow it");
        }

        if (op.Start < 0 || (op.Length.IsConstant && (op.Length.Constant < 1 || op.Start + op.Length.Constant > d.Constant)) || (!op.Length.IsConstant && op.Start >= d.Constant))
        {
            throw Mismatch(a, 0, $"room for narrow(start {op.Start}, length {op.Length}) on axis {op.Axis}");
        }

        return [a.X.With(op.Axis, op.Length)];
    }

    public override IReadOnlyList<Shape> VisitSlice(SliceOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        Axis(a, op.Axis, a.X.Rank);
        var d = a.X[op.Axis];
        if (!d.IsConstant)
        {
            throw Mismatch(a, 0, $"a constant size on axis {op.Axis} to slice it");
        }

        if (op.Step < 1 || op.Start < 0 || op.End > d.Constant || op.End <= op.Start)
        {
            throw Mismatch(a, 0, $"room for slice [{op.Start}:{op.End}:{op.Step}] on axis {op.Axis} (normalised, non-empty, step >= 1)");
        }

        return [a.X.With(op.Axis, SliceLength(op))];
    }

    public override IReadOnlyList<Shape> VisitTranspose(TransposeOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        Axis(a, op.Axis0, s.Rank);
        Axis(a, op.Axis1, s.Rank);
        return [s.With(op.Axis0, s[op.Axis1]).With(op.Axis1, s[op.Axis0])];
    }

    // ---- layers ----

    public override IReadOnlyList<Shape> VisitLinear(LinearSpec l, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank == 0 || s[s.Rank - 1] != Dim.Of(l.InFeatures))
        {
            throw Mismatch(a, 0, $"last dimension {l.InFeatures} (in_features)");
        }

        return [s.With(s.Rank - 1, l.OutFeatures)];
    }

    /// <summary>query [.., T, .., E], key and value [.., S, .., E]: each projection keeps its operand's shape.</summary>
    public override IReadOnlyList<Shape> VisitAttentionProjection(AttentionProjectionSpec p, NodeArgs<Shape> a)
    {
        a.Arity(3, 3);
        var shapes = new Shape[3];
        for (var i = 0; i < 3; i++)
        {
            var s = a.Operands[i];
            if (s.Rank == 0 || s[s.Rank - 1] != Dim.Of(p.EmbedDim))
            {
                throw Mismatch(a, i, $"last dimension {p.EmbedDim} (embed_dim)");
            }

            shapes[i] = s;
        }

        return shapes;
    }

    public override IReadOnlyList<Shape> VisitEmbedding(EmbeddingSpec e, NodeArgs<Shape> a)
    {
        if (e.Bag is not { } bag)
        {
            return One(a, a.X.Insert(a.X.Rank, e.EmbeddingDim));
        }

        // EmbeddingBag: [B, N] bags of N rows, or a flat [T] with offsets [B] (B + 1 with include_last_offset).
        a.Arity(1, 2);
        var x = a.X;
        if (a.Operands.Count == 1)
        {
            if (x.Rank != 2)
            {
                throw Mismatch(a, 0, "[B, N] (one bag per row; a flat index input needs the offsets operand)");
            }

            return [Shape.Of(x[0], e.EmbeddingDim)];
        }

        var offsets = a.Operands[1];
        if (x.Rank != 1)
        {
            throw Mismatch(a, 0, "[T] (all bags' indices end to end, as the offsets operand needs)");
        }

        if (offsets.Rank != 1)
        {
            throw Mismatch(a, 1, "[B] (where each bag starts)");
        }

        return [Shape.Of(bag.IncludeLastOffset ? offsets[0] - Dim.Of(1) : offsets[0], e.EmbeddingDim)];
    }

    public override IReadOnlyList<Shape> VisitConv1d(Conv1dSpec c, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank is not (2 or 3) || s[s.Rank - 2] != Dim.Of(c.InChannels))
        {
            throw Mismatch(a, 0, $"[B, {c.InChannels}, L] or [{c.InChannels}, L] (in_channels {c.InChannels})");
        }

        var length = s[s.Rank - 1];
        if (!length.IsConstant && c.Stride != 1)
        {
            throw Mismatch(a, 0, "a constant length on the last axis for a strided Conv1d");
        }

        var outLength = ConvLength(c, length);
        if (outLength.IsConstant && outLength.Constant < 1)
        {
            throw Mismatch(a, 0, $"a length of at least {(c.Dilation * (c.KernelSize - 1)) + 1 - (2 * c.Padding)} for kernel_size {c.KernelSize}");
        }

        return [s.With(s.Rank - 2, c.OutChannels).With(s.Rank - 1, outLength)];
    }

    public override IReadOnlyList<Shape> VisitRecurrent(RecurrentSpec r, NodeArgs<Shape> a)
    {
        var operands = a.Operands;
        var states = r.Cell == RecurrentKind.Lstm ? 2 : 1;
        if (operands.Count != 1 && operands.Count != 1 + states)
        {
            throw a.Error($"has {operands.Count} operands; expected the input alone or the input and {states} initial state(s)");
        }

        var x = operands[0];
        if (x.Rank is not (2 or 3) || x[x.Rank - 1] != Dim.Of(r.InputSize))
        {
            throw Mismatch(a, 0, $"{(r.BatchFirst ? "[B, T, " : "[T, B, ")}{r.InputSize}] or [T, {r.InputSize}] (input_size {r.InputSize})");
        }

        var output = x.With(x.Rank - 1, r.HiddenSize * r.Directions);
        var state = x.Rank == 3
            ? Shape.Of(Dim.Of(r.NumLayers * r.Directions), x[r.BatchFirst ? 0 : 1], Dim.Of(r.HiddenSize))
            : Shape.Of(r.NumLayers * r.Directions, r.HiddenSize);
        for (var i = 1; i < operands.Count; i++)
        {
            if (operands[i] != state)
            {
                throw Mismatch(a, i, $"{state} (an initial state: layers x directions, batch, hidden_size)");
            }
        }

        var result = new List<Shape> { output, state };
        if (r.Cell == RecurrentKind.Lstm)
        {
            result.Add(state);
        }

        return result;
    }

    public override IReadOnlyList<Shape> VisitLayerNorm(LayerNormSpec n, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        var k = n.NormalizedShape.Count;
        if (s.Rank < k || Enumerable.Range(0, k).Any(i => s[s.Rank - k + i] != Dim.Of(n.NormalizedShape[i])))
        {
            throw Mismatch(a, 0, $"trailing dimensions [{string.Join(", ", n.NormalizedShape)}] (normalized_shape)");
        }

        return [s];
    }

    public override IReadOnlyList<Shape> VisitBatchNorm1d(BatchNorm1dSpec b, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank is not (2 or 3) || s[1] != Dim.Of(b.NumFeatures))
        {
            throw Mismatch(a, 0, $"[B, {b.NumFeatures}] or [B, {b.NumFeatures}, L] (num_features {b.NumFeatures})");
        }

        return [s];
    }

    public override IReadOnlyList<Shape> VisitBatchNorm2d(BatchNorm2dSpec b, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank != 4 || s[1] != Dim.Of(b.NumFeatures))
        {
            throw Mismatch(a, 0, $"[B, {b.NumFeatures}, H, W] (num_features {b.NumFeatures})");
        }

        return [s];
    }

    public override IReadOnlyList<Shape> VisitGroupNorm(GroupNormSpec g, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank < 2 || s[1] != Dim.Of(g.NumChannels))
        {
            throw Mismatch(a, 0, $"[B, {g.NumChannels}, ...] (num_channels {g.NumChannels})");
        }

        return [s];
    }

    public override IReadOnlyList<Shape> VisitTensor(TensorSpec t, NodeArgs<Shape> a)
    {
        a.Arity(0, 0);
        return [t.Shape];
    }

    public override IReadOnlyList<Shape> VisitConv2d(Conv2dSpec c, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (s.Rank is not (3 or 4) || s[s.Rank - 3] != Dim.Of(c.InChannels))
        {
            throw Mismatch(a, 0, $"[B, {c.InChannels}, H, W] or [{c.InChannels}, H, W] (in_channels {c.InChannels})");
        }

        var result = s.With(s.Rank - 3, c.OutChannels);
        for (var axis = 0; axis < 2; axis++)
        {
            var at = s.Rank - 2 + axis;
            result = result.With(at, SpatialLength(a, s[at], at, (axis == 0 ? c.StrideH : c.StrideW) == 1, l => c.OutputLength(axis, l), "Conv2d"));
        }

        return [result];
    }

    public override IReadOnlyList<Shape> VisitConvTranspose(ConvTransposeSpec c, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        var d = c.Dimensions;
        var channel = s.Rank - d - 1;
        if ((s.Rank != d + 1 && s.Rank != d + 2) || s[channel] != Dim.Of(c.InChannels))
        {
            var space = d == 1 ? "L" : "H, W";
            throw Mismatch(a, 0, $"[B, {c.InChannels}, {space}] or [{c.InChannels}, {space}] (in_channels {c.InChannels})");
        }

        var result = s.With(channel, c.OutChannels);
        for (var i = 0; i < d; i++)
        {
            var axis = 2 - d + i; // the spec's H (0) or W (1)
            var at = channel + 1 + i;
            var length = s[at];
            if (length.IsConstant)
            {
                var outLength = c.OutputLength(axis, length.Constant);
                if (outLength < 1)
                {
                    throw Mismatch(a, 0, $"at least one output position on axis {at} for {c.Kind} (padding removes more than the input gives)");
                }

                result = result.With(at, Dim.Of(outLength));
            }
            else
            {
                // Linear in L: s·L + (output(1) − s).
                result = result.With(at, (length * (axis == 0 ? c.StrideH : c.StrideW)) + Dim.Of(c.OutputLength(axis, 1) - (axis == 0 ? c.StrideH : c.StrideW)));
            }
        }

        return [result];
    }

    public override IReadOnlyList<Shape> VisitPool(PoolOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        var d = op.Dimensions;
        if (d is not (1 or 2) || op.Stride.Count != d || op.Padding.Count != d || op.Dilation.Count != d)
        {
            throw a.Error($"pooling over {d} axes with {op.Stride.Count} strides, {op.Padding.Count} paddings and {op.Dilation.Count} dilations; expected 1 or 2 axes and one of each per axis");
        }

        if (s.Rank < d + 1 || s.Rank > d + 2)
        {
            throw Mismatch(a, 0, d == 1 ? "[B, C, L] or [C, L]" : "[B, C, H, W] or [C, H, W]");
        }

        for (var axis = 0; axis < d; axis++)
        {
            if (op.Kernel[axis] < 1 || op.Stride[axis] < 1 || op.Dilation[axis] < 1 || op.Padding[axis] < 0 || 2 * op.Padding[axis] > op.Kernel[axis])
            {
                throw a.Error($"kernel {op.Kernel[axis]}, stride {op.Stride[axis]}, padding {op.Padding[axis]}, dilation {op.Dilation[axis]} on axis {axis}; expected kernel, stride and dilation >= 1 and padding at most half the kernel");
            }
        }

        var result = s;
        for (var axis = 0; axis < d; axis++)
        {
            var at = s.Rank - d + axis;
            var ax = axis;
            result = result.With(at, SpatialLength(a, s[at], at, stride1: false, l => op.OutputLength(ax, l), op.Kind));
        }

        return [result];
    }

    public override IReadOnlyList<Shape> VisitAdaptivePool(AdaptivePoolOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        var d = op.Dimensions;
        if (d is not (1 or 2) || op.Output.Any(o => o < 1))
        {
            throw a.Error($"output size [{string.Join(", ", op.Output)}]; expected 1 or 2 sizes, each >= 1");
        }

        if (s.Rank < d + 1 || s.Rank > d + 2)
        {
            throw Mismatch(a, 0, d == 1 ? "[B, C, L] or [C, L]" : "[B, C, H, W] or [C, H, W]");
        }

        var result = s;
        for (var axis = 0; axis < d; axis++)
        {
            result = result.With(s.Rank - d + axis, op.Output[axis]);
        }

        return [result];
    }

    public override IReadOnlyList<Shape> VisitMatMul(MatMulOp op, NodeArgs<Shape> a)
    {
        a.Arity(2, 2);
        Shape l = a.Operands[0], r = a.Operands[1];
        if (l.Rank < 2 || r.Rank < 2)
        {
            throw a.Error($"operand '{a.Node.Operands[0]}' has shape {l} and operand '{a.Node.Operands[1]}' has shape {r}; matmul needs both of rank 2 or more (a vector operand has no IR form yet)");
        }

        if (l[l.Rank - 1] != r[r.Rank - 2])
        {
            throw a.Error($"operand '{a.Node.Operands[0]}' has shape {l} and operand '{a.Node.Operands[1]}' has shape {r}; matmul needs the left's last dimension to equal the right's second to last");
        }

        var batch = Broadcast(new Shape(l.Dims.Take(l.Rank - 2)), new Shape(r.Dims.Take(r.Rank - 2)), a.Where, a.Node.Operands);
        return [new Shape(batch.Dims.Concat([l[l.Rank - 2], r[r.Rank - 1]]))];
    }

    public override IReadOnlyList<Shape> VisitArange(ArangeOp op, NodeArgs<Shape> a)
    {
        a.Arity(0, 0);
        var length = op.End - Dim.Of(op.Start);
        if (op.Start < 0 || (length.IsConstant && length.Constant < 1))
        {
            throw a.Error($"arange({op.Start}, {op.End}) is empty or starts below 0; expected positions 0 <= start < end");
        }

        return [new Shape([length])];
    }

    public override IReadOnlyList<Shape> VisitFill(FillOp op, NodeArgs<Shape> a)
    {
        a.Arity(0, 0);
        if (double.IsNaN(op.Value) || double.IsInfinity(op.Value) || op.Target.Any(d => d.IsConstant && d.Constant < 1))
        {
            throw a.Error($"fill of {op.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} with shape [{string.Join(", ", op.Target)}]; expected a finite value and sizes >= 1");
        }

        return [new Shape(op.Target)];
    }

    public override IReadOnlyList<Shape> VisitScale(ScaleOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        if (double.IsNaN(op.Factor) || double.IsInfinity(op.Factor))
        {
            throw a.Error($"factor is {op.Factor.ToString(System.Globalization.CultureInfo.InvariantCulture)}; expected a finite number");
        }

        return [a.X];
    }

    public override IReadOnlyList<Shape> VisitPermute(PermuteOp op, NodeArgs<Shape> a)
    {
        a.Arity(1, 1);
        var s = a.X;
        if (op.Dims.Count != s.Rank || op.Dims.Distinct().Count() != s.Rank || op.Dims.Any(d => d < 0 || d >= s.Rank))
        {
            throw Mismatch(a, 0, $"rank {op.Dims.Count} for permute [{string.Join(", ", op.Dims)}] (each axis exactly once, stored normalised)");
        }

        return [new Shape(op.Dims.Select(d => s[d]))];
    }

    /// <summary>
    /// A window op's output length on one axis; a symbolic length passes only through stride 1 (where the length
    /// shifts by a constant), otherwise the size is not linear and must be constant.
    /// </summary>
    private static Dim SpatialLength(NodeArgs<Shape> a, Dim length, int at, bool stride1, Func<long, long> output, string what)
    {
        if (!length.IsConstant)
        {
            if (!stride1)
            {
                throw Mismatch(a, 0, $"a constant size on axis {at} for {what} (give the schema input's spatial sizes as numbers)");
            }

            // Stride 1: out = L + (output(probe) - probe) for any probe that stays positive.
            const long probe = 1L << 20;
            return length + (output(probe) - probe);
        }

        var result = output(length.Constant);
        if (result < 1)
        {
            throw Mismatch(a, 0, $"at least one output position on axis {at} for {what} (the input is shorter than its window)");
        }

        return Dim.Of(result);
    }

    public static long SliceLength(SliceOp s) => ((s.End - s.Start) + s.Step - 1) / s.Step;

    /// <summary>Conv1d output length: floor((L + 2p - d(k-1) - 1) / s) + 1, as torch.nn.Conv1d documents.</summary>
    public static Dim ConvLength(Conv1dSpec c, Dim length)
    {
        var shrink = (2 * c.Padding) - (c.Dilation * (c.KernelSize - 1));
        if (!length.IsConstant)
        {
            return c.Stride == 1 ? length + shrink : throw new GraphException("symbolic conv length");
        }

        return Dim.Of(Windows.OutputLength(length.Constant, c.KernelSize, c.Stride, c.Padding, c.Dilation));
    }

    private static Shape Broadcast(Shape a, Shape b, string where, EquatableArray<ValueRef> refs)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        var dims = new Dim[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Rank ? Dim.Of(1) : a[i - (rank - a.Rank)];
            var db = i < rank - b.Rank ? Dim.Of(1) : b[i - (rank - b.Rank)];
            if (da == db || db == Dim.Of(1))
            {
                dims[i] = da;
            }
            else if (da == Dim.Of(1))
            {
                dims[i] = db;
            }
            else
            {
                throw new GraphException($"{where}: operand '{refs[0]}' has shape {a} and operand '{refs[1]}' has shape {b}; they do not broadcast (axis {i}: {da} vs {db})");
            }
        }

        return new Shape(dims);
    }

    /// <summary>Product of dims; at most one symbolic factor, since products of symbols are not linear.</summary>
    private static Dim Product(IEnumerable<Dim> dims, string where, ValueRef operand, Shape shape)
    {
        Dim? symbolic = null;
        long constant = 1;
        foreach (var d in dims)
        {
            if (d.IsConstant)
            {
                constant *= d.Constant;
            }
            else if (symbolic is null)
            {
                symbolic = d;
            }
            else
            {
                throw new GraphException($"{where}: operand '{operand}' has shape {shape}; merging two symbolic dimensions ({symbolic} and {d}) gives no linear size");
            }
        }

        return symbolic is null ? Dim.Of(constant) : symbolic * constant;
    }

    private static Shape Reshape(Shape source, EquatableArray<Dim> target, string where, ValueRef operand)
    {
        // Split both sides into a constant product and symbolic factors; the factors must match up to the one
        // inferred (-1) dimension, which may absorb at most one leftover symbolic factor.
        var infer = -1;
        for (var i = 0; i < target.Count; i++)
        {
            if (target[i] == Dim.Of(-1))
            {
                if (infer >= 0)
                {
                    throw new GraphException($"{where}: reshape target [{string.Join(", ", target)}] has more than one -1");
                }

                infer = i;
            }
            else if (target[i].IsConstant && target[i].Constant < 1)
            {
                throw new GraphException($"{where}: reshape target [{string.Join(", ", target)}] has a dimension < 1");
            }
        }

        var (sourceConst, sourceFactors) = Factor(source.Dims);
        var (targetConst, targetFactors) = Factor(target.Where((_, i) => i != infer));
        foreach (var f in targetFactors)
        {
            if (!sourceFactors.Remove(f))
            {
                throw new GraphException($"{where}: operand '{operand}' has shape {source}; reshape target [{string.Join(", ", target)}] uses {f}, which the source does not have");
            }
        }

        if (sourceConst % targetConst != 0)
        {
            throw new GraphException($"{where}: operand '{operand}' has shape {source}; it cannot be reshaped to [{string.Join(", ", target)}]");
        }

        var rest = sourceConst / targetConst;
        if (infer < 0)
        {
            if (rest != 1 || sourceFactors.Count != 0)
            {
                throw new GraphException($"{where}: operand '{operand}' has shape {source}; it cannot be reshaped to [{string.Join(", ", target)}] (element counts differ)");
            }

            return new Shape(target);
        }

        if (sourceFactors.Count > 1)
        {
            throw new GraphException($"{where}: operand '{operand}' has shape {source}; the -1 in [{string.Join(", ", target)}] would be a product of symbolic sizes");
        }

        var inferred = sourceFactors.Count == 1 ? sourceFactors[0] * rest : Dim.Of(rest);
        return new Shape(target.Select((d, i) => i == infer ? inferred : d));
    }

    private static (long Constant, List<Dim> Factors) Factor(IEnumerable<Dim> dims)
    {
        long constant = 1;
        var factors = new List<Dim>();
        foreach (var d in dims)
        {
            if (d.IsConstant)
            {
                constant *= d.Constant;
            }
            else
            {
                // A symbolic factor c*S contributes c to the constant product and S (coefficient 1) as a factor.
                var gcd = d.Terms.Aggregate(Math.Abs(d.Constant), (g, t) => Gcd(g, Math.Abs(t.Coefficient)));
                constant *= gcd;
                factors.Add(gcd == 1 ? d : DivideExact(d, gcd));
            }
        }

        return (constant, factors);
    }

    private static Dim DivideExact(Dim d, long divisor)
    {
        var result = Dim.Of(d.Constant / divisor);
        foreach (var t in d.Terms)
        {
            result += Dim.Symbol(t.Symbol) * (t.Coefficient / divisor);
        }

        return result;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
