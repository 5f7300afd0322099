using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>A value while building: its reference and inferred shape.</summary>
public readonly record struct GraphValue(ValueRef Ref, Shape Shape)
{
    public override string ToString() => $"{Ref} {Shape}";
}

/// <summary>
/// Fluent construction of a <see cref="ModelGraph"/> in code. Each call infers shapes at once, so an
/// inconsistent graph fails at the offending call with the node and both shapes in the message.
/// </summary>
public sealed class GraphBuilder
{
    private readonly string _name;
    private readonly List<GraphInput> _inputs = [];
    private readonly List<GraphModule> _modules = [];
    private readonly List<GraphNode> _nodes = [];
    private readonly List<GraphOutput> _outputs = [];
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InputRole> _roles = new(StringComparer.Ordinal);
    private readonly HashSet<ValueRef> _positions = [];

    public GraphBuilder(string name) => _name = name;

    public GraphValue Input(string name, Shape shape, InputRole role, string? schemaInput, int featureAxis = -1)
    {
        Claim(name);
        _inputs.Add(new GraphInput(name, shape, role, role is InputRole.State or InputRole.Offsets ? null : schemaInput ?? name, featureAxis));
        _roles[name] = role;

        return new GraphValue(new ValueRef(name), shape);
    }

    /// <summary>A dense feature input; the last dimension is the schema input's width.</summary>
    public GraphValue FeatureInput(string name, params Dim[] shape) => Input(name, new Shape(shape), InputRole.Features, name);

    /// <summary>A feature input whose features sit on <paramref name="featureAxis"/> (an image's channels: axis 1).</summary>
    public GraphValue FeatureInputAt(string name, int featureAxis, params Dim[] shape) => Input(name, new Shape(shape), InputRole.Features, name, featureAxis);

    /// <summary>An index input of a categorical schema input (shape without the vocabulary axis).</summary>
    public GraphValue CategoricalInput(string name, params Dim[] shape) => Input(name, new Shape(shape), InputRole.Categorical, name);

    public GraphValue StateInput(string name, params Dim[] shape) => Input(name, new Shape(shape), InputRole.State, null);

    /// <summary>The offsets of an EmbeddingBag over a flat index input: where each bag starts.</summary>
    public GraphValue OffsetsInput(string name, params Dim[] shape) => Input(name, new Shape(shape), InputRole.Offsets, null);

    /// <summary>Declares a module; declaration order is registration order, hence state_dict order.</summary>
    public string Module(string path, LayerSpec spec)
    {
        var existing = _modules.FirstOrDefault(m => m.Path == path);
        if (existing is not null)
        {
            if (existing.Spec != spec)
            {
                throw new GraphException($"module '{path}' is already declared as {existing.Spec}; cannot redeclare it as {spec}");
            }

            return path;
        }

        _modules.Add(new GraphModule(path, spec));
        return path;
    }

    /// <summary>Calls a declared module; returns its outputs (one, or LSTM/GRU tuples).</summary>
    public GraphValue[] Call(string module, params GraphValue[] operands) => Call(module, null, operands);

    public GraphValue[] Call(string module, string? id, params GraphValue[] operands)
    {
        if (_modules.All(m => m.Path != module))
        {
            throw new GraphException($"module '{module}' is not declared");
        }

        if (id is not null && _names.Contains(id))
        {
            throw new GraphException($"node id '{id}' is already used; input and node names must be unique");
        }

        return Add(new CallOp(module), id ?? Stem(module), operands);
    }

    public GraphValue Linear(string module, GraphValue x, long outFeatures, bool bias = true) =>
        CallNew(module, new LinearSpec(LastConstant(x, module), outFeatures, bias), x)[0];

    /// <summary>torch.nn.GroupNorm over [B, C, ...] with C read off the operand.</summary>
    public GraphValue GroupNorm(string module, GraphValue x, long numGroups, double eps = 1e-5, bool affine = true) =>
        CallNew(module, new GroupNormSpec(numGroups, x.Shape.Rank >= 2 && x.Shape[1].IsConstant ? x.Shape[1].Value : 0, eps, affine), x)[0];

