using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Tracing;

/// <summary>
/// The mirror on per-axis run-length layouts (DESIGN.md section 5): the rules of docs/mirror.md applied to
/// whole axes at once, so the cost grows with features, units and ops, not with parameters. It must agree
/// exactly with <see cref="ReferenceTracer"/> on input features; in addition it tags axes with unit keys.
/// </summary>
public static class StructuredTracer
{
    public static InteractionMap Trace(ModelGraph graph, FeatureSpace features, TraceOptions? options = null) =>
        new Tracer(graph, features, options ?? TraceOptions.For(graph)).Execute();

    private sealed class Tracer : GraphInterpreter<Layout>
    {
        private readonly ModelGraph _graph;
        private readonly FeatureSpace _features;
        private readonly TraceOptions _options;
        private readonly Dictionary<string, Layout> _phi = new(StringComparer.Ordinal);
        private readonly List<KeySpace> _spaces = [];
        private readonly Dictionary<string, int> _spaceIds = new(StringComparer.Ordinal);

        /// <summary>Values that are a tensor field read in forward, with that field's state_dict name.</summary>
        private readonly Dictionary<ValueRef, string> _tensors = [];

        /// <summary>Values made by an arange in forward, with their first position: what an Embedding looks up.</summary>
        private readonly Dictionary<ValueRef, long> _positions = [];

        /// <summary>Tensor-field values narrowed in forward: where their first element sits in the field.</summary>
        private readonly Dictionary<ValueRef, long[]> _offsets = [];

        public Tracer(ModelGraph graph, FeatureSpace features, TraceOptions options)
        {
            _graph = graph;
            _features = features;
            _options = options;
            _spaces.Add(new KeySpace(0, KeySpaceKind.Slots, string.Empty, "slots", features.Count));
        }

        public InteractionMap Execute()
        {
            foreach (var module in _graph.Modules)
            {
                DeclareSpaces(module);
            }

            foreach (var p in _graph.Parameters)
            {
                _phi[p.Name] = StructuralPhi(p);
            }

            foreach (var input in _graph.Inputs)
            {
                SetInput(input.Name, InputLayout(input));
            }

            Run(_graph.Nodes, _graph.FindModule);
            return new InteractionMap(_graph, _features, _spaces, _phi, Values);
        }

        protected override void Completed(NodeArgs<Layout> args, IReadOnlyList<Layout> outputs)
        {
            base.Completed(args, outputs);
            for (var i = 0; i < outputs.Count; i++)
            {
                var expected = Concrete(args.Node.OutputShapes[i]);
                if (!expected.SequenceEqual(outputs[i].Shape))
                {
                    throw args.Error($"the mirror produced shape [{string.Join(", ", outputs[i].Shape)}] but the graph says [{string.Join(", ", expected)}]");
                }
            }
        }

        private long[] Concrete(Shape shape)
        {
            var dims = shape.Evaluate(_options.SizeOf);
            if (dims.Any(d => d < 1))
            {
                throw new GraphException($"shape {shape} has a dimension below 1 with the trace's symbol sizes (default {_options.DefaultSymbolSize}); no size up to {TraceOptions.MaxAutomaticSize} gives every shape of the graph a positive size, or the sizes given in TraceOptions are too small");
            }

            return dims;
        }

        private Layout InputLayout(GraphInput input)
        {
            var shape = Concrete(input.Shape);
            switch (input.Role)
            {
                case InputRole.Features:
                {
                    var (start, length) = _features.InputSlots(input.Name);
                    var axis = input.FeatureAxisIndex;
                    if (length != shape[axis])
                    {
                        throw new GraphException($"input '{input.Name}' has {shape[axis]} features on axis {axis} but the feature space gives it {length} slots");
                    }

                    return Layout.WithAxis(shape, axis, AxisLayout.Keyed(length, 0, start));
                }

                case InputRole.Categorical:
                {
                    // The one-hot view: an Embedding lookup is a product with a one-hot input (docs/mirror.md).
                    var (start, length) = _features.InputSlots(input.Name);
                    var full = shape.Concat([(long)length]).ToArray();
                    return Layout.WithAxis(full, full.Length - 1, AxisLayout.Keyed(length, 0, start));
                }

                default:
                    return Layout.Uniform(shape, FeatureSet.Empty);
            }
        }

        // ---- key spaces and the structural part of Φ ----

        private int Space(KeySpaceKind kind, string module, string name, long size, int layer = 0, bool reverse = false, string? gate = null)
        {
            if (!_spaceIds.TryGetValue(name, out var id))
            {
                id = _spaces.Count;
                _spaces.Add(new KeySpace(id, kind, module, name, size, layer, reverse, gate));
                _spaceIds.Add(name, id);
            }

            return id;
        }

