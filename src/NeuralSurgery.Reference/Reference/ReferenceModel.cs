using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference.Layers;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// Runs a <see cref="ModelGraph"/> on the CPU in float32: forward and backward of every op and layer of the IR,
/// with weights held by state_dict name (DESIGN.md section 9, reference executor). It exists to verify surgery
/// (paper 001 eq. 1), to compute gradient maps (paper 001 section 2.3.1) and to run tuning end to end;
/// TorchSharp stays the production trainer.
/// </summary>
/// <remarks>
/// <para>Symbolic dimensions (B, N, ...) are bound from the shapes of the inputs of each call. Categorical inputs
/// hold integer indices stored as floats.</para>
/// <para><see cref="Training"/> is false (eval mode) until set: Dropout is the identity and BatchNorm uses its
/// running statistics. In train mode Dropout draws a mask from <see cref="DropoutSeed"/> and a pass counter, and
/// BatchNorm normalises with batch statistics and updates its running statistics.</para>
/// <para>Not thread-safe: one pass at a time per model; kernels parallelise inside.</para>
/// </remarks>
public sealed class ReferenceModel
{
    private readonly NodeKernel[] _kernels;
    private readonly int[][] _operandSlots;
    private readonly int[][] _outputSlots;
    private readonly int[] _graphOutputSlots;
    private readonly Dictionary<ValueRef, int> _slots = [];
    private readonly int _slotCount;
    private readonly OrderedDictionary<string, Tensor> _parameters = new(StringComparer.Ordinal);
    private readonly OrderedDictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StrongBox<long>> _counters = new(StringComparer.Ordinal);

    private ReferenceModel(ModelGraph graph)
    {
        Graph = graph;
        foreach (var p in graph.Parameters)
        {
            if (p.Role == ParameterRole.NumBatchesTracked)
            {
                _counters.Add(p.Name, new StrongBox<long>(0));
                continue;
            }

            var dims = p.Shape.Dims.Select(d => d.Value).ToArray();
            if (dims.Any(d => d > int.MaxValue) || dims.Aggregate(1.0, (a, d) => a * d) > Array.MaxLength)
            {
                // A graph read from a file can declare any size; say which tensor rather than overflow.
                throw new ReferenceExecutionException($"Graph '{graph.Name}': tensor '{p.Name}' has shape {Describe(dims)}, more elements than one tensor of the reference executor holds ({Array.MaxLength}).");
            }

            var t = Tensor.Zeros(dims.Select(d => (int)d).ToArray());
            (p.IsBuffer ? _buffers : _parameters).Add(p.Name, t);
        }

        var slot = 0;
        foreach (var input in graph.Inputs)
        {
            _slots[new ValueRef(input.Name)] = slot++;
        }

        _kernels = new NodeKernel[graph.Nodes.Count];
        _operandSlots = new int[graph.Nodes.Count][];
        _outputSlots = new int[graph.Nodes.Count][];
        for (var n = 0; n < graph.Nodes.Count; n++)
        {
            var node = graph.Nodes[n];
            _operandSlots[n] = node.Operands.Select(o => _slots[o]).ToArray();
            _outputSlots[n] = new int[node.OutputShapes.Count];
            for (var i = 0; i < node.OutputShapes.Count; i++)
            {
                _slots[new ValueRef(node.Id, i)] = slot;
                _outputSlots[n][i] = slot++;
            }

            _kernels[n] = CreateKernel(node);
        }

        _slotCount = slot;
        _graphOutputSlots = graph.Outputs.Select(o => _slots[o.Value]).ToArray();
    }

    public ModelGraph Graph { get; }

    /// <summary>Trainable parameters by state_dict name, in state_dict order. Optimisers update these tensors in place.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => _parameters;

    /// <summary>Float buffers (BatchNorm running_mean and running_var) by state_dict name.</summary>
    public IReadOnlyDictionary<string, Tensor> Buffers => _buffers;

