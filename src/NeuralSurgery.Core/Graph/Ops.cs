using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>What a node computes. Axes are stored normalised (non-negative) by the builder.</summary>
public abstract record NodeOp
{
    /// <summary>Short kind name used in messages and JSON.</summary>
    public abstract string Kind { get; }
}

/// <summary>A call of a module with weights; LSTM/GRU calls take optional initial states and return tuples.</summary>
public sealed record CallOp(string Module) : NodeOp
{
    public override string Kind => "call";
}

public enum ActivationKind
{
    Identity,
    Relu,
    Tanh,
    Sigmoid,
    Gelu,
    Silu,
    Elu,
    LeakyRelu,
    Softplus,
}

/// <summary>An elementwise function of one operand: carries the operand's sets unchanged (Table 1).</summary>
public sealed record ActivationOp(ActivationKind Activation) : NodeOp
{
    public override string Kind => "activation";
}

/// <summary>Softmax or log-softmax along one axis: every output element depends on the whole axis.</summary>
public sealed record SoftmaxOp(int Axis, bool Log) : NodeOp
{
    public override string Kind => Log ? "log_softmax" : "softmax";
}

public sealed record DropoutOp(double P) : NodeOp
{
    public override string Kind => "dropout";
}

public enum BinaryKind
{
    Add,
    Sub,
    Mul,
}

/// <summary>Elementwise binary op with PyTorch broadcasting.</summary>
public sealed record BinaryOp(BinaryKind Operation) : NodeOp
{
    public override string Kind => Operation switch
    {
        BinaryKind.Add => "add",
        BinaryKind.Sub => "sub",
        _ => "mul",
    };
}

public sealed record ConcatOp(int Axis) : NodeOp
{
    public override string Kind => "concat";
}

public sealed record StackOp(int Axis) : NodeOp
{
    public override string Kind => "stack";
}

public enum ReduceKind
{
    Max,
    Mean,
    Sum,
}

public sealed record ReduceOp(ReduceKind Reduction, int Axis, bool KeepDim) : NodeOp
{
    public override string Kind => Reduction switch
    {
        ReduceKind.Max => "max",
        ReduceKind.Mean => "mean",
        _ => "sum",
    };
}

/// <summary>view/reshape; one target dimension may be the constant -1 (inferred).</summary>
public sealed record ReshapeOp(EquatableArray<Dim> Target) : NodeOp
{
    public override string Kind => "reshape";
}

public sealed record FlattenOp(int StartAxis, int EndAxis) : NodeOp
{
    public override string Kind => "flatten";
}

public sealed record UnsqueezeOp(int Axis) : NodeOp
{
    public override string Kind => "unsqueeze";
}

public sealed record SqueezeOp(int Axis) : NodeOp
{
    public override string Kind => "squeeze";
}

public sealed record NarrowOp(int Axis, long Start, long Length) : NodeOp
{
    public override string Kind => "narrow";
}

/// <summary>Slicing <c>x[..., start:end:step]</c> along one axis.</summary>
public sealed record SliceOp(int Axis, long Start, long End, long Step) : NodeOp
{
    public override string Kind => "slice";
}

public sealed record TransposeOp(int Axis0, int Axis1) : NodeOp
{
    public override string Kind => "transpose";
}