    public GraphValue Embedding(string module, GraphValue indices, long numEmbeddings, long embeddingDim)
    {
        if (Role(indices) != InputRole.Categorical && !IsPositions(indices))
        {
            throw new GraphException($"module '{module}' (Embedding): operand '{indices.Ref}' is not a categorical input or an arange; the mirror reads embeddings as products with a one-hot input");
        }

        return CallNew(module, new EmbeddingSpec(numEmbeddings, embeddingDim), indices)[0];
    }

    /// <summary>
    /// An EmbeddingBag: bags are the rows of a 2-D categorical input, or, with <paramref name="offsets"/>, runs of a
    /// flat one that start at the offsets.
    /// </summary>
    public GraphValue EmbeddingBag(string module, GraphValue indices, GraphValue? offsets, long numEmbeddings, long embeddingDim, string mode = BagReduction.Mean, bool includeLastOffset = false)
    {
        var spec = new EmbeddingSpec(numEmbeddings, embeddingDim, new BagReduction(mode, includeLastOffset));
        return offsets is { } o ? CallNew(module, spec, indices, o)[0] : CallNew(module, spec, indices)[0];
    }

    /// <summary>The role of an input value; null for node outputs.</summary>
    public InputRole? Role(GraphValue value) => _roles.TryGetValue(value.Ref.Source, out var r) && value.Ref.Index == 0 ? r : null;

    public GraphValue Conv1d(string module, GraphValue x, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true)
    {
        var channels = x.Shape.Rank >= 2 && x.Shape[x.Shape.Rank - 2].IsConstant ? x.Shape[x.Shape.Rank - 2].Constant : throw new GraphException($"module '{module}' (Conv1d): operand '{x.Ref}' has shape {x.Shape}; expected a constant channel axis");
        return CallNew(module, new Conv1dSpec(channels, outChannels, kernelSize, stride, padding, dilation, groups, bias), x)[0];
    }

    public (GraphValue Output, GraphValue H, GraphValue C) Lstm(string module, GraphValue x, long hiddenSize, int numLayers = 1, bool batchFirst = false, bool bidirectional = false, bool bias = true, GraphValue? h0 = null, GraphValue? c0 = null)
    {
        var spec = new RecurrentSpec(RecurrentKind.Lstm, LastConstant(x, module), hiddenSize, numLayers, bias, batchFirst, bidirectional);
        var operands = h0 is null && c0 is null ? [x] : new[] { x, h0 ?? throw new ArgumentNullException(nameof(h0)), c0 ?? throw new ArgumentNullException(nameof(c0)) };
        var r = CallNew(module, spec, operands);
        return (r[0], r[1], r[2]);
    }

    public (GraphValue Output, GraphValue H) Gru(string module, GraphValue x, long hiddenSize, int numLayers = 1, bool batchFirst = false, bool bidirectional = false, bool bias = true, GraphValue? h0 = null)
    {
        var spec = new RecurrentSpec(RecurrentKind.Gru, LastConstant(x, module), hiddenSize, numLayers, bias, batchFirst, bidirectional);
        var r = CallNew(module, spec, h0 is null ? [x] : [x, h0.Value]);
        return (r[0], r[1]);
    }

    public GraphValue LayerNorm(string module, GraphValue x, params long[] normalizedShape) =>
        CallNew(module, new LayerNormSpec(normalizedShape.Length == 0 ? [LastConstant(x, module)] : normalizedShape), x)[0];

    public GraphValue Conv2d(string module, GraphValue x, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1, long groups = 1, bool bias = true)
    {
        var channels = x.Shape.Rank >= 3 && x.Shape[x.Shape.Rank - 3].IsConstant ? x.Shape[x.Shape.Rank - 3].Constant : throw new GraphException($"module '{module}' (Conv2d): operand '{x.Ref}' has shape {x.Shape}; expected a constant channel axis");
        return CallNew(module, new Conv2dSpec(channels, outChannels, kernelSize, kernelSize, stride, stride, padding, padding, dilation, dilation, groups, bias), x)[0];
    }