        private void DeclareSpaces(GraphModule module)
        {
            if (module.Spec is RecurrentSpec r)
            {
                for (var layer = 0; layer < r.NumLayers; layer++)
                {
                    for (var d = 0; d < r.Directions; d++)
                    {
                        var name = HiddenName(module.Path, layer, d == 1);
                        Space(KeySpaceKind.Units, module.Path, name, r.HiddenSize, layer, d == 1);
                        foreach (var g in r.GateNames)
                        {
                            Space(KeySpaceKind.Gate, module.Path, name + "." + g, r.HiddenSize, layer, d == 1, g);
                        }
                    }
                }
            }
            else if (module.Spec is AttentionProjectionSpec attention)
            {
                foreach (var block in AttentionProjectionSpec.Blocks)
                {
                    Space(KeySpaceKind.Units, module.Path, module.Path + "." + block, attention.EmbedDim);
                }
            }
            else if (module.Spec.Units is { } units)
            {
                Space(KeySpaceKind.Units, module.Path, module.Path, units);
            }
        }

        internal static string HiddenName(string module, int layer, bool reverse) =>
            module + ".l" + layer.ToString(CultureInfo.InvariantCulture) + (reverse ? "_reverse" : string.Empty);

        private int UnitSpace(string module) => _spaceIds[module];

        private AxisLayout GateRows(string module, RecurrentSpec r, int layer, bool reverse)
        {
            var name = HiddenName(module, layer, reverse);
            return AxisLayout.Concat(r.GateNames.Select(g => AxisLayout.Keyed(r.HiddenSize, _spaceIds[name + "." + g])));
        }

        /// <summary>Φ before any interaction: empty sets, with the keys a parameter's own output axes always carry.</summary>
        private Layout StructuralPhi(GraphParameter p)
        {
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var spec = _graph.FindModule(p.Module)!.Spec;
            if (spec is RecurrentSpec r)
            {
                var rows = Layout.WithAxis(shape, 0, GateRows(p.Module, r, p.Declaration.Layer, p.Declaration.Reverse));
                if (p.Role == ParameterRole.WeightHh)
                {
                    var hidden = AxisLayout.Keyed(r.HiddenSize, _spaceIds[HiddenName(p.Module, p.Declaration.Layer, p.Declaration.Reverse)]);
                    return Layout.Combine(shape, [.. rows.Blocks, .. Layout.WithAxis(shape, 1, hidden).Blocks]);
                }

                return rows;
            }

            if (spec is AttentionProjectionSpec)
            {
                return Layout.WithAxis(shape, 0, ProjectionRows(p.Module, spec));
            }

            // A grouped transposed convolution's weight rows are input channels: group g's rows hold units g·(out/g) + j.
            if (spec is ConvTransposeSpec { Groups: > 1 } t && p.Role == ParameterRole.Weight)
            {
                long cg = t.InChannels / t.Groups, og = t.OutChannels / t.Groups;
                var blocks = new List<LayoutBlock>();
                for (long g = 0; g < t.Groups; g++)
                {
                    var start = new long[shape.Length];
                    var size = (long[])shape.Clone();
                    start[0] = g * cg;
                    size[0] = cg;
                    var axes = size.Select(n => AxisLayout.Empty(n)).ToArray();
                    axes[1] = AxisLayout.Keyed(og, UnitSpace(p.Module), g * og);
                    blocks.Add(new LayoutBlock(start, size, FeatureSet.Empty, axes));
                }

                return Layout.Combine(shape, blocks);
            }

            // A layer's own units key the axis its elements belong to them along (rows, embedding dims, filters).
            if (spec.Units is not null)
            {
                var axis = spec.UnitAxis(p.Declaration);
                return Layout.WithAxis(shape, axis, AxisLayout.Keyed(shape[axis], UnitSpace(p.Module)));
            }

            return Layout.Uniform(shape, FeatureSet.Empty);
        }

        /// <summary>The q, k and v row blocks of a packed attention projection, each keyed by its own unit space.</summary>
        private AxisLayout ProjectionRows(string module, LayerSpec spec) =>
            AxisLayout.Concat(AttentionProjectionSpec.Blocks.Select(b => AxisLayout.Keyed(((AttentionProjectionSpec)spec).EmbedDim, _spaceIds[module + "." + b])));

        private void Interact(string parameter, Layout contribution)
        {
            var current = _phi[parameter];
            if (!current.Shape.SequenceEqual(contribution.Shape))
            {
                throw new GraphException($"parameter '{parameter}' has shape [{string.Join(", ", current.Shape)}] but an interaction of shape [{string.Join(", ", contribution.Shape)}] reached it");
            }

            _phi[parameter] = Layout.Combine(current.Shape, [.. current.Blocks, .. contribution.Blocks]);
        }

