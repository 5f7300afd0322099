using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tracing;

/// <summary>
/// The paper's method written for clarity (paper 001 section 2.3.2, docs/mirror.md): evaluates the graph one
/// scalar at a time with one <see cref="FeatureSet"/> per element of every value and every parameter, by the
/// rules of Table 1. Slow by design; it is the oracle the structured tracer is tested against.
/// </summary>
public static class ReferenceTracer
{
    /// <summary>
    /// Traces <paramref name="graph"/> with symbolic dimensions instantiated by <paramref name="options"/> (default
    /// size 2). Throws <see cref="GraphException"/> for anything it cannot evaluate.
    /// </summary>
    public static ReferenceTrace Trace(ModelGraph graph, FeatureSpace features, TraceOptions? options = null)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        if (features is null)
        {
            throw new ArgumentNullException(nameof(features));
        }

        return new Evaluation(graph, features, options ?? TraceOptions.For(graph)).Execute();
    }

    private sealed class Evaluation : GraphInterpreter<ReferenceValue>
    {
        private readonly ModelGraph _graph;
        private readonly FeatureSpace _features;
        private readonly TraceOptions _options;
        private readonly Dictionary<string, FeatureSet[]> _parameters = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long[]> _parameterShapes = new(StringComparer.Ordinal);

        /// <summary>Values that are a tensor field read in forward, with that field's element sets.</summary>
        private readonly Dictionary<ValueRef, FeatureSet[]> _tensors = [];

        /// <summary>Values made by an arange in forward, with their first position: what an Embedding looks up.</summary>
        private readonly Dictionary<ValueRef, long> _positions = [];

        /// <summary>Tensor-field values narrowed in forward: the field's shape and where their first element sits in it.</summary>
        private readonly Dictionary<ValueRef, (long[] Shape, long[] Offset)> _narrowed = [];

        public Evaluation(ModelGraph graph, FeatureSpace features, TraceOptions options)
        {
            _graph = graph;
            _features = features;
            _options = options;
        }

        public ReferenceTrace Execute()
        {
            // Every parameter element starts with the empty set; binary operations with inputs add to it.
            foreach (var p in _graph.Parameters)
            {
                if (!p.Shape.IsConstant)
                {
                    throw new GraphException($"parameter '{p.Name}' has shape {p.Shape}; parameters need constant shapes");
                }

                var shape = p.Shape.Evaluate(_ => 0);
                _parameterShapes.Add(p.Name, shape);
                _parameters.Add(p.Name, Empties(ReferenceIndex.Count(shape)));
            }

            foreach (var input in _graph.Inputs)
            {
                SetInput(input.Name, Input(input));
            }

            Run(_graph.Nodes, _graph.FindModule);
            return new ReferenceTrace(_features, _parameters, _parameterShapes, Values);
        }

        protected override void Completed(NodeArgs<ReferenceValue> args, IReadOnlyList<ReferenceValue> outputs)
        {
            var node = args.Node;
            var shapes = Shapes(args);
            if (outputs.Count != shapes.Length)
            {
                throw new GraphException($"{Where(node)}: evaluated {outputs.Count} outputs but the node declares {shapes.Length}");
            }

            for (var i = 0; i < outputs.Count; i++)
            {
                if (!ReferenceIndex.SameShape(outputs[i].Shape, shapes[i]) || outputs[i].Elements.Length != ReferenceIndex.Count(shapes[i]))
                {
                    throw new GraphException($"{Where(node)}: output {i} evaluated with shape {ReferenceIndex.Format(outputs[i].Shape)} but declared {node.OutputShapes[i]} = {ReferenceIndex.Format(shapes[i])}");
                }
            }
        }

        private long[][] Shapes(NodeArgs<ReferenceValue> a) =>
            a.Node.OutputShapes.Select(s => Instantiate(s, Where(a.Node) + " output")).ToArray();

        private long[] Out(NodeArgs<ReferenceValue> a) => Instantiate(a.Node.OutputShapes[0], Where(a.Node) + " output");

        /// <summary>The operands after an arity check.</summary>
        private static ReferenceValue[] X(NodeArgs<ReferenceValue> a, int min, int max)
        {
            var x = a.Operands.ToArray();
            Arity(a.Node, x, min, max);
            return x;
        }

        public override IReadOnlyList<ReferenceValue> VisitLinear(LinearSpec s, NodeArgs<ReferenceValue> a) =>
            [Linear(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitEmbedding(EmbeddingSpec s, NodeArgs<ReferenceValue> a)
        {
            if (s.Bag is null)
            {
                // Positions (an arange): rows start.. of the table, a narrowed tensor field for the ops that add it to
                // data; the lookup itself meets no feature (its one-hot view is empty).
                var operand = X(a, 1, 1)[0];
                if (_positions.TryGetValue(a.Node.Operands[0], out var start))
                {
                    var onehot = ReferenceIndex.Insert(operand.Shape, operand.Shape.Length, s.NumEmbeddings);
                    operand = new ReferenceValue(onehot, Empties(ReferenceIndex.Count(onehot)));
                    _tensors[new ValueRef(a.Node.Id)] = Parameter(a.Path, s, ParameterRole.Weight);
                    _narrowed[new ValueRef(a.Node.Id)] = ([s.NumEmbeddings, s.EmbeddingDim], [start, 0]);
                }

                return [Embedding(a.Node, a.Path, s, operand, Out(a))];
            }

            var x = X(a, 1, 2)[0]; // the offsets are indices: they carry no features
            var lookup = Embedding(a.Node, a.Path, s, x, ReferenceIndex.With(x.Shape, x.Shape.Length - 1, s.EmbeddingDim));
            return [Bag(lookup, a.Operands.Count == 1, Out(a))];
        }

        /// <summary>
        /// Per block r (q, k, v) and operand x_r: <c>y_r[p, o] = ∪_i x_r[p, i]</c>; <c>W[r·E + o, i] ∪= x_r[p, i]</c>;
        /// <c>b[r·E + o] ∪= y_r[p, o]</c>: a Linear on each block of rows of the packed weight.
        /// </summary>
        public override IReadOnlyList<ReferenceValue> VisitAttentionProjection(AttentionProjectionSpec s, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 3, 3);
            var shapes = Shapes(a);
            var weight = Parameter(a.Path, s, ParameterRole.Weight);
            var bias = s.Bias ? Parameter(a.Path, s, ParameterRole.Bias) : null;
            var e = (int)s.EmbedDim;
            var outputs = new ReferenceValue[3];
            for (var r = 0; r < 3; r++)
            {
                Require(a.Node, x[r].Shape.Length >= 1 && x[r].Shape[x[r].Shape.Length - 1] == e && ReferenceIndex.SameShape(shapes[r], x[r].Shape), x[r], $"last dimension {e} (embed_dim)");
                var y = new FeatureSet[x[r].Elements.Length];
                for (var p = 0; p < y.Length / e; p++)
                {
                    var sum = FeatureSet.Empty;
                    for (var i = 0; i < e; i++)
                    {
                        var xi = x[r].Elements[(p * e) + i];
                        sum = sum.Union(xi);
                        for (var o = 0; o < e; o++)
                        {
                            Meet(weight, ((((r * e) + o) * e) + i), xi);
                        }
                    }

                    for (var o = 0; o < e; o++)
                    {
                        y[(p * e) + o] = sum;
                        if (bias is not null)
                        {
                            Meet(bias, (r * e) + o, sum);
                        }
                    }
                }

                outputs[r] = new ReferenceValue(shapes[r], y);
            }

            return outputs;
        }

        public override IReadOnlyList<ReferenceValue> VisitConvTranspose(ConvTransposeSpec s, NodeArgs<ReferenceValue> a) =>
            [ConvTranspose(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        /// <summary>
        /// Table row "ConvTranspose": input x[b, c, i, j] and tap (kh, kw) land on output (i·s − p + kh·d, j·s − p + kw·d)
        /// when it lies inside the output: <c>y[b, o, h, w] ∪= x[b, c, i, j]</c> for every o of c's group,
        /// <c>W[c, o', kh, kw] ∪= x[b, c, i, j]</c>; <c>b[o] ∪= y[b, o, h, w]</c>. The 1-D form has a height of 1.
        /// </summary>
        private ReferenceValue ConvTranspose(GraphNode node, string path, ConvTransposeSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            var d = spec.Dimensions;
            Require(node, (rank == d + 1 || rank == d + 2) && x.Shape[rank - d - 1] == spec.InChannels, x, $"in_channels {spec.InChannels} on axis {rank - d - 1}");
            var batch = rank == d + 2 ? x.Shape[0] : 1;
            long height = d == 2 ? x.Shape[rank - 2] : 1, width = x.Shape[rank - 1];
            long outH = spec.OutputLength(0, height), outW = spec.OutputLength(1, width);
            Require(node, outShape[outShape.Length - 1] == outW && (d == 1 || outShape[outShape.Length - 2] == outH), x, $"output shape {ReferenceIndex.Format(outShape)}");
            var weight = Parameter(path, spec, ParameterRole.Weight);
            var bias = spec.Bias ? Parameter(path, spec, ParameterRole.Bias) : null;
            long cg = spec.InChannels / spec.Groups, og = spec.OutChannels / spec.Groups;
            var y = Empties(ReferenceIndex.Count(outShape));
            for (long b = 0; b < batch; b++)
            {
                for (long c = 0; c < spec.InChannels; c++)
                {
                    var g = c / cg;
                    for (long i = 0; i < height; i++)
                    {
                        for (long j = 0; j < width; j++)
                        {
                            var xc = x.Elements[(int)((((((b * spec.InChannels) + c) * height) + i) * width) + j)];
                            for (long kh = 0; kh < spec.KernelH; kh++)
                            {
                                var h = (i * spec.StrideH) - spec.PaddingH + (kh * spec.DilationH);
                                for (long kw = 0; kw < spec.KernelW && h >= 0 && h < outH; kw++)
                                {
                                    var w = (j * spec.StrideW) - spec.PaddingW + (kw * spec.DilationW);
                                    if (w < 0 || w >= outW)
                                    {
                                        continue;
                                    }

                                    for (long o = 0; o < og; o++)
                                    {
                                        var at = (int)((((((b * spec.OutChannels) + (g * og) + o) * outH) + h) * outW) + w);
                                        y[at] = y[at].Union(xc);
                                        Meet(weight, (int)((((((c * og) + o) * spec.KernelH) + kh) * spec.KernelW) + kw), xc);
                                    }
                                }
                            }
                        }
                    }
                }
            }

            if (bias is not null)
            {
                var positions = outH * outW;
                for (var e = 0; e < y.Length; e++)
                {
                    Meet(bias, (int)(e / positions % spec.OutChannels), y[e]);
                }
            }

            return new ReferenceValue(outShape, y);
        }

        public override IReadOnlyList<ReferenceValue> VisitConv1d(Conv1dSpec s, NodeArgs<ReferenceValue> a) =>
            [Conv1d(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitRecurrent(RecurrentSpec s, NodeArgs<ReferenceValue> a) =>
            Recurrent(a.Node, a.Path, s, a.Operands.ToArray(), Shapes(a));

        public override IReadOnlyList<ReferenceValue> VisitLayerNorm(LayerNormSpec s, NodeArgs<ReferenceValue> a) =>
            [LayerNorm(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitBatchNorm1d(BatchNorm1dSpec s, NodeArgs<ReferenceValue> a) =>
            [BatchNorm(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitBatchNorm2d(BatchNorm2dSpec s, NodeArgs<ReferenceValue> a) =>
            [BatchNorm(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitGroupNorm(GroupNormSpec s, NodeArgs<ReferenceValue> a) =>
            [GroupNorm(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitConv2d(Conv2dSpec s, NodeArgs<ReferenceValue> a) =>
            [Conv2d(a.Node, a.Path, s, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitPool(PoolOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 1, 1)[0];
            return [Pool(a.Node, x, Out(a), op.Dimensions, (i, o) => op.Window(i, o))];
        }

        public override IReadOnlyList<ReferenceValue> VisitAdaptivePool(AdaptivePoolOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 1, 1)[0];
            var d = op.Dimensions;
            return [Pool(a.Node, x, Out(a), d, (i, o) => Windows.Adaptive(x.Shape[x.Shape.Length - d + i], op.Output[i], o))];
        }

        /// <summary>Table row "pooling": y[.., c, o] = ∪ of x[.., c, p] over the window's positions inside the input.</summary>
        private static ReferenceValue Pool(GraphNode node, ReferenceValue x, long[] outShape, int d, Func<int, long, Window> window)
        {
            var rank = x.Shape.Length;
            Require(node, rank >= d + 1 && outShape.Length == rank, x, $"a tensor with {d} pooled axes after a channel axis");
            long outer = 1;
            for (var i = 0; i < rank - d; i++)
            {
                outer *= x.Shape[i];
            }

            long inH = d == 2 ? x.Shape[rank - 2] : 1, inW = x.Shape[rank - 1];
            long outH = d == 2 ? outShape[rank - 2] : 1, outW = outShape[rank - 1];
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (long n = 0; n < outer; n++)
            {
                for (long oh = 0; oh < outH; oh++)
                {
                    for (long ow = 0; ow < outW; ow++)
                    {
                        var sum = FeatureSet.Empty;
                        var wh = d == 2 ? window(0, oh) : new Window(0, 1, 1);
                        var ww = window(d - 1, ow);
                        for (long kh = 0; kh < wh.Count; kh++)
                        {
                            var h = wh.Start + (kh * wh.Step);
                            if (h < 0 || h >= inH)
                            {
                                continue;
                            }

                            for (long kw = 0; kw < ww.Count; kw++)
                            {
                                var w = ww.Start + (kw * ww.Step);
                                if (w >= 0 && w < inW)
                                {
                                    sum = sum.Union(x.Elements[(int)((((n * inH) + h) * inW) + w)]);
                                }
                            }
                        }

                        y[(int)((((n * outH) + oh) * outW) + ow)] = sum;
                    }
                }
            }

            return new ReferenceValue(outShape, y);
        }

        private ReferenceValue Conv2d(GraphNode node, string path, Conv2dSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            Require(node, (rank == 3 || rank == 4) && x.Shape[rank - 3] == spec.InChannels, x, $"[B, {spec.InChannels}, H, W] or [{spec.InChannels}, H, W]");
            var batch = rank == 4 ? x.Shape[0] : 1;
            long height = x.Shape[rank - 2], width = x.Shape[rank - 1];
            long outH = spec.OutputLength(0, height), outW = spec.OutputLength(1, width);
            var expected = rank == 4 ? new[] { batch, spec.OutChannels, outH, outW } : new[] { spec.OutChannels, outH, outW };
            Require(node, outH >= 1 && outW >= 1 && ReferenceIndex.SameShape(outShape, expected), x, $"output shape {ReferenceIndex.Format(outShape)} (computed {ReferenceIndex.Format(expected)})");

            var weight = Parameter(path, spec, ParameterRole.Weight);
            var bias = spec.Bias ? Parameter(path, spec, ParameterRole.Bias) : null;
            var groupIn = spec.InChannels / spec.Groups;
            var groupOut = spec.OutChannels / spec.Groups;
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (long b = 0; b < batch; b++)
            {
                for (long o = 0; o < spec.OutChannels; o++)
                {
                    var g = o / groupOut;
                    for (long oh = 0; oh < outH; oh++)
                    {
                        for (long ow = 0; ow < outW; ow++)
                        {
                            var sum = FeatureSet.Empty;
                            for (long c = 0; c < groupIn; c++)
                            {
                                for (long kh = 0; kh < spec.KernelH; kh++)
                                {
                                    var h = (oh * spec.StrideH) + (kh * spec.DilationH) - spec.PaddingH;
                                    if (h < 0 || h >= height)
                                    {
                                        continue;
                                    }

                                    for (long kw = 0; kw < spec.KernelW; kw++)
                                    {
                                        var w = (ow * spec.StrideW) + (kw * spec.DilationW) - spec.PaddingW;
                                        if (w < 0 || w >= width)
                                        {
                                            continue;
                                        }

                                        var xc = x.Elements[(int)((((((b * spec.InChannels) + (g * groupIn) + c) * height) + h) * width) + w)];
                                        sum = sum.Union(xc);
                                        Meet(weight, (int)((((((o * groupIn) + c) * spec.KernelH) + kh) * spec.KernelW) + kw), xc);
                                    }
                                }
                            }

                            y[(int)((((((b * spec.OutChannels) + o) * outH) + oh) * outW) + ow)] = sum;
                            if (bias is not null)
                            {
                                Meet(bias, (int)o, sum);
                            }
                        }
                    }
                }
            }

            return new ReferenceValue(outShape, y);
        }

        public override IReadOnlyList<ReferenceValue> VisitActivation(ActivationOp op, NodeArgs<ReferenceValue> a) =>
            [Elementwise(a.Node, X(a, 1, 1)[0], Out(a))];

        /// <summary>Positions made in forward carry no features.</summary>
        public override IReadOnlyList<ReferenceValue> VisitArange(ArangeOp op, NodeArgs<ReferenceValue> a)
        {
            X(a, 0, 0);
            _positions[new ValueRef(a.Node.Id)] = op.Start;
            var shape = Out(a);
            return [new ReferenceValue(shape, Empties(ReferenceIndex.Count(shape)))];
        }

        public override IReadOnlyList<ReferenceValue> VisitFill(FillOp op, NodeArgs<ReferenceValue> a)
        {
            X(a, 0, 0);
            var shape = Out(a);
            return [new ReferenceValue(shape, Empties(ReferenceIndex.Count(shape)))];
        }

        public override IReadOnlyList<ReferenceValue> VisitScale(ScaleOp op, NodeArgs<ReferenceValue> a) =>
            [Elementwise(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitDropout(DropoutOp op, NodeArgs<ReferenceValue> a) =>
            [Elementwise(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitSoftmax(SoftmaxOp op, NodeArgs<ReferenceValue> a) =>
            [Softmax(a.Node, op, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitBinary(BinaryOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 2, 2);
            var outShape = Out(a);

            // Table 1's x + w and x * w rows: each tensor-field element ∪= the features of the elements it meets.
            for (var i = 0; i < 2; i++)
            {
                if (_tensors.TryGetValue(a.Node.Operands[i], out var w))
                {
                    var other = x[1 - i];
                    var narrowed = _narrowed.TryGetValue(a.Node.Operands[i], out var place);
                    for (var o = 0; o < ReferenceIndex.Count(outShape); o++)
                    {
                        var index = ReferenceIndex.Unravel(o, outShape);
                        var at = ReferenceIndex.BroadcastOffset(x[i].Shape, index);
                        if (narrowed)
                        {
                            // The element's index in the narrowed view, moved by the view's offset into the whole field.
                            var local = ReferenceIndex.Unravel(at, x[i].Shape);
                            at = ReferenceIndex.Offset(place.Shape, local.Select((v, k) => v + place.Offset[k]).ToArray());
                        }

                        Meet(w, at, other.Elements[ReferenceIndex.BroadcastOffset(other.Shape, index)]);
                    }
                }
            }

            return [Binary(a.Node, x[0], x[1], outShape)];
        }

        /// <summary>A tensor field's value carries no features; the ops that read it record what meets its elements.</summary>
        public override IReadOnlyList<ReferenceValue> VisitTensor(TensorSpec s, NodeArgs<ReferenceValue> a)
        {
            X(a, 0, 0);
            _tensors[new ValueRef(a.Node.Id)] = Parameter(a.Path, s, ParameterRole.Weight);
            var shape = Out(a);
            return [new ReferenceValue(shape, Empties(ReferenceIndex.Count(shape)))];
        }

        public override IReadOnlyList<ReferenceValue> VisitConcat(ConcatOp op, NodeArgs<ReferenceValue> a) =>
            [Concat(a.Node, op, X(a, 1, int.MaxValue), Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitStack(StackOp op, NodeArgs<ReferenceValue> a) =>
            [Stack(a.Node, op, X(a, 1, int.MaxValue), Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitReduce(ReduceOp op, NodeArgs<ReferenceValue> a) =>
            [Reduce(a.Node, op, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitReshape(ReshapeOp op, NodeArgs<ReferenceValue> a) =>
            [Reinterpret(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitFlatten(FlattenOp op, NodeArgs<ReferenceValue> a) =>
            [Reinterpret(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitUnsqueeze(UnsqueezeOp op, NodeArgs<ReferenceValue> a) =>
            [Reinterpret(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitSqueeze(SqueezeOp op, NodeArgs<ReferenceValue> a) =>
            [Reinterpret(a.Node, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitNarrow(NarrowOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 1, 1)[0];
            if (_tensors.TryGetValue(a.Node.Operands[0], out var field))
            {
                // A narrowed tensor field stays one, offset into the whole field.
                var (shape, offset) = _narrowed.TryGetValue(a.Node.Operands[0], out var before) ? (before.Shape, (long[])before.Offset.Clone()) : (x.Shape, new long[x.Shape.Length]);
                offset[op.Axis] += op.Start;
                _tensors[new ValueRef(a.Node.Id)] = field;
                _narrowed[new ValueRef(a.Node.Id)] = (shape, offset);
            }

            return [Narrow(a.Node, op, x, Out(a))];
        }

        public override IReadOnlyList<ReferenceValue> VisitSlice(SliceOp op, NodeArgs<ReferenceValue> a) =>
            [Slice(a.Node, op, X(a, 1, 1)[0], Out(a))];

        public override IReadOnlyList<ReferenceValue> VisitPermute(PermuteOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 1, 1)[0];
            var outShape = Out(a);
            var y = new FeatureSet[x.Elements.Length];
            var source = new long[outShape.Length];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                for (var i = 0; i < index.Length; i++)
                {
                    source[op.Dims[i]] = index[i];
                }

                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, source)];
            }

            return [new ReferenceValue(outShape, y)];
        }

        /// <summary>Table row "matmul": y[.., i, k] = ∪_j a[.., i, j] ∪ b[.., j, k], batch axes broadcast.</summary>
        public override IReadOnlyList<ReferenceValue> VisitMatMul(MatMulOp op, NodeArgs<ReferenceValue> a)
        {
            var x = X(a, 2, 2);
            ReferenceValue l = x[0], r = x[1];
            var outShape = Out(a);
            var rank = outShape.Length;
            var inner = l.Shape[l.Shape.Length - 1];
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            var li = new long[l.Shape.Length];
            var ri = new long[r.Shape.Length];
            _tensors.TryGetValue(a.Node.Operands[0], out var leftTensor);
            _tensors.TryGetValue(a.Node.Operands[1], out var rightTensor);
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                Align(index, rank - 2, l.Shape, li);
                Align(index, rank - 2, r.Shape, ri);
                li[li.Length - 2] = index[rank - 2];
                ri[ri.Length - 1] = index[rank - 1];
                var sum = FeatureSet.Empty;
                for (long j = 0; j < inner; j++)
                {
                    li[li.Length - 1] = j;
                    ri[ri.Length - 2] = j;
                    int lo = ReferenceIndex.Offset(l.Shape, li), ro = ReferenceIndex.Offset(r.Shape, ri);
                    sum = sum.Union(l.Elements[lo]).Union(r.Elements[ro]);

                    // A 2-D tensor field times data: W[i, j] meets the data's row j (and likewise on the right).
                    if (leftTensor is not null)
                    {
                        Meet(leftTensor, lo, r.Elements[ro]);
                    }

                    if (rightTensor is not null)
                    {
                        Meet(rightTensor, ro, l.Elements[lo]);
                    }
                }

                y[o] = sum;
            }

            return [new ReferenceValue(outShape, y)];
        }

        /// <summary>Batch indices of an operand under broadcasting: right-aligned, size-1 axes at 0.</summary>
        private static void Align(long[] outIndex, int batchRank, long[] shape, long[] into)
        {
            var own = shape.Length - 2;
            for (var i = 0; i < own; i++)
            {
                var o = outIndex[batchRank - own + i];
                into[i] = shape[i] == 1 ? 0 : o;
            }
        }

        public override IReadOnlyList<ReferenceValue> VisitTranspose(TransposeOp op, NodeArgs<ReferenceValue> a) =>
            [Transpose(a.Node, op, X(a, 1, 1)[0], Out(a))];

        // ---- inputs --------------------------------------------------------------------------------------

        /// <summary>
        /// Table rows "feature input" (<c>x[..., j] = {slot j}</c>), "categorical input" (one-hot view with a
        /// trailing vocabulary axis, <c>x[p, v] = {slot v}</c>) and "state input" (<c>∅</c>; bag offsets too).
        /// </summary>
        private ReferenceValue Input(GraphInput input)
        {
            var shape = Instantiate(input.Shape, $"input '{input.Name}'");
            switch (input.Role)
            {
                case InputRole.State:
                case InputRole.Offsets:
                    return new ReferenceValue(shape, Empties(ReferenceIndex.Count(shape)));

                case InputRole.Features:
                {
                    var (start, width) = Slots(input);
                    var axis = input.FeatureAxisIndex;
                    var size = shape.Length == 0 ? -1 : shape[axis];
                    if (size != width)
                    {
                        throw new GraphException($"input '{input.Name}' has shape {input.Shape} = {ReferenceIndex.Format(shape)} but the feature space gives it {width} slots along axis {axis}");
                    }

                    // Row-major: the index along the feature axis is (o / inner) mod width.
                    long inner = 1;
                    for (var a = axis + 1; a < shape.Length; a++)
                    {
                        inner *= shape[a];
                    }

                    var elements = new FeatureSet[ReferenceIndex.Count(shape)];
                    for (var o = 0; o < elements.Length; o++)
                    {
                        elements[o] = FeatureSet.Of(start + (int)(o / inner % width));
                    }

                    return new ReferenceValue(shape, elements);
                }

                case InputRole.Categorical:
                {
                    var (start, vocabulary) = Slots(input);
                    var oneHot = ReferenceIndex.Insert(shape, shape.Length, vocabulary);
                    var elements = new FeatureSet[ReferenceIndex.Count(oneHot)];
                    for (var o = 0; o < elements.Length; o++)
                    {
                        elements[o] = FeatureSet.Of(start + (o % vocabulary));
                    }

                    return new ReferenceValue(oneHot, elements);
                }

                default:
                    throw new GraphException($"input '{input.Name}' has unknown role {input.Role}");
            }
        }

        private (int Start, int Length) Slots(GraphInput input) =>
            _features.HasInput(input.Name)
                ? _features.InputSlots(input.Name)
                : throw new GraphException($"input '{input.Name}' ({input.Role}) has no slots in the feature space");

        // ---- layers --------------------------------------------------------------------------------------

        /// <summary>
        /// Table row "Linear": <c>y[p, o] = ∪_i x[p, i]</c>; <c>W[o, i] ∪= x[p, i]</c> (the product
        /// <c>w ⊙ x</c>) and <c>b[o] ∪= ∪_i x[p, i]</c> (the bias meets the whole sum) for every <c>p</c>.
        /// </summary>
        private ReferenceValue Linear(GraphNode node, string path, LinearSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            Require(node, rank >= 1 && x.Shape[rank - 1] == spec.InFeatures, x, $"last dimension {spec.InFeatures} (in_features)");
            Require(node, ReferenceIndex.SameShape(outShape, ReferenceIndex.With(x.Shape, rank - 1, spec.OutFeatures)), x, $"output shape {ReferenceIndex.Format(outShape)}");
            var inF = (int)spec.InFeatures;
            var outF = (int)spec.OutFeatures;
            var weight = Parameter(path, spec, ParameterRole.Weight);
            var bias = spec.Bias ? Parameter(path, spec, ParameterRole.Bias) : null;
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            var rows = x.Elements.Length / inF;
            for (var p = 0; p < rows; p++)
            {
                var sum = FeatureSet.Empty;
                for (var i = 0; i < inF; i++)
                {
                    var xi = x.Elements[(p * inF) + i];
                    sum = sum.Union(xi);
                    for (var o = 0; o < outF; o++)
                    {
                        Meet(weight, (o * inF) + i, xi);
                    }
                }

                for (var o = 0; o < outF; o++)
                {
                    y[(p * outF) + o] = sum;
                    if (bias is not null)
                    {
                        Meet(bias, o, sum);
                    }
                }
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "Embedding (product with the one-hot)": <c>y[p, e] = ∪_v x[p, v]</c>;
        /// <c>W[v, e] ∪= x[p, v]</c> for every <c>p</c>. The operand is the categorical input's one-hot view.
        /// </summary>
        private ReferenceValue Embedding(GraphNode node, string path, EmbeddingSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            Require(node, rank >= 1 && x.Shape[rank - 1] == spec.NumEmbeddings, x, $"a one-hot vocabulary axis of num_embeddings {spec.NumEmbeddings} (the feature space's vocabulary must match the Embedding)");
            Require(node, ReferenceIndex.SameShape(outShape, ReferenceIndex.With(x.Shape, rank - 1, spec.EmbeddingDim)), x, $"output shape {ReferenceIndex.Format(outShape)}");
            var vocabulary = (int)spec.NumEmbeddings;
            var dim = (int)spec.EmbeddingDim;
            var weight = Parameter(path, spec, ParameterRole.Weight);
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            var rows = x.Elements.Length / vocabulary;
            for (var p = 0; p < rows; p++)
            {
                var sum = FeatureSet.Empty;
                for (var v = 0; v < vocabulary; v++)
                {
                    var xv = x.Elements[(p * vocabulary) + v];
                    sum = sum.Union(xv);
                    for (var e = 0; e < dim; e++)
                    {
                        Meet(weight, (v * dim) + e, xv);
                    }
                }

                for (var e = 0; e < dim; e++)
                {
                    y[(p * dim) + e] = sum;
                }
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// EmbeddingBag's reduction of the lookup: a bag of a 2-D input is its row, <c>y[b, e] = ∪_n l[b, n, e]</c>;
        /// with offsets the bags are data, so any index may fall in any bag: <c>y[b, e] = ∪_t l[t, e]</c>.
        /// </summary>
        private static ReferenceValue Bag(ReferenceValue lookup, bool rows, long[] outShape)
        {
            var bags = (int)outShape[0];
            var dim = (int)outShape[1];
            var per = lookup.Elements.Length / dim / (rows ? bags : 1);
            var y = new FeatureSet[bags * dim];
            for (var b = 0; b < bags; b++)
            {
                var first = rows ? b * per : 0;
                for (var e = 0; e < dim; e++)
                {
                    var sum = FeatureSet.Empty;
                    for (var n = 0; n < per; n++)
                    {
                        sum = sum.Union(lookup.Elements[((first + n) * dim) + e]);
                    }

                    y[(b * dim) + e] = sum;
                }
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "Conv1d": <c>y[b, o, t] = ∪ x[b, c, l]</c> over the channels <c>c</c> of <c>o</c>'s group and the
        /// taps <c>k</c> with <c>l = t·s + k·d - pad</c> inside <c>[0, L)</c> (zero padding is a constant: nothing);
        /// <c>W[o, c', k] ∪= x[b, g·C/G + c', l]</c> for each such tap; <c>b[o] ∪= y[b, o, t]</c>. An unbatched
        /// <c>[C, L]</c> operand is one batch element.
        /// </summary>
        /// <summary>Conv1d is Conv2d over a height of 1: the weight and bias elements line up index for index.</summary>
        private ReferenceValue Conv1d(GraphNode node, string path, Conv1dSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            Require(node, (rank == 2 || rank == 3) && x.Shape[rank - 2] == spec.InChannels, x, $"[B, {spec.InChannels}, L] or [{spec.InChannels}, L]");
            var tall = new ReferenceValue(ReferenceIndex.Insert(x.Shape, rank - 1, 1), x.Elements);
            var y = Conv2d(node, path, spec.AsConv2d(), tall, ReferenceIndex.Insert(outShape, outShape.Length - 1, 1));
            return new ReferenceValue(outShape, y.Elements);
        }

        /// <summary>
        /// "Recurrent layers" in docs/mirror.md. Per layer, direction and batch element, at every step:
        /// <c>G = ∪_i X_t[i] ∪ ∪_j h[j]</c>; <c>W_ih[r, i] ∪= X_t[i]</c>, <c>W_hh[r, j] ∪= h[j]</c>,
        /// <c>b_ih[r] ∪= G</c>, <c>b_hh[r] ∪= G</c> for every row; LSTM <c>c[j] = G ∪ c[j]</c>, <c>h[j] = G ∪ c[j]</c>;
        /// GRU <c>h[j] = G ∪ h[j]</c>; <c>output[t, b, d·H + j] = h[j]</c>; <c>h_n</c> (<c>c_n</c>) the final state.
        /// Operands: input, then optional <c>h0</c> (and <c>c0</c>) of shape <c>[L·D, B, H]</c> or <c>[L·D, H]</c>.
        /// </summary>
        private ReferenceValue[] Recurrent(GraphNode node, string path, RecurrentSpec spec, ReferenceValue[] x, long[][] shapes)
        {
            var lstm = spec.Cell == RecurrentKind.Lstm;
            var stateCount = lstm ? 2 : 1;
            if (x.Length != 1 && x.Length != 1 + stateCount)
            {
                throw new GraphException($"{Where(node)}: has {x.Length} operands; expected the input alone or the input and {stateCount} initial state(s)");
            }

            var input = x[0];
            var rank = input.Shape.Length;
            Require(node, (rank == 2 || rank == 3) && input.Shape[rank - 1] == spec.InputSize, input, $"[T, B, {spec.InputSize}], [B, T, {spec.InputSize}] or [T, {spec.InputSize}]");
            var batched = rank == 3;
            var steps = batched && spec.BatchFirst ? input.Shape[1] : input.Shape[0];
            var batch = !batched ? 1 : spec.BatchFirst ? input.Shape[0] : input.Shape[1];
            var hidden = spec.HiddenSize;
            var directions = spec.Directions;
            var layers = spec.NumLayers;
            var outWidth = directions * hidden;

            var stateShape = batched ? new[] { layers * directions, batch, hidden } : new[] { layers * directions, hidden };
            var outputShape = ReferenceIndex.With(input.Shape, rank - 1, outWidth);
            for (var i = 1; i < x.Length; i++)
            {
                Require(node, ReferenceIndex.SameShape(x[i].Shape, stateShape), x[i], $"an initial state of shape {ReferenceIndex.Format(stateShape)}");
            }

            Require(node, shapes.Length == 1 + stateCount && ReferenceIndex.SameShape(shapes[0], outputShape) && shapes.Skip(1).All(s => ReferenceIndex.SameShape(s, stateShape)), input, "declared outputs: output, h_n" + (lstm ? ", c_n" : string.Empty));

            // Offset of (t, b, i) in the operand's layout: [T, B, I], [B, T, I] (batch_first) or [T, I] (unbatched).
            int SequenceOffset(long t, long b, long i, long width) =>
                (int)(((!batched ? t : spec.BatchFirst ? (b * steps) + t : (t * batch) + b) * width) + i);

            // Offset of (layer·D + d, b, j) in a state [L·D, B, H] or [L·D, H] (then b = 0).
            int StateOffset(long ld, long b, long j) => (int)((((ld * batch) + b) * hidden) + j);

            var h0 = x.Length > 1 ? x[1] : null;
            var c0 = lstm && x.Length > 2 ? x[2] : null;
            var hn = new FeatureSet[ReferenceIndex.Count(stateShape)];
            var cn = new FeatureSet[ReferenceIndex.Count(stateShape)];

            // The layer's input as [T, B, width]: layer 0 reads the operand, deeper layers the previous layer's
            // output with both directions concatenated.
            long width = spec.InputSize;
            var layerInput = new FeatureSet[ReferenceIndex.Count([steps, batch, width])];
            for (long t = 0; t < steps; t++)
            {
                for (long b = 0; b < batch; b++)
                {
                    for (long i = 0; i < width; i++)
                    {
                        layerInput[(int)((((t * batch) + b) * width) + i)] = input.Elements[SequenceOffset(t, b, i, width)];
                    }
                }
            }

            for (var layer = 0; layer < layers; layer++)
            {
                var layerOutput = new FeatureSet[ReferenceIndex.Count([steps, batch, outWidth])];
                for (var d = 0; d < directions; d++)
                {
                    var reverse = d == 1;
                    var weightIh = Parameter(path, spec, ParameterRole.WeightIh, layer, reverse);
                    var weightHh = Parameter(path, spec, ParameterRole.WeightHh, layer, reverse);
                    var biasIh = spec.Bias ? Parameter(path, spec, ParameterRole.BiasIh, layer, reverse) : null;
                    var biasHh = spec.Bias ? Parameter(path, spec, ParameterRole.BiasHh, layer, reverse) : null;
                    var rows = spec.Gates * hidden;
                    var ld = (layer * directions) + d;
                    for (long b = 0; b < batch; b++)
                    {
                        var h = new FeatureSet[hidden];
                        var c = new FeatureSet[hidden];
                        for (long j = 0; j < hidden; j++)
                        {
                            h[j] = h0 is null ? FeatureSet.Empty : h0.Elements[StateOffset(ld, b, j)];
                            c[j] = c0 is null ? FeatureSet.Empty : c0.Elements[StateOffset(ld, b, j)];
                        }

                        for (long step = 0; step < steps; step++)
                        {
                            var t = reverse ? steps - 1 - step : step;
                            var xt = (int)(((t * batch) + b) * width);

                            // G: every gate pre-activation is W_ih·X_t + b_ih + W_hh·h + b_hh.
                            var gate = FeatureSet.Empty;
                            for (long i = 0; i < width; i++)
                            {
                                gate = gate.Union(layerInput[xt + i]);
                            }

                            for (long j = 0; j < hidden; j++)
                            {
                                gate = gate.Union(h[j]);
                            }

                            for (long r = 0; r < rows; r++)
                            {
                                for (long i = 0; i < width; i++)
                                {
                                    Meet(weightIh, (int)((r * width) + i), layerInput[xt + i]);
                                }

                                for (long j = 0; j < hidden; j++)
                                {
                                    Meet(weightHh, (int)((r * hidden) + j), h[j]);
                                }

                                if (biasIh is not null && biasHh is not null)
                                {
                                    Meet(biasIh, (int)r, gate);
                                    Meet(biasHh, (int)r, gate);
                                }
                            }

                            for (long j = 0; j < hidden; j++)
                            {
                                if (lstm)
                                {
                                    c[j] = gate.Union(c[j]);
                                    h[j] = gate.Union(c[j]);
                                }
                                else
                                {
                                    h[j] = gate.Union(h[j]);
                                }

                                layerOutput[(int)((((t * batch) + b) * outWidth) + (d * hidden) + j)] = h[j];
                            }
                        }

                        for (long j = 0; j < hidden; j++)
                        {
                            hn[StateOffset(ld, b, j)] = h[j];
                            cn[StateOffset(ld, b, j)] = c[j];
                        }
                    }
                }

                layerInput = layerOutput;
                width = outWidth;
            }

            var output = new FeatureSet[ReferenceIndex.Count(outputShape)];
            for (long t = 0; t < steps; t++)
            {
                for (long b = 0; b < batch; b++)
                {
                    for (long k = 0; k < outWidth; k++)
                    {
                        output[SequenceOffset(t, b, k, outWidth)] = layerInput[(int)((((t * batch) + b) * outWidth) + k)];
                    }
                }
            }

            var results = new List<ReferenceValue> { new(outputShape, output), new(stateShape, hn) };
            if (lstm)
            {
                results.Add(new ReferenceValue(stateShape, cn));
            }

            return results.ToArray();
        }

        /// <summary>
        /// Table row "LayerNorm over the last k axes": <c>y[p, q] = ∪_{q'} x[p, q']</c> (mean and variance mix the
        /// normalised block); <c>weight[q] ∪= y[p, q]</c>, <c>bias[q] ∪= y[p, q]</c> for every <c>p</c>.
        /// </summary>
        private ReferenceValue LayerNorm(GraphNode node, string path, LayerNormSpec spec, ReferenceValue x, long[] outShape)
        {
            var k = spec.NormalizedShape.Count;
            var rank = x.Shape.Length;
            Require(node, rank >= k && Enumerable.Range(0, k).All(a => x.Shape[rank - k + a] == spec.NormalizedShape[a]) && ReferenceIndex.SameShape(outShape, x.Shape), x, $"trailing dimensions [{string.Join(", ", spec.NormalizedShape)}] (normalized_shape)");
            var block = ReferenceIndex.Count(spec.NormalizedShape.ToArray());
            var weight = spec.ElementwiseAffine ? Parameter(path, spec, ParameterRole.Weight) : null;
            var bias = spec.ElementwiseAffine && spec.Bias ? Parameter(path, spec, ParameterRole.Bias) : null;
            var y = new FeatureSet[x.Elements.Length];
            var blocks = block == 0 ? 0 : x.Elements.Length / block;
            for (var p = 0; p < blocks; p++)
            {
                var mixed = FeatureSet.Empty;
                for (var q = 0; q < block; q++)
                {
                    mixed = mixed.Union(x.Elements[(p * block) + q]);
                }

                for (var q = 0; q < block; q++)
                {
                    y[(p * block) + q] = mixed;
                    if (weight is not null)
                    {
                        Meet(weight, q, mixed);
                    }

                    if (bias is not null)
                    {
                        Meet(bias, q, mixed);
                    }
                }
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "BatchNorm1d (eval form)": <c>y[b, c, l] = x[b, c, l]</c>; <c>weight</c>, <c>bias</c>,
        /// <c>running_mean</c>, <c>running_var</c> at <c>c</c> <c>∪= x[b, c, l]</c> for every <c>b, l</c>;
        /// <c>num_batches_tracked</c> meets nothing. A <c>[B, C]</c> operand has <c>L = 1</c>.
        /// </summary>
        /// <summary>
        /// Table row "GroupNorm": <c>y[b, c, p] = ∪ x[b, c', q]</c> over the channels <c>c'</c> of <c>c</c>'s group and
        /// all positions <c>q</c>; <c>weight[c]</c>, <c>bias[c]</c> ∪= <c>y[b, c, p]</c>.
        /// </summary>
        private ReferenceValue GroupNorm(GraphNode node, string path, GroupNormSpec spec, ReferenceValue x, long[] outShape)
        {
            Require(node, x.Shape.Length >= 2 && x.Shape[1] == spec.NumChannels && ReferenceIndex.SameShape(outShape, x.Shape), x, $"[B, {spec.NumChannels}, ...]");
            var weight = spec.Affine ? Parameter(path, spec, ParameterRole.Weight) : null;
            var bias = spec.Affine ? Parameter(path, spec, ParameterRole.Bias) : null;
            var positions = (int)(x.Elements.Length / x.Shape[0] / spec.NumChannels);
            var block = (int)spec.ChannelsPerGroup * positions;
            var y = new FeatureSet[x.Elements.Length];
            for (var start = 0; start < y.Length; start += block)
            {
                var mixed = FeatureSet.Empty;
                for (var q = 0; q < block; q++)
                {
                    mixed = mixed.Union(x.Elements[start + q]);
                }

                for (var q = 0; q < block; q++)
                {
                    y[start + q] = mixed;
                    var channel = (int)(start / positions % spec.NumChannels) + (q / positions);
                    if (weight is not null)
                    {
                        Meet(weight, channel, mixed);
                        Meet(bias!, channel, mixed);
                    }
                }
            }

            return new ReferenceValue(outShape, y);
        }

        private ReferenceValue BatchNorm(GraphNode node, string path, BatchNormSpec spec, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            var ranks = spec.SpatialAxes == 2 ? rank == 4 : rank == 2 || rank == 3;
            Require(node, ranks && x.Shape[1] == spec.NumFeatures && ReferenceIndex.SameShape(outShape, x.Shape), x, spec.SpatialAxes == 2 ? $"[B, {spec.NumFeatures}, H, W]" : $"[B, {spec.NumFeatures}] or [B, {spec.NumFeatures}, L]");
            var perChannel = new List<FeatureSet[]>();
            if (spec.Affine)
            {
                perChannel.Add(Parameter(path, spec, ParameterRole.Weight));
                perChannel.Add(Parameter(path, spec, ParameterRole.Bias));
            }

            if (spec.TrackRunningStats)
            {
                perChannel.Add(Parameter(path, spec, ParameterRole.RunningMean));
                perChannel.Add(Parameter(path, spec, ParameterRole.RunningVar));
            }

            long length = 1;
            for (var i = 2; i < rank; i++)
            {
                length *= x.Shape[i];
            }

            for (var o = 0; o < x.Elements.Length; o++)
            {
                var c = (int)(o / length % spec.NumFeatures);
                foreach (var p in perChannel)
                {
                    Meet(p, c, x.Elements[o]);
                }
            }

            return new ReferenceValue(outShape, (FeatureSet[])x.Elements.Clone());
        }

        // ---- tensor ops ----------------------------------------------------------------------------------

        /// <summary>Table row "activation, dropout": <c>y = x</c> (a function of one scalar keeps its set).</summary>
        private static ReferenceValue Elementwise(GraphNode node, ReferenceValue x, long[] outShape)
        {
            Require(node, ReferenceIndex.SameShape(outShape, x.Shape), x, $"output shape {ReferenceIndex.Format(outShape)}");
            return new ReferenceValue(outShape, (FeatureSet[])x.Elements.Clone());
        }

        /// <summary>Table row "softmax, log-softmax over axis a": <c>y[p] = ∪</c> of <c>x</c> along axis <c>a</c> through <c>p</c>.</summary>
        private static ReferenceValue Softmax(GraphNode node, SoftmaxOp op, ReferenceValue x, long[] outShape)
        {
            Require(node, op.Axis >= 0 && op.Axis < x.Shape.Length && ReferenceIndex.SameShape(outShape, x.Shape), x, $"axis {op.Axis} in range and output shape {ReferenceIndex.Format(outShape)}");
            var y = new FeatureSet[x.Elements.Length];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, x.Shape);
                var sum = FeatureSet.Empty;
                for (long k = 0; k < x.Shape[op.Axis]; k++)
                {
                    sum = sum.Union(x.Elements[ReferenceIndex.Offset(x.Shape, ReferenceIndex.With(index, op.Axis, k))]);
                }

                y[o] = sum;
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "add, sub, mul (broadcasting)": <c>y[p] = a[p'] ∪ b[p'']</c> at the broadcast positions
        /// (<c>x_i ⊙ x_j</c> yields <c>F_xi ∪ F_xj</c>).
        /// </summary>
        private static ReferenceValue Binary(GraphNode node, ReferenceValue a, ReferenceValue b, long[] outShape)
        {
            RequireBroadcast(node, a, outShape);
            RequireBroadcast(node, b, outShape);
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                y[o] = a.Elements[ReferenceIndex.BroadcastOffset(a.Shape, index)].Union(b.Elements[ReferenceIndex.BroadcastOffset(b.Shape, index)]);
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>Table row "concat": positional; output position <c>k</c> on the axis is operand <c>n</c>'s <c>k - start_n</c>.</summary>
        private static ReferenceValue Concat(GraphNode node, ConcatOp op, ReferenceValue[] xs, long[] outShape)
        {
            var starts = new long[xs.Length];
            long total = 0;
            for (var n = 0; n < xs.Length; n++)
            {
                Require(node, op.Axis < xs[n].Shape.Length && ReferenceIndex.SameShape(ReferenceIndex.With(xs[n].Shape, op.Axis, 0), ReferenceIndex.With(outShape, op.Axis, 0)), xs[n], $"output shape {ReferenceIndex.Format(outShape)} on every axis but {op.Axis}");
                starts[n] = total;
                total += xs[n].Shape[op.Axis];
            }

            Require(node, total == outShape[op.Axis], xs[0], $"sizes on axis {op.Axis} adding up to {outShape[op.Axis]}");
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                var n = xs.Length - 1;
                while (starts[n] > index[op.Axis])
                {
                    n--;
                }

                var x = xs[n];
                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, ReferenceIndex.With(index, op.Axis, index[op.Axis] - starts[n]))];
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>Table row "stack": positional; output index <c>k</c> on the new axis is operand <c>k</c>.</summary>
        private static ReferenceValue Stack(GraphNode node, StackOp op, ReferenceValue[] xs, long[] outShape)
        {
            foreach (var x in xs)
            {
                Require(node, op.Axis <= x.Shape.Length && ReferenceIndex.SameShape(outShape, ReferenceIndex.Insert(x.Shape, op.Axis, xs.Length)), x, $"output shape {ReferenceIndex.Format(outShape)} with the stacked axis {op.Axis}");
            }

            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                var x = xs[index[op.Axis]];
                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, ReferenceIndex.Remove(index, op.Axis))];
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "max, mean, sum over axis a": <c>y[p] = ∪</c> of <c>x</c> along axis <c>a</c> (max is a union
        /// too: the mirror is agnostic to values). With keepdim the axis stays with size 1.
        /// </summary>
        private static ReferenceValue Reduce(GraphNode node, ReduceOp op, ReferenceValue x, long[] outShape)
        {
            var expected = op.Axis < x.Shape.Length
                ? op.KeepDim ? ReferenceIndex.With(x.Shape, op.Axis, 1) : ReferenceIndex.Remove(x.Shape, op.Axis)
                : null;
            Require(node, expected is not null && ReferenceIndex.SameShape(outShape, expected), x, $"output shape {ReferenceIndex.Format(outShape)}");
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                var sum = FeatureSet.Empty;
                for (long k = 0; k < x.Shape[op.Axis]; k++)
                {
                    var source = op.KeepDim ? ReferenceIndex.With(index, op.Axis, k) : ReferenceIndex.Insert(index, op.Axis, k);
                    sum = sum.Union(x.Elements[ReferenceIndex.Offset(x.Shape, source)]);
                }

                y[o] = sum;
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>
        /// Table row "reshape, view, flatten, unsqueeze, squeeze": row-major reinterpretation; the elements keep
        /// their order and the node's output shape is laid over them.
        /// </summary>
        private static ReferenceValue Reinterpret(GraphNode node, ReferenceValue x, long[] outShape)
        {
            Require(node, ReferenceIndex.Count(outShape) == x.Elements.Length, x, $"the element count of output shape {ReferenceIndex.Format(outShape)}");
            return new ReferenceValue(outShape, (FeatureSet[])x.Elements.Clone());
        }

        /// <summary>Table row "narrow": positional; <c>y[.., k, ..] = x[.., start + k, ..]</c> on the axis.</summary>
        private static ReferenceValue Narrow(GraphNode node, NarrowOp op, ReferenceValue x, long[] outShape)
        {
            var length = op.Axis < outShape.Length ? outShape[op.Axis] : 0; // the length, evaluated with the trace's sizes
            Require(node, op.Axis < x.Shape.Length && op.Start >= 0 && op.Start + length <= x.Shape[op.Axis] && ReferenceIndex.SameShape(outShape, ReferenceIndex.With(x.Shape, op.Axis, length)), x, $"room for narrow(start {op.Start}, length {op.Length}) on axis {op.Axis}");
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, ReferenceIndex.With(index, op.Axis, op.Start + index[op.Axis]))];
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>Table row "slice": positional; <c>y[.., k, ..] = x[.., start + k·step, ..]</c> on the axis.</summary>
        private static ReferenceValue Slice(GraphNode node, SliceOp op, ReferenceValue x, long[] outShape)
        {
            var valid = op.Axis < x.Shape.Length && op.Step >= 1 && op.Start >= 0 && op.End <= x.Shape[op.Axis] && op.End > op.Start;
            Require(node, valid && ReferenceIndex.SameShape(outShape, ReferenceIndex.With(x.Shape, op.Axis, (op.End - op.Start + op.Step - 1) / op.Step)), x, $"room for slice [{op.Start}:{op.End}:{op.Step}] on axis {op.Axis}");
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, ReferenceIndex.With(index, op.Axis, op.Start + (index[op.Axis] * op.Step)))];
            }

            return new ReferenceValue(outShape, y);
        }

        /// <summary>Table row "transpose": positional; <c>y[.., i, .., j, ..] = x[.., j, .., i, ..]</c>.</summary>
        private static ReferenceValue Transpose(GraphNode node, TransposeOp op, ReferenceValue x, long[] outShape)
        {
            var rank = x.Shape.Length;
            Require(node, op.Axis0 < rank && op.Axis1 < rank, x, $"axes {op.Axis0} and {op.Axis1} in range");
            var expected = ReferenceIndex.With(ReferenceIndex.With(x.Shape, op.Axis0, x.Shape[op.Axis1]), op.Axis1, x.Shape[op.Axis0]);
            Require(node, ReferenceIndex.SameShape(outShape, expected), x, $"output shape {ReferenceIndex.Format(outShape)}");
            var y = new FeatureSet[ReferenceIndex.Count(outShape)];
            for (var o = 0; o < y.Length; o++)
            {
                var index = ReferenceIndex.Unravel(o, outShape);
                var source = ReferenceIndex.With(ReferenceIndex.With(index, op.Axis0, index[op.Axis1]), op.Axis1, index[op.Axis0]);
                y[o] = x.Elements[ReferenceIndex.Offset(x.Shape, source)];
            }

            return new ReferenceValue(outShape, y);
        }

        // ---- helpers -------------------------------------------------------------------------------------

        /// <summary>Table 1, <c>w ⊙ x</c>: the parameter element collects the operand's features.</summary>
        private static void Meet(FeatureSet[] parameter, int offset, FeatureSet x) => parameter[offset] = parameter[offset].Union(x);

        private FeatureSet[] Parameter(string path, LayerSpec spec, ParameterRole role, int layer = 0, bool reverse = false)
        {
            var declaration = spec.Parameters().FirstOrDefault(p => p.Role == role && p.Layer == layer && p.Reverse == reverse)
                ?? throw new GraphException($"module '{path}' ({spec.Kind}) declares no {role} parameter (layer {layer}{(reverse ? ", reverse" : string.Empty)})");
            var name = declaration.FullName(path);
            return _parameters.TryGetValue(name, out var elements)
                ? elements
                : throw new GraphException($"parameter '{name}' of module '{path}' is not in the graph's parameter list");
        }

        private long[] Instantiate(Shape shape, string what)
        {
            var dims = shape.Evaluate(_options.SizeOf);
            if (dims.Any(d => d < 0))
            {
                throw new GraphException($"{what} has shape {shape}, which instantiates to {ReferenceIndex.Format(dims)}; choose larger symbol sizes in TraceOptions");
            }

            return dims;
        }

        private static FeatureSet[] Empties(int count)
        {
            var elements = new FeatureSet[count];
            for (var i = 0; i < count; i++)
            {
                elements[i] = FeatureSet.Empty;
            }

            return elements;
        }

        private static void Arity(GraphNode node, ReferenceValue[] x, int min, int max)
        {
            if (x.Length < min || x.Length > max)
            {
                throw new GraphException($"{Where(node)}: has {x.Length} operands; expected {(min == max ? min.ToString(System.Globalization.CultureInfo.InvariantCulture) : "at least " + min.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }
        }

        private static void RequireBroadcast(GraphNode node, ReferenceValue x, long[] outShape)
        {
            var skip = outShape.Length - x.Shape.Length;
            var ok = skip >= 0 && Enumerable.Range(0, x.Shape.Length).All(a => x.Shape[a] == 1 || x.Shape[a] == outShape[a + skip]);
            Require(node, ok, x, $"a shape that broadcasts to {ReferenceIndex.Format(outShape)}");
        }

        private static void Require(GraphNode node, bool condition, ReferenceValue operand, string expected)
        {
            if (!condition)
            {
                throw new GraphException($"{Where(node)}: operand of shape {ReferenceIndex.Format(operand.Shape)}; expected {expected}");
            }
        }

        private static string Where(GraphNode node) =>
            node.Op is CallOp call ? $"node '{node.Id}' (call '{call.Module}')" : $"node '{node.Id}' ({node.Op.Kind})";
    }
}