    /// <summary>ConvTranspose1d (<paramref name="dimensions"/> 1, over [B, C, L]) or ConvTranspose2d (2, square kernel).</summary>
    public GraphValue ConvTranspose(string module, GraphValue x, int dimensions, long outChannels, long kernelSize, long stride = 1, long padding = 0, long outputPadding = 0, long dilation = 1, long groups = 1, bool bias = true)
    {
        var axis = x.Shape.Rank - dimensions - 1;
        var channels = axis >= 0 && x.Shape[axis].IsConstant ? x.Shape[axis].Constant : throw new GraphException($"module '{module}' (ConvTranspose{dimensions}d): operand '{x.Ref}' has shape {x.Shape}; expected a constant channel axis");
        var spec = dimensions == 1
            ? ConvTransposeSpec.OneD(channels, outChannels, kernelSize, stride, padding, outputPadding, dilation, groups, bias)
            : new ConvTransposeSpec(2, channels, outChannels, kernelSize, kernelSize, stride, stride, padding, padding, outputPadding, outputPadding, dilation, dilation, groups, bias);
        return CallNew(module, spec, x)[0];
    }

    public GraphValue BatchNorm2d(string module, GraphValue x)
    {
        var channels = x.Shape.Rank == 4 && x.Shape[1].IsConstant ? x.Shape[1].Constant : throw new GraphException($"module '{module}' (BatchNorm2d): operand '{x.Ref}' has shape {x.Shape}; expected [B, C, H, W] with a constant C");
        return CallNew(module, new BatchNorm2dSpec(channels), x)[0];
    }

    /// <summary>Max or average pooling over the last <paramref name="kernel"/>.Length axes, stride = kernel unless given.</summary>
    public GraphValue Pool(GraphValue x, PoolKind kind, long[] kernel, long[]? stride = null, long[]? padding = null, long[]? dilation = null)
    {
        var d = kernel.Length;
        var op = new PoolOp(
            kind,
            kernel.ToEquatableArray(),
            (stride ?? kernel).ToEquatableArray(),
            (padding ?? new long[d]).ToEquatableArray(),
            (dilation ?? Enumerable.Repeat(1L, d).ToArray()).ToEquatableArray());
        return One(op, op.Kind, x);
    }

    /// <summary>Applies a parameter-free single-operand op the reader built (a pooling module's op).</summary>
    public GraphValue Apply(NodeOp op, GraphValue x) => op is CallOp
        ? throw new GraphException("a module call needs its module; use Call")
        : One(op, op.Kind, x);

    /// <summary>Reads tensor field <paramref name="module"/> (a Parameter or buffer), declaring it on first use.</summary>
    public GraphValue Tensor(string module, long[] dims, bool buffer = false, TensorInit init = TensorInit.Other) =>
        CallNew(module, new TensorSpec(dims.ToEquatableArray(), buffer, init))[0];

    /// <summary>A tensor of one value made in forward (zeros, ones, full).</summary>
    /// <summary>Whether <paramref name="value"/> is the output of an arange (positions an Embedding may read).</summary>
    public bool IsPositions(GraphValue value) => _positions.Contains(value.Ref);

    /// <summary>torch.arange(start, end): positions for an Embedding (a learned position table).</summary>
    public GraphValue Arange(long start, Dim end)
    {
        var value = Add(new ArangeOp(start, end), "arange", [])[0];
        _positions.Add(value.Ref);
        return value;
    }

    public GraphValue Fill(double value, params Dim[] shape) => Add(new FillOp(value, shape.ToEquatableArray()), "fill", [])[0];

    /// <summary>factor·x + offset with numbers known at build time (x * 0.5, x + 1e-5, 1 - x).</summary>
    public GraphValue Scale(GraphValue x, double factor, double offset = 0) => One(new ScaleOp(factor, offset), "scale", x);

    public GraphValue MatMul(GraphValue a, GraphValue b) => Add(new MatMulOp(), "matmul", [a, b])[0];

    public GraphValue Permute(GraphValue x, params int[] dims) => One(new PermuteOp(dims.ToEquatableArray()), "permute", x);

    public GraphValue AdaptivePool(GraphValue x, PoolKind kind, params long[] output)
    {
        var op = new AdaptivePoolOp(kind, output.ToEquatableArray());
        return One(op, op.Kind, x);
    }

    public GraphValue BatchNorm1d(string module, GraphValue x)
    {
        var channels = x.Shape.Rank >= 2 && x.Shape[1].IsConstant ? x.Shape[1].Constant : throw new GraphException($"module '{module}' (BatchNorm1d): operand '{x.Ref}' has shape {x.Shape}; expected a constant channel axis 1");
        return CallNew(module, new BatchNorm1dSpec(channels), x)[0];
    }

