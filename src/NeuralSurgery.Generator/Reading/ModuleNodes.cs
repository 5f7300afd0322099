using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// A module as the constructor leaves it, before forward is read: the reader's internal tree (it holds symbols and
/// syntax, so it never leaves the reader). Paths are state_dict prefixes: field names (or ComponentName), joined
/// with '.', Sequential and ModuleList children by position or tuple name.
/// </summary>
internal abstract class ModuleNode
{
    protected ModuleNode(string path, SyntaxNode site)
    {
        Path = path;
        Site = site;
    }

    public string Path { get; }

    /// <summary>The factory call or object creation that makes the module.</summary>
    public SyntaxNode Site { get; }

    /// <summary>Kind used in messages (Linear, Sequential, or the user class name).</summary>
    public abstract string Kind { get; }
}

/// <summary>A layer with weights (Linear, Embedding, Conv1d, LSTM, GRU, LayerNorm, BatchNorm1d).</summary>
internal sealed class LayerNode : ModuleNode
{
    public LayerNode(string path, SyntaxNode site, string factory, LayerSpec spec, IReadOnlyDictionary<string, SyntaxNode> arguments)
        : base(path, site)
    {
        Factory = factory;
        Spec = spec;
        Arguments = arguments;
    }

    public string Factory { get; }

    public LayerSpec Spec { get; }

    /// <summary>Explicit arguments by TorchSharp parameter name (for NS1006's code-fix location).</summary>
    public IReadOnlyDictionary<string, SyntaxNode> Arguments { get; }

    public override string Kind => Factory;
}

internal enum FunctionKind
{
    Relu,
    Tanh,
    Sigmoid,
    Gelu,
    Identity,
    Dropout,
    Flatten,

    /// <summary>A parameter-free op fixed by the module's arguments (pooling, activations): <see cref="FunctionNode.Op"/>.</summary>
    Op,

    /// <summary>Softmax or LogSoftmax over <see cref="FunctionNode.StartDim"/>.</summary>
    Softmax,
    LogSoftmax,
}

/// <summary>A module without weights: activations, Identity, Dropout, Flatten.</summary>
internal sealed class FunctionNode : ModuleNode
{
    public FunctionNode(string path, SyntaxNode site, string factory, FunctionKind function, double p = 0, long startDim = 1, long endDim = -1, NodeOp? op = null)
        : base(path, site)
    {
        Op = op;
        Factory = factory;
        Function = function;
        P = p;
        StartDim = startDim;
        EndDim = endDim;
    }

    public string Factory { get; }

    public FunctionKind Function { get; }

    public double P { get; }

    public long StartDim { get; }

    public long EndDim { get; }

    /// <summary>The op of a <see cref="FunctionKind.Op"/> module.</summary>
    public NodeOp? Op { get; }

    public override string Kind => Factory;
}

/// <summary>Sequential (callable) or ModuleList (indexable, enumerable).</summary>
internal sealed class ContainerNode : ModuleNode
{
    public ContainerNode(string path, SyntaxNode site, bool isSequential, IReadOnlyList<ModuleNode> children)
        : base(path, site)
    {
        IsSequential = isSequential;
        Children = children;
    }

    public bool IsSequential { get; }

    public IReadOnlyList<ModuleNode> Children { get; }

    /// <summary>ModuleList or ModuleDict (both indexable, not callable); Sequential when <see cref="IsSequential"/>.</summary>
    public string ContainerKind { get; init; } = "ModuleList";

    public override string Kind => IsSequential ? "Sequential" : ContainerKind;
}

/// <summary>A user module class: its registered children, constants, and forward.</summary>
internal sealed class UserModuleNode : ModuleNode
{
    public UserModuleNode(string path, SyntaxNode site, INamedTypeSymbol type)
        : base(path, site)
    {
        Type = type;
    }

    public INamedTypeSymbol Type { get; }

    /// <summary>Module fields in registration order with what they hold (a <see cref="FailedNode"/> when unreadable).</summary>
    public Dictionary<IFieldSymbol, ModuleNode> Fields { get; } = new(SymbolEqualityComparer.Default);

    public List<ModuleNode> Children { get; } = [];