    /// <summary>num_batches_tracked of each BatchNorm that tracks running statistics, by state_dict name.</summary>
    public IReadOnlyDictionary<string, long> BatchesTracked => _counters.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);

    /// <summary>Train mode (batch statistics, dropout) or eval mode (the default).</summary>
    public bool Training { get; set; }

    /// <summary>Seed of the dropout masks; with <see cref="DropoutStep"/> it fixes every mask of a run.</summary>
    public int DropoutSeed { get; set; }

    /// <summary>Counter mixed with <see cref="DropoutSeed"/> into each pass's masks; advances by one per train-mode forward.</summary>
    public long DropoutStep { get; set; }

    /// <summary>A model with the weights of <paramref name="weights"/> (a <see cref="StateDict"/> or an open checkpoint).</summary>
    /// <exception cref="ReferenceExecutionException">A tensor is missing, has another shape or a non-numeric dtype.</exception>
    public static ReferenceModel Load(ModelGraph graph, ITensorSource weights)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(weights);

        // Checked before the model is allocated: a graph that does not fit its checkpoint is reported as such even
        // when its own sizes could not be allocated.
        ThrowIfMisfit(graph, weights);
        var model = new ReferenceModel(graph);
        model.LoadWeights(weights);
        return model;
    }

    /// <summary>A model with freshly initialised weights (PyTorch's defaults unless <paramref name="options"/> says otherwise).</summary>
    public static ReferenceModel Initialize(ModelGraph graph, int seed, InitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var model = new ReferenceModel(graph);
        Initializer.Apply(model, graph, seed, options ?? InitOptions.PyTorchDefault);
        return model;
    }

    /// <summary>Copies every parameter and buffer of the graph from <paramref name="weights"/>, converting float16, bfloat16 and float64 to float32.</summary>
    public void LoadWeights(ITensorSource weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ThrowIfMisfit(Graph, weights);
        foreach (var p in Graph.Parameters)
        {
            var info = weights.Find(p.Name)!;
            var bytes = weights.ReadAll(info);
            if (p.Role == ParameterRole.NumBatchesTracked)
            {
                _counters[p.Name].Value = WeightConversion.ReadCount(bytes, info.DType);
            }
            else
            {
                WeightConversion.ToFloat32(bytes, info.DType, (_parameters.TryGetValue(p.Name, out var t) ? t : _buffers[p.Name]).Data);
            }
        }
    }

    private static void ThrowIfMisfit(ModelGraph graph, ITensorSource weights)
    {
        var problems = new List<string>();
        foreach (var p in graph.Parameters)
        {
            var info = weights.Find(p.Name);
            var expected = p.Shape.Dims.Select(d => d.Value).ToArray();
            var what = $"({graph.FindModule(p.Module)!.Spec.Kind} '{p.Module}')";
            if (info is null)
            {
                problems.Add($"tensor '{p.Name}' is missing from the weights; expected {p.Declaration.DType}{Describe(expected)} {what}");
            }
            else if (!info.Shape.SequenceEqual(expected))
            {
                problems.Add($"tensor '{p.Name}' has shape {Describe(info.Shape.ToArray())}; expected {Describe(expected)} {what}");
            }
            else if (info.DType == DType.Bool || (!info.DType.IsFloatingPoint() && p.Role != ParameterRole.NumBatchesTracked))
            {
                problems.Add($"tensor '{p.Name}' has dtype {info.DType.IrName()}; expected a floating-point dtype (float32, float64, float16 or bfloat16) {what}");
            }
        }

        if (problems.Count > 0)
        {
            throw new ReferenceExecutionException($"Weights for graph '{graph.Name}' do not fit: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The weights as a state dict in state_dict order: float32 parameters and buffers, num_batches_tracked as int64.</summary>
    public StateDict ToStateDict()
    {
        var dict = new StateDict();
        foreach (var p in Graph.Parameters)
        {
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            if (_counters.TryGetValue(p.Name, out var count))
            {
                dict.Add(p.Name, [count.Value], shape);
            }
            else
            {
                var t = _parameters.TryGetValue(p.Name, out var param) ? param : _buffers[p.Name];
                dict.Add(p.Name, (float[])t.Data.Clone(), shape);
            }
        }

        return dict;
    }

    /// <summary>Runs the graph on <paramref name="inputs"/> (by graph input name) and keeps what backward needs.</summary>
    /// <exception cref="ReferenceExecutionException">An input is missing, unknown or of a shape the graph does not accept.</exception>
    public ForwardPass Forward(IReadOnlyDictionary<string, Tensor> inputs) => ForwardCore(inputs, absentIndices: false, maxAsMean: false, mirrorNorms: false);

    internal ForwardPass ForwardCore(IReadOnlyDictionary<string, Tensor> inputs, bool absentIndices, bool maxAsMean, bool mirrorNorms)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var symbols = SymbolBinder.Bind(Graph, inputs);
        var values = new Tensor[_slotCount];
        for (var i = 0; i < Graph.Inputs.Count; i++)
        {
            values[i] = inputs[Graph.Inputs[i].Name];
        }

        var ctx = new KernelContext(Training, symbols, Seeds.Mix64((ulong)(uint)DropoutSeed, (ulong)DropoutStep))
        {
            AbsentIndices = absentIndices,
            MaxAsMean = maxAsMean,
            MirrorNorms = mirrorNorms,
        };
        if (Training)
        {
            DropoutStep++;
        }

        var saved = new object?[_kernels.Length];
        for (var n = 0; n < _kernels.Length; n++)
        {
            ctx.NodeIndex = n;
            var kernel = _kernels[n];
            var x = Array.ConvertAll(_operandSlots[n], s => values[s]);
            var y = kernel.Forward(x, ctx, out saved[n]);
            for (var i = 0; i < y.Length; i++)
            {
                var expected = ctx.Evaluate(kernel.Node.OutputShapes[i]);
                if (!y[i].HasShape(expected))
                {
                    throw new ReferenceExecutionException($"{kernel.Where}: output {i} has shape {y[i].ShapeString}; the graph expects {Tensor.Describe(expected)} ({kernel.Node.OutputShapes[i]} with {DescribeSymbols(symbols)})");
                }

                values[_outputSlots[n][i]] = y[i];
            }
        }

        var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < Graph.Outputs.Count; i++)
        {
            outputs[Graph.Outputs[i].Name] = values[_graphOutputSlots[i]];
        }

        return new ForwardPass(this, values, saved, _slots, outputs, symbols, Training, ctx);
    }

    /// <summary>
    /// Backpropagates <paramref name="outputGradients"/> (d loss / d output, by output name; outputs left out
    /// count as zero) through <paramref name="pass"/>.
    /// </summary>
    public Gradients Backward(ForwardPass pass, IReadOnlyDictionary<string, Tensor> outputGradients)
    {
        ArgumentNullException.ThrowIfNull(pass);
        ArgumentNullException.ThrowIfNull(outputGradients);
        if (!ReferenceEquals(pass.Model, this))
        {
            throw new ArgumentException($"The forward pass belongs to another model than this one of graph '{Graph.Name}'.", nameof(pass));
        }

        if (pass.Consumed)
        {
            throw new InvalidOperationException("This forward pass was already backpropagated; run Forward again.");
        }

        pass.Consumed = true;
        var grads = new Tensor?[_slotCount];
        foreach (var (name, g) in outputGradients)
        {
            var index = IndexOfOutput(name);
            var value = pass.Outputs[name];
            if (!g.SameShape(value))
            {
                throw new ReferenceExecutionException($"gradient of output '{name}' has shape {g.ShapeString}; expected {value.ShapeString}, the output's shape");
            }

            Accumulate(grads, _graphOutputSlots[index], g);
        }

        var sink = new GradientSink();
        var ctx = pass.Context;
        ctx.Gradients = sink;
        for (var n = _kernels.Length - 1; n >= 0; n--)
        {
            var dy = Array.ConvertAll(_outputSlots[n], s => grads[s]);
            if (Array.TrueForAll(dy, g => g is null))
            {
                continue;
            }

            ctx.NodeIndex = n;
            var x = Array.ConvertAll(_operandSlots[n], s => pass.Values[s]);
            var y = Array.ConvertAll(_outputSlots[n], s => pass.Values[s]);
            var dx = _kernels[n].Backward(x, y, dy, pass.Saved[n], ctx);
            for (var i = 0; i < dx.Length; i++)
            {
                if (dx[i] is { } d)
                {
                    Accumulate(grads, _operandSlots[n][i], d);
                }
            }
        }

        ctx.Gradients = null;
        var parameters = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in _parameters)
        {
            parameters.Add(name, sink.Grads.TryGetValue(name, out var g) ? g : Tensor.Zeros(p.ShapeArray()));
        }

        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < Graph.Inputs.Count; i++)
        {
            if (Graph.Inputs[i].Role is not (InputRole.Categorical or InputRole.Offsets))
            {
                inputs[Graph.Inputs[i].Name] = grads[i] ?? Tensor.Zeros(pass.Values[i].ShapeArray());
            }
        }

        return new Gradients(parameters, inputs);
    }

    /// <summary>The tensor of a parameter or float buffer by state_dict name.</summary>
    public Tensor GetTensor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _parameters.TryGetValue(name, out var t) || _buffers.TryGetValue(name, out t)
            ? t
            : throw new KeyNotFoundException($"Graph '{Graph.Name}' has no parameter or float buffer named '{name}'.");
    }

    internal void SetCounter(string name, long value) => _counters[name].Value = value;

    private int IndexOfOutput(string name)
    {
        for (var i = 0; i < Graph.Outputs.Count; i++)
        {
            if (Graph.Outputs[i].Name == name)
            {
                return i;
            }
        }

        throw new ReferenceExecutionException($"gradient given for output '{name}', which graph '{Graph.Name}' does not have; its outputs are {string.Join(", ", Graph.Outputs.Select(o => o.Name))}");
    }

    private static void Accumulate(Tensor?[] grads, int slot, Tensor g)
    {
        if (grads[slot] is not { } existing)
        {
            grads[slot] = g;
            return;
        }

        // A new tensor rather than in place: the existing gradient may share data with a view or an input.
        var sum = Tensor.Zeros(existing.ShapeArray());
        TensorPrimitives.Add(existing.Data, g.Data, sum.Data);
        grads[slot] = sum;
    }

    private NodeKernel CreateKernel(GraphNode node)
    {
        GraphModule? module = null;
        if (node.Op is CallOp call)
        {
            module = Graph.FindModule(call.Module)!;
        }

        return node.Op.Accept(new KernelFactory(this), (node, module, GraphInterpreter.Describe(node, module)));
    }

    /// <summary>The reference kernel of each op and layer kind; a kind without one is a compile error.</summary>
    private sealed class KernelFactory(ReferenceModel model)
        : IOpVisitor<(GraphNode Node, GraphModule? Module, string Where), NodeKernel>,
          ILayerVisitor<(GraphNode Node, GraphModule? Module, string Where), NodeKernel>
    {
        private ModuleWeights Weights((GraphNode Node, GraphModule? Module, string Where) a) => new(a.Module!.Path, model.GetTensor);

        public NodeKernel VisitCall(CallOp op, (GraphNode Node, GraphModule? Module, string Where) a) => a.Module!.Spec.Accept(this, a);

        public NodeKernel VisitLinear(LinearSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new LinearKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitEmbedding(EmbeddingSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) =>
            spec.Bag is null ? new EmbeddingKernel(a.Node, a.Where, spec, Weights(a)) : new EmbeddingBagKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitConv1d(Conv1dSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new Conv1dKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitRecurrent(RecurrentSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new RecurrentKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitLayerNorm(LayerNormSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new LayerNormKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitBatchNorm1d(BatchNorm1dSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => BatchNorm(spec, a);

        public NodeKernel VisitBatchNorm2d(BatchNorm2dSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => BatchNorm(spec, a);

        public NodeKernel VisitGroupNorm(GroupNormSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new GroupNormKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitConv2d(Conv2dSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new Conv2dKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitConvTranspose(ConvTransposeSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new ConvTransposeKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitAttentionProjection(AttentionProjectionSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new AttentionProjectionKernel(a.Node, a.Where, spec, Weights(a));

        public NodeKernel VisitPool(PoolOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new PoolKernel(a.Node, a.Where, op);

        public NodeKernel VisitTensor(TensorSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) => new TensorKernel(a.Node, a.Where, a.Module!.Path, spec.IsBuffer, model.GetTensor);

        public NodeKernel VisitArange(ArangeOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ArangeKernel(a.Node, a.Where, op.Start);

        public NodeKernel VisitFill(FillOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new FillKernel(a.Node, a.Where, (float)op.Value);

        public NodeKernel VisitScale(ScaleOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ScaleKernel(a.Node, a.Where, (float)op.Factor, (float)op.Offset);

        public NodeKernel VisitMatMul(MatMulOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new MatMulKernel(a.Node, a.Where);

        public NodeKernel VisitPermute(PermuteOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new PermuteKernel(a.Node, a.Where, op);

        public NodeKernel VisitAdaptivePool(AdaptivePoolOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new PoolKernel(a.Node, a.Where, op);

        private NodeKernel BatchNorm(BatchNormSpec spec, (GraphNode Node, GraphModule? Module, string Where) a) =>
            new BatchNormKernel(a.Node, a.Where, spec, Weights(a), model._counters.GetValueOrDefault(a.Module!.Path + ".num_batches_tracked"));

        public NodeKernel VisitActivation(ActivationOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ActivationKernel(a.Node, a.Where, op.Activation);

        public NodeKernel VisitDropout(DropoutOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new DropoutKernel(a.Node, a.Where, op.P);

        public NodeKernel VisitSoftmax(SoftmaxOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new SoftmaxKernel(a.Node, a.Where, op);

        public NodeKernel VisitBinary(BinaryOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new BinaryKernel(a.Node, a.Where, op.Operation);

        public NodeKernel VisitConcat(ConcatOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ConcatKernel(a.Node, a.Where, op.Axis, stack: false);

        public NodeKernel VisitStack(StackOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ConcatKernel(a.Node, a.Where, op.Axis, stack: true);

        public NodeKernel VisitReduce(ReduceOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ReduceKernel(a.Node, a.Where, op);

        public NodeKernel VisitReshape(ReshapeOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ViewKernel(a.Node, a.Where);

        public NodeKernel VisitFlatten(FlattenOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ViewKernel(a.Node, a.Where);

        public NodeKernel VisitUnsqueeze(UnsqueezeOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ViewKernel(a.Node, a.Where);

        public NodeKernel VisitSqueeze(SqueezeOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new ViewKernel(a.Node, a.Where);

        public NodeKernel VisitNarrow(NarrowOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new SliceKernel(a.Node, a.Where, op.Axis, op.Start, op.Length, 1);

        public NodeKernel VisitSlice(SliceOp op, (GraphNode Node, GraphModule? Module, string Where) a) =>
            new SliceKernel(a.Node, a.Where, op.Axis, op.Start, ((op.End - op.Start) + op.Step - 1) / op.Step, op.Step);

        public NodeKernel VisitTranspose(TransposeOp op, (GraphNode Node, GraphModule? Module, string Where) a) => new TransposeKernel(a.Node, a.Where, op.Axis0, op.Axis1);
    }

    private static string Describe(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string DescribeSymbols(IReadOnlyDictionary<string, long> symbols) =>
        symbols.Count == 0 ? "no symbols" : string.Join(", ", symbols.Select(kv => $"{kv.Key} = {kv.Value}"));
}