    /// <summary>Declares (or reuses) a module and calls it; the module is registered only if the call is valid.</summary>
    private GraphValue[] CallNew(string module, LayerSpec spec, params GraphValue[] operands)
    {
        var existing = _modules.FirstOrDefault(m => m.Path == module);
        if (existing is not null)
        {
            return Call(Module(module, spec), operands);
        }

        var refs = operands.Select(o => o.Ref).ToEquatableArray();
        ShapeInference.Infer(new GraphNode(module.Replace('.', '_'), new CallOp(module), refs, default), new GraphModule(module, spec), operands.Select(o => o.Shape).ToList());
        return Call(Module(module, spec), operands);
    }

    public GraphValue Activation(GraphValue x, ActivationKind kind) => One(new ActivationOp(kind), kind.ToString().ToLowerInvariant(), x);

    public GraphValue Relu(GraphValue x) => Activation(x, ActivationKind.Relu);

    public GraphValue Tanh(GraphValue x) => Activation(x, ActivationKind.Tanh);

    public GraphValue Sigmoid(GraphValue x) => Activation(x, ActivationKind.Sigmoid);

    public GraphValue Dropout(GraphValue x, double p = 0.5) => One(new DropoutOp(p), "dropout", x);

    public GraphValue Softmax(GraphValue x, int axis, bool log = false) => One(new SoftmaxOp(Axis(x, axis, log ? "log_softmax" : "softmax"), log), log ? "log_softmax" : "softmax", x);

    public GraphValue Add(GraphValue a, GraphValue b) => One(new BinaryOp(BinaryKind.Add), "add", a, b);

    public GraphValue Sub(GraphValue a, GraphValue b) => One(new BinaryOp(BinaryKind.Sub), "sub", a, b);

    public GraphValue Mul(GraphValue a, GraphValue b) => One(new BinaryOp(BinaryKind.Mul), "mul", a, b);

    public GraphValue Div(GraphValue a, GraphValue b) => One(new BinaryOp(BinaryKind.Div), "div", a, b);

    public GraphValue Concat(int axis, params GraphValue[] xs) => One(new ConcatOp(Axis(First(xs), axis, "concat")), "cat", xs);

    public GraphValue Stack(int axis, params GraphValue[] xs) => One(new StackOp(Axis(First(xs), axis, "stack", extra: 1)), "stack", xs);

    public GraphValue Reduce(GraphValue x, ReduceKind kind, int axis, bool keepDim = false) =>
        One(new ReduceOp(kind, Axis(x, axis, kind.ToString().ToLowerInvariant()), keepDim), kind.ToString().ToLowerInvariant(), x);

    public GraphValue Max(GraphValue x, int axis, bool keepDim = false) => Reduce(x, ReduceKind.Max, axis, keepDim);

    public GraphValue Mean(GraphValue x, int axis, bool keepDim = false) => Reduce(x, ReduceKind.Mean, axis, keepDim);

    public GraphValue Sum(GraphValue x, int axis, bool keepDim = false) => Reduce(x, ReduceKind.Sum, axis, keepDim);

    /// <summary>view/reshape; pass <c>-1</c> for the one inferred dimension.</summary>
    public GraphValue Reshape(GraphValue x, params Dim[] target) => One(new ReshapeOp(target.ToEquatableArray()), "reshape", x);

    public GraphValue Flatten(GraphValue x, int startAxis = 1, int endAxis = -1) =>
        One(new FlattenOp(Axis(x, startAxis, "flatten"), Axis(x, endAxis, "flatten")), "flatten", x);

    public GraphValue Unsqueeze(GraphValue x, int axis) => One(new UnsqueezeOp(Axis(x, axis, "unsqueeze", extra: 1)), "unsqueeze", x);

    public GraphValue Squeeze(GraphValue x, int axis) => One(new SqueezeOp(Axis(x, axis, "squeeze")), "squeeze", x);

    public GraphValue Narrow(GraphValue x, int axis, long start, Dim length)
    {
        var a = Axis(x, axis, "narrow");
        if (start < 0 && x.Shape[a].IsConstant)
        {
            start += x.Shape[a].Constant;
        }

        return One(new NarrowOp(a, start, length), "narrow", x);
    }