        private string Param(string module, string local) => module + "." + local;

        // ---- op rules ----

        public override IReadOnlyList<Layout> VisitActivation(ActivationOp op, NodeArgs<Layout> a) => [a.X];

        public override IReadOnlyList<Layout> VisitDropout(DropoutOp op, NodeArgs<Layout> a) => [a.X];

        public override IReadOnlyList<Layout> VisitScale(ScaleOp op, NodeArgs<Layout> a) => [a.X];

        /// <summary>A constant made in forward carries no features.</summary>
        public override IReadOnlyList<Layout> VisitFill(FillOp op, NodeArgs<Layout> a) =>
            [Layout.Uniform(Concrete(a.Node.OutputShapes[0]), FeatureSet.Empty)];

        /// <summary>Positions made in forward carry no features; an Embedding reads them as an empty one-hot view.</summary>
        public override IReadOnlyList<Layout> VisitArange(ArangeOp op, NodeArgs<Layout> a)
        {
            _positions[new ValueRef(a.Node.Id)] = op.Start;
            return [Layout.Uniform(Concrete(a.Node.OutputShapes[0]), FeatureSet.Empty)];
        }

        // Every output element depends on the whole axis.
        public override IReadOnlyList<Layout> VisitSoftmax(SoftmaxOp op, NodeArgs<Layout> a) =>
            [Layout.Elementwise(a.X, a.X.Reduce(op.Axis, keepDim: true), a.X.Shape)];

        public override IReadOnlyList<Layout> VisitBinary(BinaryOp op, NodeArgs<Layout> a)
        {
            var outShape = Concrete(a.Node.OutputShapes[0]);

            // Table 1's x + w and x * w rows: each tensor-field element ∪= the features of the elements it meets,
            // that is the other operand broadcast to the output and united over the axes the field repeats along.
            for (var i = 0; i < 2; i++)
            {
                if (_tensors.TryGetValue(a.Node.Operands[i], out var name))
                {
                    var field = a.Operands[i].Shape;
                    var skip = outShape.Length - field.Length;
                    var keep = Enumerable.Range(0, field.Length).Where(x => field[x] > 1).Select(x => x + skip).ToArray();
                    var met = a.Operands[1 - i].BroadcastTo(outShape).ReduceTo(keep).Reshape(field);
                    Interact(name, _offsets.TryGetValue(a.Node.Operands[i], out var offset) ? Placed(met, offset, _phi[name].Shape) : met);
                }
            }

            return [Layout.Elementwise(a.Operands[0], a.Operands[1], outShape)];
        }

        /// <summary>A tensor field's value carries no features; the ops that read it record what meets its elements.</summary>
        public override IReadOnlyList<Layout> VisitTensor(TensorSpec spec, NodeArgs<Layout> a)
        {
            _tensors[new ValueRef(a.Node.Id)] = a.Path;
            return [Layout.Uniform(Concrete(a.Node.OutputShapes[0]), FeatureSet.Empty)];
        }

        public override IReadOnlyList<Layout> VisitConcat(ConcatOp op, NodeArgs<Layout> a) => [Layout.Concat(op.Axis, a.Operands.ToList())];

        public override IReadOnlyList<Layout> VisitStack(StackOp op, NodeArgs<Layout> a) =>
            [Layout.Concat(op.Axis, a.Operands.Select(v => v.Unsqueeze(op.Axis)).ToList())];

        public override IReadOnlyList<Layout> VisitReduce(ReduceOp op, NodeArgs<Layout> a) => [a.X.Reduce(op.Axis, op.KeepDim)];

        public override IReadOnlyList<Layout> VisitReshape(ReshapeOp op, NodeArgs<Layout> a) => [a.X.Reshape(Concrete(a.Node.OutputShapes[0]))];

        public override IReadOnlyList<Layout> VisitFlatten(FlattenOp op, NodeArgs<Layout> a) => [a.X.Reshape(Concrete(a.Node.OutputShapes[0]))];

        public override IReadOnlyList<Layout> VisitUnsqueeze(UnsqueezeOp op, NodeArgs<Layout> a) => [a.X.Unsqueeze(op.Axis)];

        public override IReadOnlyList<Layout> VisitSqueeze(SqueezeOp op, NodeArgs<Layout> a) => [a.X.Squeeze(op.Axis)];

        public override IReadOnlyList<Layout> VisitNarrow(NarrowOp op, NodeArgs<Layout> a)
        {
            // A narrowed tensor field stays one: its elements are the field's from the offset on.
            if (_tensors.TryGetValue(a.Node.Operands[0], out var field))
            {
                var offset = _offsets.TryGetValue(a.Node.Operands[0], out var before) ? (long[])before.Clone() : new long[a.X.Rank];
                offset[op.Axis] += op.Start;
                _tensors[new ValueRef(a.Node.Id)] = field;
                _offsets[new ValueRef(a.Node.Id)] = offset;
            }

            return [a.X.Select(op.Axis, op.Start, op.Length.Evaluate(_options.SizeOf))];
        }

