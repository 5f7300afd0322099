using System;
using System.Collections.Generic;
using System.Globalization;

namespace NeuralSurgery.Graph;

/// <summary>One node as an interpreter sees it: the node, the module it calls (if any) and its operand values.</summary>
public readonly struct NodeArgs<TValue>
{
    public NodeArgs(GraphNode node, GraphModule? module, IReadOnlyList<TValue> operands)
    {
        Node = node;
        Module = module;
        Operands = operands;
    }

    public GraphNode Node { get; }

    /// <summary>The called module of a <see cref="CallOp"/>; null for other ops.</summary>
    public GraphModule? Module { get; }

    public IReadOnlyList<TValue> Operands { get; }

    /// <summary>Shorthand for <c>Operands[0]</c>.</summary>
    public TValue X => Operands[0];

    /// <summary>The module path of a call ("" for other ops).</summary>
    public string Path => Module?.Path ?? string.Empty;

    /// <summary>"node 'n3' (Linear 'fc')" or "node 'n4' (concat)", the prefix of every message about the node.</summary>
    public string Where => GraphInterpreter.Describe(Node, Module);

    public GraphException Error(string message) => new($"{Where}: {message}");

    /// <summary>Throws unless the node has between <paramref name="min"/> and <paramref name="max"/> operands.</summary>
    public void Arity(int min, int max)
    {
        if (Operands.Count < min || Operands.Count > max)
        {
            var expected = min == max
                ? min.ToString(CultureInfo.InvariantCulture)
                : max == int.MaxValue ? "at least " + min.ToString(CultureInfo.InvariantCulture) : $"{min} to {max}";
            throw Error($"has {Operands.Count} operands; expected {expected}");
        }
    }
}

/// <summary>Helpers shared by every <see cref="GraphInterpreter{TValue}"/>.</summary>
public static class GraphInterpreter
{
    public static string Describe(GraphNode node, GraphModule? module) =>
        module is null ? $"node '{node.Id}' ({node.Op.Kind})" : $"node '{node.Id}' ({module.Spec.Kind} '{module.Path}')";
}

/// <summary>
/// The graph walk, value environment and error context of the IR, written once in the manner of torch.fx's
/// <c>Interpreter</c> (STYLE.md 13): shape inference, the structured and reference tracers and the reference
/// executor give the same graph other semantics by implementing one method per op and layer kind. A module call
/// dispatches to the layer's method with the module in <see cref="NodeArgs{TValue}.Module"/>.
/// </summary>
public abstract class GraphInterpreter<TValue>
    : IOpVisitor<NodeArgs<TValue>, IReadOnlyList<TValue>>, ILayerVisitor<NodeArgs<TValue>, IReadOnlyList<TValue>>
{
    private readonly Dictionary<ValueRef, TValue> _values = new();

    /// <summary>Every value computed so far, by reference (inputs under their name, node outputs by index).</summary>
    public IReadOnlyDictionary<ValueRef, TValue> Values => _values;

    /// <summary>Binds a graph input before <see cref="Run"/>.</summary>
    protected void SetInput(string name, TValue value) => _values[new ValueRef(name)] = value;

    /// <summary>
    /// Evaluates <paramref name="nodes"/> in order: looks up operands, resolves the called module, dispatches to
    /// the op's method, lets <see cref="Completed"/> check the outputs and stores them.
    /// </summary>
    protected void Run(IEnumerable<GraphNode> nodes, Func<string, GraphModule?> modules)
    {
        foreach (var node in nodes)
        {
            GraphModule? module = null;
            if (node.Op is CallOp call)
            {
                module = modules(call.Module) ?? throw new GraphException($"node '{node.Id}' calls module '{call.Module}', which is not declared");
            }

            var operands = new TValue[node.Operands.Count];
            for (var i = 0; i < operands.Length; i++)
            {
                if (!_values.TryGetValue(node.Operands[i], out var value))
                {
                    throw new GraphException($"{GraphInterpreter.Describe(node, module)}: operand '{node.Operands[i]}' refers to no input or earlier node output");
                }

                operands[i] = value;
            }

            var args = new NodeArgs<TValue>(node, module, operands);
            var outputs = Evaluate(args);
            Completed(args, outputs);
            for (var i = 0; i < outputs.Count; i++)
            {
                _values[new ValueRef(node.Id, i)] = outputs[i];
            }
        }
    }

    /// <summary>Evaluates one node (the dispatch <see cref="Run"/> uses).</summary>
    public IReadOnlyList<TValue> Evaluate(NodeArgs<TValue> args) => args.Node.Op.Accept(this, args);

    /// <summary>Checks a node's outputs after evaluation; by default, that there is one per declared output shape.</summary>
    protected virtual void Completed(NodeArgs<TValue> args, IReadOnlyList<TValue> outputs)
    {
        if (args.Node.OutputShapes.Count > 0 && outputs.Count != args.Node.OutputShapes.Count)
        {
            throw args.Error($"evaluated {outputs.Count} outputs but the node declares {args.Node.OutputShapes.Count}");
        }
    }

    public IReadOnlyList<TValue> VisitCall(CallOp op, NodeArgs<TValue> args) =>
        (args.Module ?? throw args.Error($"module '{op.Module}' is not declared")).Spec.Accept(this, args);

    public abstract IReadOnlyList<TValue> VisitActivation(ActivationOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitSoftmax(SoftmaxOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitDropout(DropoutOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitBinary(BinaryOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitConcat(ConcatOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitStack(StackOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitReduce(ReduceOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitReshape(ReshapeOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitFlatten(FlattenOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitUnsqueeze(UnsqueezeOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitSqueeze(SqueezeOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitNarrow(NarrowOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitSlice(SliceOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitTranspose(TransposeOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitLinear(LinearSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitEmbedding(EmbeddingSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitConv1d(Conv1dSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitRecurrent(RecurrentSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitLayerNorm(LayerNormSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitBatchNorm1d(BatchNorm1dSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitBatchNorm2d(BatchNorm2dSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitGroupNorm(GroupNormSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitConv2d(Conv2dSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitAttentionProjection(AttentionProjectionSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitConvTranspose(ConvTransposeSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitTensor(TensorSpec spec, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitPool(PoolOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitAdaptivePool(AdaptivePoolOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitMatMul(MatMulOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitPermute(PermuteOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitScale(ScaleOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitFill(FillOp op, NodeArgs<TValue> args);

    public abstract IReadOnlyList<TValue> VisitArange(ArangeOp op, NodeArgs<TValue> args);
}
