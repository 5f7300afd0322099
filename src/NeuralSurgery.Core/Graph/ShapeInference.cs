using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>Output shapes of each op; every rejection names the node, the operand and both shapes.</summary>
internal static class ShapeInference
{
    public static List<Shape> Infer(string node, NodeOp op, LayerSpec? spec, IReadOnlyList<Shape> operands, EquatableArray<ValueRef> refs)
    {
        string Where() => spec is null ? $"node '{node}' ({op.Kind})" : $"node '{node}' ({spec.Kind} '{((CallOp)op).Module}')";

        void Arity(int min, int max)
        {
            if (operands.Count < min || operands.Count > max)
            {
                var expected = min == max ? min.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{min} to {max}";
                throw new GraphException($"{Where()}: has {operands.Count} operands; expected {expected}");
            }
        }

        GraphException Mismatch(int operand, string expected) =>
            new($"{Where()}: operand '{refs[operand]}' has shape {operands[operand]}; expected {expected}");

        int Axis(int axis, int rank)
        {
            if (axis < 0 || axis >= rank)
            {
                throw new GraphException($"{Where()}: axis {axis} is out of range for operand '{refs[0]}' of shape {operands[0]} (axes are stored normalised, 0 to {rank - 1})");
            }

            return axis;
        }

        switch (op)
        {
            case CallOp:
                return InferCall(spec!, operands, Arity, Mismatch, Where);

            case DropoutOp d:
                Arity(1, 1);
                if (!(d.P >= 0 && d.P <= 1))
                {
                    throw new GraphException($"{Where()}: p is {d.P.ToString(System.Globalization.CultureInfo.InvariantCulture)}; expected a probability in [0, 1]");
                }

                return [operands[0]];

            case ActivationOp:
                Arity(1, 1);
                return [operands[0]];

            case SoftmaxOp s:
                Arity(1, 1);
                Axis(s.Axis, operands[0].Rank);
                return [operands[0]];

            case BinaryOp:
                Arity(2, 2);
                return [Broadcast(operands[0], operands[1], Where(), refs)];

            case ConcatOp c:
            {
                Arity(1, int.MaxValue);
                var first = operands[0];
                Axis(c.Axis, first.Rank);
                var total = Dim.Of(0);
                for (var i = 0; i < operands.Count; i++)
                {
                    var s = operands[i];
                    if (s.Rank != first.Rank || Enumerable.Range(0, s.Rank).Any(a => a != c.Axis && s[a] != first[a]))
                    {
                        throw new GraphException($"{Where()}: operand '{refs[i]}' has shape {s} but operand '{refs[0]}' has shape {first}; concat along axis {c.Axis} needs equal sizes on every other axis");
                    }

                    total += s[c.Axis];
                }

                return [first.With(c.Axis, total)];
            }

            case StackOp st:
            {
                Arity(1, int.MaxValue);
                var first = operands[0];
                if (st.Axis < 0 || st.Axis > first.Rank)
                {
                    throw new GraphException($"{Where()}: axis {st.Axis} is out of range for stacking tensors of rank {first.Rank}");
                }

                for (var i = 1; i < operands.Count; i++)
                {
                    if (operands[i] != first)
                    {
                        throw new GraphException($"{Where()}: operand '{refs[i]}' has shape {operands[i]} but operand '{refs[0]}' has shape {first}; stack needs equal shapes");
                    }
                }

                return [first.Insert(st.Axis, operands.Count)];
            }

            case ReduceOp r:
                Arity(1, 1);
                Axis(r.Axis, operands[0].Rank);
                return [r.KeepDim ? operands[0].With(r.Axis, 1) : operands[0].Remove(r.Axis)];

            case ReshapeOp rs:
                Arity(1, 1);
                return [Reshape(operands[0], rs.Target, Where(), refs[0])];

            case FlattenOp f:
            {
                Arity(1, 1);
                var s = operands[0];
                if (s.Rank == 0)
                {
                    return [Shape.Of(1L)];
                }

                Axis(f.StartAxis, s.Rank);
                Axis(f.EndAxis, s.Rank);
                if (f.EndAxis < f.StartAxis)
                {
                    throw new GraphException($"{Where()}: flatten end axis {f.EndAxis} is before start axis {f.StartAxis}");
                }

                var merged = Product(s.Dims.Skip(f.StartAxis).Take(f.EndAxis - f.StartAxis + 1), Where(), refs[0], s);
                var dims = s.Dims.Take(f.StartAxis).Concat([merged]).Concat(s.Dims.Skip(f.EndAxis + 1));
                return [new Shape(dims)];
            }

            case UnsqueezeOp u:
                Arity(1, 1);
                if (u.Axis < 0 || u.Axis > operands[0].Rank)
                {
                    throw new GraphException($"{Where()}: axis {u.Axis} is out of range for unsqueezing operand '{refs[0]}' of shape {operands[0]}");
                }

                return [operands[0].Insert(u.Axis, 1)];

            case SqueezeOp sq:
                Arity(1, 1);
                Axis(sq.Axis, operands[0].Rank);
                if (operands[0][sq.Axis] != Dim.Of(1))
                {
                    throw Mismatch(0, $"size 1 on axis {sq.Axis} to squeeze it");
                }

                return [operands[0].Remove(sq.Axis)];

            case NarrowOp n:
            {
                Arity(1, 1);
                Axis(n.Axis, operands[0].Rank);
                var d = operands[0][n.Axis];
                if (!d.IsConstant)
                {
                    throw Mismatch(0, $"a constant size on axis {n.Axis} to narrow it");
                }

                if (n.Start < 0 || n.Length < 1 || n.Start + n.Length > d.Constant)
                {
                    throw Mismatch(0, $"room for narrow(start {n.Start}, length {n.Length}) on axis {n.Axis}");
                }

                return [operands[0].With(n.Axis, n.Length)];
            }

            case SliceOp sl:
            {
                Arity(1, 1);
                Axis(sl.Axis, operands[0].Rank);
                var d = operands[0][sl.Axis];
                if (!d.IsConstant)
                {
                    throw Mismatch(0, $"a constant size on axis {sl.Axis} to slice it");
                }

                if (sl.Step < 1 || sl.Start < 0 || sl.End > d.Constant || sl.End <= sl.Start)
                {
                    throw Mismatch(0, $"room for slice [{sl.Start}:{sl.End}:{sl.Step}] on axis {sl.Axis} (normalised, non-empty, step >= 1)");
                }

                return [operands[0].With(sl.Axis, SliceLength(sl))];
            }

            case TransposeOp t:
            {
                Arity(1, 1);
                var s = operands[0];
                Axis(t.Axis0, s.Rank);
                Axis(t.Axis1, s.Rank);
                return [s.With(t.Axis0, s[t.Axis1]).With(t.Axis1, s[t.Axis0])];
            }

            default:
                throw new GraphException($"{Where()}: unknown op");
        }
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

        // Floor division: a numerator below zero means the input is shorter than the receptive field.
        var numerator = length.Constant + shrink - 1;
        return Dim.Of((numerator >= 0 ? numerator / c.Stride : -((-numerator + c.Stride - 1) / c.Stride)) + 1);
    }