        /// <summary>A layout over part of a tensor, placed at <paramref name="offset"/> in the whole <paramref name="shape"/>.</summary>
        private static Layout Placed(Layout part, long[] offset, long[] shape) =>
            Layout.Combine(shape, part.Blocks.Select(b => new LayoutBlock(b.Start.Select((s, i) => s + offset[i]).ToArray(), b.Size, b.Common, b.Axes)).ToList());

        public override IReadOnlyList<Layout> VisitSlice(SliceOp op, NodeArgs<Layout> a) =>
            [a.X.Select(op.Axis, op.Start, ShapeInference.SliceLength(op), op.Step)];

        public override IReadOnlyList<Layout> VisitTranspose(TransposeOp op, NodeArgs<Layout> a) => [a.X.Transpose(op.Axis0, op.Axis1)];

        public override IReadOnlyList<Layout> VisitPermute(PermuteOp op, NodeArgs<Layout> a) =>
            [op.Swaps().Aggregate(a.X, (x, swap) => x.Transpose(swap.A, swap.B))];

        /// <summary>y[.., i, k] = ∪_j a[.., i, j] ∪ b[.., j, k]: a's rows and b's columns, united by broadcasting.</summary>
        public override IReadOnlyList<Layout> VisitMatMul(MatMulOp op, NodeArgs<Layout> a)
        {
            Layout left = a.Operands[0], right = a.Operands[1];

            // A 2-D tensor field W: W[i, j] on the left meets the right's row j; on the right W[j, k] meets the left's column j.
            if (_tensors.TryGetValue(a.Node.Operands[0], out var leftField))
            {
                Interact(leftField, right.ReduceTo(right.Rank - 2).InsertAxis(0, AxisLayout.Empty(left.Shape[0])));
            }

            if (_tensors.TryGetValue(a.Node.Operands[1], out var rightField))
            {
                Interact(rightField, left.ReduceTo(left.Rank - 1).InsertAxis(1, AxisLayout.Empty(right.Shape[1])));
            }

            return [Layout.Elementwise(left.Reduce(left.Rank - 1, keepDim: true), right.Reduce(right.Rank - 2, keepDim: true), Concrete(a.Node.OutputShapes[0]))];
        }

        public override IReadOnlyList<Layout> VisitLinear(LinearSpec spec, NodeArgs<Layout> a) => [Linear(a.Path, spec, a.X)];

        /// <summary>
        /// An EmbeddingBag reduces its lookup per bag: a 2-D input's row, or with offsets (data the mirror cannot
        /// see) any of the flat input's indices, so each bag gets the union of all of them.
        /// </summary>
        public override IReadOnlyList<Layout> VisitEmbedding(EmbeddingSpec spec, NodeArgs<Layout> a)
        {
            // Positions (an arange) pick rows start.. of the table: the lookup is those rows, a narrowed tensor field
            // whose elements meet, in +, - or *, the features of the data they are added to (Table 1's x + w).
            if (_positions.TryGetValue(a.Node.Operands[0], out var start))
            {
                _tensors[new ValueRef(a.Node.Id)] = Param(a.Path, "weight");
                _offsets[new ValueRef(a.Node.Id)] = [start, 0];
                return [Embedding(a.Path, spec, Layout.Uniform([.. a.X.Shape, spec.NumEmbeddings], FeatureSet.Empty))];
            }

            var y = Embedding(a.Path, spec, a.X);
            return spec.Bag is null ? [y]
                : a.Operands.Count == 1 ? [y.Reduce(1, keepDim: false)]
                : [y.Reduce(0, keepDim: true).BroadcastTo(Concrete(a.Node.OutputShapes[0]))];
        }

        public override IReadOnlyList<Layout> VisitConv1d(Conv1dSpec spec, NodeArgs<Layout> a) => [Conv1d(a.Path, spec, a.X)];

        public override IReadOnlyList<Layout> VisitConvTranspose(ConvTransposeSpec spec, NodeArgs<Layout> a) => [ConvTranspose(a.Path, spec, a.X)];