    /// <summary>
    /// Parameters and buffers held by the module itself (Parameter or Tensor fields, register_parameter/register_buffer),
    /// as layers of kind Tensor, in registration order; TorchSharp lists them before the children's.
    /// </summary>
    public List<LayerNode> Tensors { get; } = [];

    /// <summary>Tensor fields by field, for forward's reads of them.</summary>
    public Dictionary<IFieldSymbol, LayerNode> TensorFields { get; } = new(SymbolEqualityComparer.Default);

    /// <summary>Tensor fields assigned only after RegisterComponents() ran, which TorchSharp neither registers nor saves.</summary>
    public HashSet<IFieldSymbol> LateTensorFields { get; } = new(SymbolEqualityComparer.Default);

    /// <summary>Tensors by their registered name, for get_buffer/get_parameter.</summary>
    public Dictionary<string, LayerNode> NamedTensors { get; } = new(System.StringComparer.Ordinal);

    /// <summary>Constructor parameters and readonly fields with the values this instance was built with.</summary>
    public ConstScope Scope { get; set; } = new();

    public override string Kind => Type.Name;
}

/// <summary>
/// A module the reader could not read (already reported as an error), or a field left unassigned (reported when
/// forward uses it). Calls on it yield nothing further.
/// </summary>
internal sealed class FailedNode : ModuleNode
{
    public FailedNode(string path, SyntaxNode site, bool unassigned)
        : base(path, site)
    {
        Unassigned = unassigned;
    }

    public bool Unassigned { get; }

    public override string Kind => "module";
}

/// <summary>
/// torch.nn.MultiheadAttention (sequence first, as TorchSharp's native module is): its packed input projection and
/// its <c>out_proj</c> Linear. Forward builds the rest from graph ops the way PyTorch's multi_head_attention_forward
/// computes it: heads by reshape, scaled dot products, softmax over the keys, dropout on the weights.
/// </summary>
internal sealed class AttentionNode : ModuleNode
{
    public AttentionNode(string path, SyntaxNode site, LayerNode projection, LayerNode outProjection, double dropout)
        : base(path, site)
    {
        Projection = projection;
        OutProjection = outProjection;
        Dropout = dropout;
    }

    /// <summary>The packed q/k/v projection (in_proj_weight, in_proj_bias), at this module's own path.</summary>
    public LayerNode Projection { get; }

    public LayerNode OutProjection { get; }

    public AttentionProjectionSpec Spec => (AttentionProjectionSpec)Projection.Spec;

    public double Dropout { get; }

    public override string Kind => "MultiheadAttention";
}

/// <summary>
/// torch.nn.TransformerEncoderLayer as TorchSharp builds it (libtorch's post-norm layer):
/// <c>x = norm1(x + dropout1(self_attn(x, x, x, mask)))</c>, then
/// <c>norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))</c>.
/// </summary>
internal sealed class EncoderLayerNode : ModuleNode
{
    public EncoderLayerNode(string path, SyntaxNode site, AttentionNode attention, LayerNode linear1, LayerNode linear2, LayerNode norm1, LayerNode norm2, ActivationKind activation, double dropout)
        : base(path, site)
    {
        Attention = attention;
        Linear1 = linear1;
        Linear2 = linear2;
        Norm1 = norm1;
        Norm2 = norm2;
        Activation = activation;
        Dropout = dropout;
    }

    public AttentionNode Attention { get; }

    public LayerNode Linear1 { get; }

    public LayerNode Linear2 { get; }

    public LayerNode Norm1 { get; }

    public LayerNode Norm2 { get; }

    public ActivationKind Activation { get; }

    public double Dropout { get; }

    public override string Kind => "TransformerEncoderLayer";
}

/// <summary>torch.nn.TransformerEncoder: <c>num_layers</c> copies of a layer under <c>layers.i</c>, called in turn with the same mask.</summary>
internal sealed class EncoderNode : ModuleNode
{
    public EncoderNode(string path, SyntaxNode site, IReadOnlyList<EncoderLayerNode> layers)
        : base(path, site)
    {
        Layers = layers;
    }

    public IReadOnlyList<EncoderLayerNode> Layers { get; }

    public override string Kind => "TransformerEncoder";
}