    /// <summary><c>x[..., start:end:step]</c> along one axis, with Python's negative indices and clamping.</summary>
    public GraphValue Slice(GraphValue x, int axis, long? start, long? end, long step = 1)
    {
        var a = Axis(x, axis, "slice");
        var d = x.Shape[a].IsConstant ? x.Shape[a].Constant : throw new GraphException($"slice: operand '{x.Ref}' has shape {x.Shape}; expected a constant size on axis {a}");
        static long Clamp(long v, long d) => Math.Min(Math.Max(v < 0 ? v + d : v, 0), d);
        return One(new SliceOp(a, Clamp(start ?? 0, d), Clamp(end ?? d, d), step), "slice", x);
    }

    public GraphValue Transpose(GraphValue x, int axis0, int axis1) =>
        One(new TransposeOp(Axis(x, axis0, "transpose"), Axis(x, axis1, "transpose")), "transpose", x);

    public GraphBuilder Output(string name, GraphValue value, string? schemaOutput = null)
    {
        _outputs.Add(new GraphOutput(name, value.Ref, schemaOutput ?? name));
        return this;
    }

    /// <summary>An output not described by the schema (e.g. a returned recurrent state).</summary>
    public GraphBuilder StateOutput(string name, GraphValue value)
    {
        _outputs.Add(new GraphOutput(name, value.Ref, null));
        return this;
    }

    public ModelGraph Build() => ModelGraph.Create(_name, _inputs, _modules, _nodes, _outputs);

    private GraphValue One(NodeOp op, string stem, params GraphValue[] operands) => Add(op, stem, operands)[0];

    private GraphValue[] Add(NodeOp op, string stem, GraphValue[] operands)
    {
        var id = NextId(stem);
        var spec = op is CallOp call ? _modules.First(m => m.Path == call.Module).Spec : null;
        var refs = operands.Select(o => o.Ref).ToEquatableArray();
        ModelGraph.CheckIndexOperands(id, op, spec, operands.Select(o => (o.Ref, Role(o))).ToList(), _positions.Contains);

        var shapes = ShapeInference.Infer(
            new GraphNode(id, op, refs, default),
            op is CallOp called && spec is not null ? new GraphModule(called.Module, spec) : null,
            operands.Select(o => o.Shape).ToList());
        _names.Add(id);
        _nodes.Add(new GraphNode(id, op, refs, shapes.ToEquatableArray()));
        return shapes.Select((s, i) => new GraphValue(new ValueRef(id, i), s)).ToArray();
    }

    /// <summary>A node id stem from a module path: '.' and any character an identifier cannot hold ("conv-0") become '_'.</summary>
    private static string Stem(string module)
    {
        var chars = module.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!(char.IsLetterOrDigit(chars[i]) || chars[i] == '_'))
            {
                chars[i] = '_';
            }
        }

        return chars.Length > 0 && char.IsDigit(chars[0]) ? "m_" + new string(chars) : new string(chars);
    }

    private string NextId(string stem)
    {
        if (!_names.Contains(stem))
        {
            return stem;
        }

        _counters.TryGetValue(stem, out var n);
        string id;
        do
        {
            n++;
            id = stem + "_" + n.ToString(CultureInfo.InvariantCulture);
        }
        while (_names.Contains(id));

        _counters[stem] = n;
        return id;
    }

    private void Claim(string name)
    {
        if (!_names.Add(name))
        {
            throw new GraphException($"name '{name}' is used twice; input and node names must be unique");
        }
    }

    private static int Axis(GraphValue x, int axis, string op, int extra = 0)
    {
        var rank = x.Shape.Rank + extra;
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new GraphException($"{op}: axis {axis} is out of range for operand '{x.Ref}' of shape {x.Shape}");
        }

        return a;
    }

    private static GraphValue First(GraphValue[] xs) => xs.Length > 0 ? xs[0] : throw new GraphException("concat/stack needs at least one operand");

    private static long LastConstant(GraphValue x, string module)
    {
        if (x.Shape.Rank == 0 || !x.Shape[x.Shape.Rank - 1].IsConstant)
        {
            throw new GraphException($"module '{module}': operand '{x.Ref}' has shape {x.Shape}; expected a constant last dimension");
        }

        return x.Shape[x.Shape.Rank - 1].Constant;
    }
}