        /// <summary>
        /// Three Linear rules on the row blocks of one packed weight: block r reads operand r, so W[r·E + o, i] ∪=
        /// x_r[.., i] and b[r·E + o] ∪= all of x_r; y_r[.., o] = ∪_i x_r[.., i], keyed by block r's units.
        /// </summary>
        public override IReadOnlyList<Layout> VisitAttentionProjection(AttentionProjectionSpec spec, NodeArgs<Layout> a)
        {
            var weights = new List<Layout>();
            var biases = new List<Layout>();
            var outputs = new List<Layout>();
            for (var r = 0; r < AttentionProjectionSpec.Blocks.Length; r++)
            {
                var x = a.Operands[r];
                var last = x.Rank - 1;
                var units = AxisLayout.Keyed(spec.EmbedDim, _spaceIds[a.Path + "." + AttentionProjectionSpec.Blocks[r]]);
                weights.Add(x.ReduceTo(last).InsertAxis(0, units));
                biases.Add(Layout.WithAxis([spec.EmbedDim], 0, units, x.AllFeatures()));
                outputs.Add(x.Reduce(last, keepDim: false).InsertAxis(last, units));
            }

            Interact(Param(a.Path, "in_proj_weight"), Layout.Concat(0, weights));
            if (spec.Bias)
            {
                Interact(Param(a.Path, "in_proj_bias"), Layout.Concat(0, biases));
            }

            return outputs;
        }

        public override IReadOnlyList<Layout> VisitRecurrent(RecurrentSpec spec, NodeArgs<Layout> a) => Recurrent(a.Path, spec, a.Operands.ToList());

        public override IReadOnlyList<Layout> VisitLayerNorm(LayerNormSpec spec, NodeArgs<Layout> a) => [LayerNorm(a.Path, spec, a.X)];

        public override IReadOnlyList<Layout> VisitBatchNorm1d(BatchNorm1dSpec spec, NodeArgs<Layout> a) => [BatchNorm(a.Path, spec, a.X)];

        public override IReadOnlyList<Layout> VisitBatchNorm2d(BatchNorm2dSpec spec, NodeArgs<Layout> a) => [BatchNorm(a.Path, spec, a.X)];

        /// <summary>
        /// y[b, c, p] = ∪ over the channels c' of c's group and every position q of x[b, c', q] (the group's
        /// statistics); weight[c] and bias[c] ∪= y[b, c, p] for all b, p.
        /// </summary>
        public override IReadOnlyList<Layout> VisitGroupNorm(GroupNormSpec spec, NodeArgs<Layout> a)
        {
            var x = a.X;
            var cg = spec.ChannelsPerGroup;
            var groups = new List<Layout>();
            for (long g = 0; g < spec.NumGroups; g++)
            {
                var xg = x.Select(1, g * cg, cg, 1);
                var stats = xg.ReduceTo(0);
                for (var i = 1; i < x.Rank; i++)
                {
                    stats = stats.Unsqueeze(stats.Rank);
                }

                groups.Add(Layout.Elementwise(xg, stats, xg.Shape));
            }

            var y = Layout.Concat(1, groups);
            if (spec.Affine)
            {
                var phi = y.ReduceTo(1);
                Interact(Param(a.Path, "weight"), phi);
                Interact(Param(a.Path, "bias"), phi);
            }

            return [y];
        }

        public override IReadOnlyList<Layout> VisitConv2d(Conv2dSpec spec, NodeArgs<Layout> a) => [Conv2d(a.Path, spec, a.X)];

        /// <summary>A window never leaves its channel: y[.., c, o] = ∪ over the window of x[.., c, p] (no parameters).</summary>
        public override IReadOnlyList<Layout> VisitPool(PoolOp op, NodeArgs<Layout> a)
        {
            var x = a.X;
            var d = op.Dimensions;
            var axes = Enumerable.Range(x.Rank - d, d).ToArray();
            var outLengths = axes.Select((ax, i) => op.OutputLength(i, x.Shape[ax])).ToArray();
            return [x.WindowUnion(axes, outLengths, op.Window)];
        }

        public override IReadOnlyList<Layout> VisitAdaptivePool(AdaptivePoolOp op, NodeArgs<Layout> a)
        {
            var x = a.X;
            var d = op.Dimensions;
            var axes = Enumerable.Range(x.Rank - d, d).ToArray();
            return [x.WindowUnion(axes, op.Output.ToArray(), (i, o) => Windows.Adaptive(x.Shape[axes[i]], op.Output[i], o))];
        }

        /// <summary>y[p,o] = ∪_i x[p,i]; W[o,i] ∪= x[p,i]; b[o] ∪= everything x carries.</summary>
        private Layout Linear(string module, LinearSpec spec, Layout x)
        {
            var last = x.Rank - 1;
            var units = AxisLayout.Keyed(spec.OutFeatures, UnitSpace(module));
            Interact(Param(module, "weight"), x.ReduceTo(last).InsertAxis(0, units));
            if (spec.Bias)
            {
                Interact(Param(module, "bias"), Layout.WithAxis([spec.OutFeatures], 0, units, x.AllFeatures()));
            }

            return x.Reduce(last, keepDim: false).InsertAxis(last, units);
        }