    private static List<Shape> InferCall(
        LayerSpec spec,
        IReadOnlyList<Shape> operands,
        Action<int, int> arity,
        Func<int, string, GraphException> mismatch,
        Func<string> where)
    {
        switch (spec)
        {
            case LinearSpec l:
            {
                arity(1, 1);
                var s = operands[0];
                if (s.Rank == 0 || s[s.Rank - 1] != Dim.Of(l.InFeatures))
                {
                    throw mismatch(0, $"last dimension {l.InFeatures} (in_features)");
                }

                return [s.With(s.Rank - 1, l.OutFeatures)];
            }

            case EmbeddingSpec e:
                arity(1, 1);
                return [operands[0].Insert(operands[0].Rank, e.EmbeddingDim)];

            case Conv1dSpec c:
            {
                arity(1, 1);
                var s = operands[0];
                if (s.Rank is not (2 or 3) || s[s.Rank - 2] != Dim.Of(c.InChannels))
                {
                    throw mismatch(0, $"[B, {c.InChannels}, L] or [{c.InChannels}, L] (in_channels {c.InChannels})");
                }

                var length = s[s.Rank - 1];
                if (!length.IsConstant && c.Stride != 1)
                {
                    throw mismatch(0, "a constant length on the last axis for a strided Conv1d");
                }

                var outLength = ConvLength(c, length);
                if (outLength.IsConstant && outLength.Constant < 1)
                {
                    throw mismatch(0, $"a length of at least {(c.Dilation * (c.KernelSize - 1)) + 1 - (2 * c.Padding)} for kernel_size {c.KernelSize}");
                }

                return [s.With(s.Rank - 2, c.OutChannels).With(s.Rank - 1, outLength)];
            }

            case RecurrentSpec r:
            {
                var states = r.Cell == RecurrentKind.Lstm ? 2 : 1;
                if (operands.Count != 1 && operands.Count != 1 + states)
                {
                    throw new GraphException($"{where()}: has {operands.Count} operands; expected the input alone or the input and {states} initial state(s)");
                }

                var x = operands[0];
                if (x.Rank is not (2 or 3) || x[x.Rank - 1] != Dim.Of(r.InputSize))
                {
                    throw mismatch(0, $"{(r.BatchFirst ? "[B, T, " : "[T, B, ")}{r.InputSize}] or [T, {r.InputSize}] (input_size {r.InputSize})");
                }

                var output = x.With(x.Rank - 1, r.HiddenSize * r.Directions);
                var state = x.Rank == 3
                    ? Shape.Of(Dim.Of(r.NumLayers * r.Directions), x[r.BatchFirst ? 0 : 1], Dim.Of(r.HiddenSize))
                    : Shape.Of(r.NumLayers * r.Directions, r.HiddenSize);
                for (var i = 1; i < operands.Count; i++)
                {
                    if (operands[i] != state)
                    {
                        throw mismatch(i, $"{state} (an initial state: layers x directions, batch, hidden_size)");
                    }
                }

                var result = new List<Shape> { output, state };
                if (r.Cell == RecurrentKind.Lstm)
                {
                    result.Add(state);
                }

                return result;
            }

            case LayerNormSpec n:
            {
                arity(1, 1);
                var s = operands[0];
                var k = n.NormalizedShape.Count;
                if (s.Rank < k || Enumerable.Range(0, k).Any(i => s[s.Rank - k + i] != Dim.Of(n.NormalizedShape[i])))
                {
                    throw mismatch(0, $"trailing dimensions [{string.Join(", ", n.NormalizedShape)}] (normalized_shape)");
                }

                return [s];
            }

            case BatchNorm1dSpec b:
            {
                arity(1, 1);
                var s = operands[0];
                if (s.Rank is not (2 or 3) || s[1] != Dim.Of(b.NumFeatures))
                {
                    throw mismatch(0, $"[B, {b.NumFeatures}] or [B, {b.NumFeatures}, L] (num_features {b.NumFeatures})");
                }

                return [s];
            }

            default:
                throw new GraphException($"{where()}: unknown layer");
        }
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