        /// <summary>A Linear without bias over the one-hot view, with the weight stored [vocabulary, dim].</summary>
        private Layout Embedding(string module, EmbeddingSpec spec, Layout onehot)
        {
            var last = onehot.Rank - 1;
            var units = AxisLayout.Keyed(spec.EmbeddingDim, UnitSpace(module));
            Interact(Param(module, "weight"), onehot.ReduceTo(last).InsertAxis(1, units));
            return onehot.Reduce(last, keepDim: false).InsertAxis(last, units);
        }

        /// <summary>
        /// y[b, o, h, w] = ∪ over the group's channels and the taps inside the image; W[o, c', kh, kw] ∪= the features
        /// of x[b, g·Cg + c', h·s + kh·d − p, w·s + kw·d − p] over the valid (h, w) of that tap; b[o] ∪= all of y[.., o, ..].
        /// </summary>
        private Layout Conv2d(string module, Conv2dSpec c, Layout input, int weightRank = 4)
        {
            var x = input.Rank == 3 ? input.Unsqueeze(0) : input;
            long[] outLengths = [c.OutputLength(0, x.Shape[2]), c.OutputLength(1, x.Shape[3])];
            (long Start, long Count, long Step)? Taps(int axis, long k) =>
                TapRange(k, axis == 0 ? c.DilationH : c.DilationW, axis == 0 ? c.PaddingH : c.PaddingW, axis == 0 ? c.StrideH : c.StrideW, x.Shape[2 + axis], outLengths[axis])
                    is { } t ? (t.Start, t.Count, axis == 0 ? c.StrideH : c.StrideW) : null;

            var y = GroupedWindows(module, x, new(c.InChannels, c.OutChannels, c.Groups, c.KernelH, c.KernelW, c.Bias, Transposed: false), outLengths, c.Window, Taps, weightRank == 3);
            return input.Rank == 3 ? y.Squeeze(0) : y;
        }

        /// <summary>The input positions tap k reads over all valid outputs (start, count; step = stride), or null.</summary>
        private static (long Start, long Count)? TapRange(long k, long dilation, long padding, long stride, long length, long outLength)
        {
            // Output t reads position t·stride + k·dilation − padding: the outputs whose position lies in [0, length).
            var offset = (k * dilation) - padding;
            return Windows.Clip(new Window(offset, outLength, stride), 0, length) is { } t ? (offset + (t.First * stride), t.Last - t.First + 1) : null;
        }

        /// <summary>
        /// y[b, o, h, w] = ∪ of x[b, c', i, j] over the channels of o's group and the inputs whose taps land on (h, w);
        /// W[c, o', kh, kw] ∪= the features of x[b, c, i, j] over the inputs whose tap (kh, kw) lands inside the output;
        /// b[o] ∪= all of y[.., o, ..]. The 1-D form runs over a height of 1 and drops the kernel-height axis.
        /// </summary>
        private Layout ConvTranspose(string module, ConvTransposeSpec c, Layout input)
        {
            var oneD = c.Dimensions == 1;
            var tall = oneD ? input.Unsqueeze(input.Rank - 1) : input;
            var x = tall.Rank == 3 ? tall.Unsqueeze(0) : tall;
            long[] outLengths = [c.OutputLength(0, x.Shape[2]), c.OutputLength(1, x.Shape[3])];
            (long Start, long Count, long Step)? Taps(int axis, long k) =>
                c.Taps(axis, k, x.Shape[2 + axis], outLengths[axis]) is { } t ? (t.Start, t.Count, 1) : null;

            var y = GroupedWindows(module, x, new(c.InChannels, c.OutChannels, c.Groups, c.KernelH, c.KernelW, c.Bias, Transposed: true), outLengths, c.Window, Taps, oneD);
            y = tall.Rank == 3 ? y.Squeeze(0) : y;
            return oneD ? y.Squeeze(y.Rank - 2) : y;
        }

        /// <summary>What a convolution's mirror rule needs of its layer; a transposed one keeps its units on weight axis 1.</summary>
        private readonly record struct ConvolutionShape(long InChannels, long OutChannels, long Groups, long KernelH, long KernelW, bool Bias, bool Transposed);

        /// <summary>
        /// The rule Conv2d and ConvTranspose2d share over x [B, C, H, W]: per group, each output position unites the
        /// group's channels at the input positions <paramref name="window"/> gives, keyed by the group's units; each
        /// tap's weight column (row, when transposed) meets the features of the inputs <paramref name="taps"/> gives;
        /// the bias meets all of its unit's outputs. <paramref name="dropHeight"/>: a 1-D layer's weight has no kernel height.
        /// </summary>
        private Layout GroupedWindows(
            string module,
            Layout x,
            ConvolutionShape c,
            long[] outLengths,
            Func<int, long, Window> window,
            Func<int, long, (long Start, long Count, long Step)?> taps,
            bool dropHeight)
        {
            long cg = c.InChannels / c.Groups, og = c.OutChannels / c.Groups;
            var space = UnitSpace(module);
            var groups = new List<Layout>();
            var weightParts = new List<LayoutBlock>();
            var biasParts = new List<LayoutBlock>();
            for (long g = 0; g < c.Groups; g++)
            {
                var xg = x.Select(1, g * cg, cg);
                var units = AxisLayout.Keyed(og, space, g * og);
                var yg = xg.ReduceTo(0, 2, 3).WindowUnion([1, 2], outLengths, window).InsertAxis(1, units);
                groups.Add(yg);
                biasParts.Add(new LayoutBlock([g * og], [og], yg.AllFeatures(), [units]));
                for (long kh = 0; kh < c.KernelH; kh++)
                {
                    var rows = taps(0, kh);
                    for (long kw = 0; kw < c.KernelW && rows is not null; kw++)
                    {
                        if (taps(1, kw) is not { } cols)
                        {
                            continue;
                        }

                        var met = xg.Select(2, rows.Value.Start, rows.Value.Count, rows.Value.Step).Select(3, cols.Start, cols.Count, cols.Step).ReduceTo(1);
                        foreach (var block in met.Blocks)
                        {
                            weightParts.Add(c.Transposed
                                ? new LayoutBlock([(g * cg) + block.Start[0], 0, kh, kw], [block.Size[0], og, 1, 1], block.Common, [block.Axes[0], units, AxisLayout.Empty(1), AxisLayout.Empty(1)])
                                : new LayoutBlock([g * og, block.Start[0], kh, kw], [og, block.Size[0], 1, 1], block.Common, [units, block.Axes[0], AxisLayout.Empty(1), AxisLayout.Empty(1)]));
                        }
                    }
                }
            }

            var weight = Layout.Combine(c.Transposed ? [c.InChannels, og, c.KernelH, c.KernelW] : [c.OutChannels, cg, c.KernelH, c.KernelW], weightParts);
            Interact(Param(module, "weight"), dropHeight ? weight.Squeeze(2) : weight);
            if (c.Bias)
            {
                Interact(Param(module, "bias"), Layout.Combine([c.OutChannels], biasParts));
            }

            return Layout.Concat(1, groups);
        }

        /// <summary>Conv1d is Conv2d over a height of 1; its weight drops the kernel-height axis.</summary>
        private Layout Conv1d(string module, Conv1dSpec c, Layout input) =>
            Conv2d(module, c.AsConv2d(), input.Unsqueeze(input.Rank - 1), weightRank: 3).Squeeze(input.Rank - 1);



        /// <summary>LSTM and GRU, step by step per batch element (docs/mirror.md, recurrent layers).</summary>
        private List<Layout> Recurrent(string module, RecurrentSpec r, List<Layout> operands)
        {
            var unbatched = operands[0].Rank == 2;
            Layout Normalize(Layout v, bool sequence) =>
                unbatched ? v.Unsqueeze(1) : (sequence && r.BatchFirst ? v.Transpose(0, 1) : v);

            var x = Normalize(operands[0], sequence: true); // [T, B, in]
            var h0 = operands.Count > 1 ? Normalize(operands[1], sequence: false) : null; // [L·D, B, H]
            var c0 = operands.Count > 2 ? Normalize(operands[2], sequence: false) : null;
            long steps = x.Shape[0], batch = x.Shape[1], hidden = r.HiddenSize;
            var lstm = r.Cell == RecurrentKind.Lstm;
            var hnParts = new List<LayoutBlock>();
            var cnParts = new List<LayoutBlock>();
            var layerInput = x;
            for (var layer = 0; layer < r.NumLayers; layer++)
            {
                var perStep = layerInput.Reduce(2, keepDim: false); // ∪_i X_t[i] for each (t, b)
                var inputColumns = layerInput.ReduceTo(2);
                var directions = new List<Layout>();
                for (var d = 0; d < r.Directions; d++)
                {
                    var reverse = d == 1;
                    var suffix = "_l" + layer.ToString(CultureInfo.InvariantCulture) + (reverse ? "_reverse" : string.Empty);
                    var hiddenSpace = _spaceIds[HiddenName(module, layer, reverse)];
                    var stateRow = (layer * r.Directions) + d;
                    var whh = AxisLayout.Keyed(hidden, hiddenSpace);
                    var bias = FeatureSet.Empty;
                    var outParts = new List<LayoutBlock>();
                    for (long b = 0; b < batch; b++)
                    {
                        var h = Rekey(h0?.Line([stateRow, b, 0], 2), hidden, hiddenSpace);
                        var cs = Rekey(c0?.Line([stateRow, b, 0], 2), hidden, hiddenSpace);
                        for (long i = 0; i < steps; i++)
                        {
                            var t = reverse ? steps - 1 - i : i;
                            var gates = perStep.FeaturesAt([t, b]).Union(h.AllFeatures());
                            whh = whh.Merge(h);
                            bias = bias.Union(gates);
                            if (lstm)
                            {
                                cs = cs.AddBits(gates);
                                h = cs;
                            }
                            else
                            {
                                h = h.AddBits(gates);
                            }

                            outParts.Add(new LayoutBlock([t, b, 0], [1, 1, hidden], FeatureSet.Empty, [AxisLayout.Empty(1), AxisLayout.Empty(1), h]));
                        }

                        hnParts.Add(new LayoutBlock([stateRow, b, 0], [1, 1, hidden], FeatureSet.Empty, [AxisLayout.Empty(1), AxisLayout.Empty(1), h]));
                        cnParts.Add(new LayoutBlock([stateRow, b, 0], [1, 1, hidden], FeatureSet.Empty, [AxisLayout.Empty(1), AxisLayout.Empty(1), cs]));
                    }

                    var rows = GateRows(module, r, layer, reverse);
                    Interact(Param(module, "weight_ih" + suffix), inputColumns.InsertAxis(0, rows));
                    Interact(Param(module, "weight_hh" + suffix), Layout.WithAxis([hidden], 0, whh).InsertAxis(0, rows));
                    if (r.Bias)
                    {
                        // Both bias vectors are added into the same gate pre-activation (docs/mirror.md).
                        Interact(Param(module, "bias_ih" + suffix), Layout.WithAxis([rows.Length], 0, rows, bias));
                        Interact(Param(module, "bias_hh" + suffix), Layout.WithAxis([rows.Length], 0, rows, bias));
                    }

                    directions.Add(Layout.Combine([steps, batch, hidden], outParts));
                }

                layerInput = directions.Count == 1 ? directions[0] : Layout.Concat(2, directions);
            }

            var stateShape = new long[] { r.NumLayers * r.Directions, batch, hidden };
            Layout Restore(Layout v, bool sequence) =>
                unbatched ? v.Squeeze(1) : (sequence && r.BatchFirst ? v.Transpose(0, 1) : v);

            var result = new List<Layout> { Restore(layerInput, sequence: true), Restore(Layout.Combine(stateShape, hnParts), sequence: false) };
            if (lstm)
            {
                result.Add(Restore(Layout.Combine(stateShape, cnParts), sequence: false));
            }

            return result;
        }

        /// <summary>A state line with its features kept and its keys replaced by the layer's own hidden units.</summary>
        private static AxisLayout Rekey(AxisLayout? line, long hidden, int space)
        {
            if (line is null)
            {
                return AxisLayout.Keyed(hidden, space);
            }

            var runs = new List<Run>();
            long start = 0;
            foreach (var run in line.Runs)
            {
                if (run.HasSlotKeys)
                {
                    for (long k = 0; k < run.Length; k++)
                    {
                        runs.Add(new Run(1, run.FeaturesAt(k), [new KeySeq(space, start + k, 1)]));
                    }
                }
                else
                {
                    runs.Add(new Run(run.Length, run.Bits, [new KeySeq(space, start, 1)]));
                }

                start += run.Length;
            }

            return AxisLayout.FromRuns(runs);
        }

        /// <summary>y[p, q] = ∪_{q'} x[p, q'] over the normalised block; weight and bias see y.</summary>
        private Layout LayerNorm(string module, LayerNormSpec spec, Layout x)
        {
            var k = spec.NormalizedShape.Count;
            var prefix = Enumerable.Range(0, x.Rank - k).ToArray();
            var stats = x.ReduceTo(prefix);
            for (var i = 0; i < k; i++)
            {
                stats = stats.Unsqueeze(stats.Rank);
            }

            var y = Layout.Elementwise(x, stats, x.Shape);
            if (spec.ElementwiseAffine)
            {
                var phi = y.ReduceTo(Enumerable.Range(x.Rank - k, k).ToArray());
                Interact(Param(module, "weight"), phi);
                if (spec.Bias)
                {
                    Interact(Param(module, "bias"), phi);
                }
            }

            return y;
        }

        /// <summary>Eval form: y = x; per-channel parameters and statistics see their channel.</summary>
        private Layout BatchNorm(string module, BatchNormSpec spec, Layout x)
        {
            var phi = x.ReduceTo(1);
            if (spec.Affine)
            {
                Interact(Param(module, "weight"), phi);
                Interact(Param(module, "bias"), phi);
            }

            if (spec.TrackRunningStats)
            {
                Interact(Param(module, "running_mean"), phi);
                Interact(Param(module, "running_var"), phi);
            }

            return x;
        }
    }
}
