using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>What a node computes. Axes are stored normalised (non-negative) by the builder.</summary>
public abstract record NodeOp
{
    /// <summary>Short kind name used in messages and JSON.</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// The axis whose indices every output element combines (reductions, softmax), or -1: new indices there change
    /// outputs even behind zero columns, which the differ reports.
    /// </summary>
    public virtual int CombinedAxis => -1;

    /// <summary>Double dispatch to the visitor's method for this op kind.</summary>
    public abstract TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg);
}

/// <summary>A call of a module with weights; LSTM/GRU calls take optional initial states and return tuples.</summary>
public sealed record CallOp(string Module) : NodeOp
{
    public override string Kind => "call";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitCall(this, arg);
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

    // Elementwise functions defined for every real (sin and -x in SIRENs and residual code); the ones with a
    // restricted domain (sqrt, log, reciprocal) stay NS1002 fallbacks.
    Exp,
    Abs,
    Neg,
    Square,
    Sin,
    Cos,

    // Elementwise functions of positive arguments (x / sqrt(var + eps), RMSNorm's rsqrt(mean(x²) + eps), log of a
    // softplus): the mirror's rule is every elementwise function's; the executors compute them exactly, NaN where the
    // model itself would.
    Sqrt,
    Rsqrt,
    Log,
}

/// <summary>An elementwise function of one operand: carries the operand's sets unchanged (Table 1).</summary>
public sealed record ActivationOp(ActivationKind Activation) : NodeOp
{
    public override string Kind => "activation";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitActivation(this, arg);
}

/// <summary>Softmax or log-softmax along one axis: every output element depends on the whole axis.</summary>
public sealed record SoftmaxOp(int Axis, bool Log) : NodeOp
{
    public override string Kind => Log ? "log_softmax" : "softmax";

    public override int CombinedAxis => Axis;

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitSoftmax(this, arg);
}

public sealed record DropoutOp(double P) : NodeOp
{
    public override string Kind => "dropout";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitDropout(this, arg);
}

public enum BinaryKind
{
    Add,
    Sub,
    Mul,

    /// <summary>x / y: the feature sets of x * y (paper 001 Table 1); a normalisation divides by a positive statistic.</summary>
    Div,
}

/// <summary>Elementwise binary op with PyTorch broadcasting.</summary>
public sealed record BinaryOp(BinaryKind Operation) : NodeOp
{
    public override string Kind => Operation switch
    {
        BinaryKind.Add => "add",
        BinaryKind.Sub => "sub",
        BinaryKind.Mul => "mul",
        _ => "div",
    };

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitBinary(this, arg);
}

public sealed record ConcatOp(int Axis) : NodeOp
{
    public override string Kind => "concat";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitConcat(this, arg);
}

public sealed record StackOp(int Axis) : NodeOp
{
    public override string Kind => "stack";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitStack(this, arg);
}

public enum ReduceKind
{
    Max,
    Mean,
    Sum,
}

public sealed record ReduceOp(ReduceKind Reduction, int Axis, bool KeepDim) : NodeOp
{
    public override int CombinedAxis => Axis;

    public override string Kind => Reduction switch
    {
        ReduceKind.Max => "max",
        ReduceKind.Mean => "mean",
        _ => "sum",
    };

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitReduce(this, arg);
}

/// <summary>view/reshape; one target dimension may be the constant -1 (inferred).</summary>
public sealed record ReshapeOp(EquatableArray<Dim> Target) : NodeOp
{
    public override string Kind => "reshape";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitReshape(this, arg);
}

public sealed record FlattenOp(int StartAxis, int EndAxis) : NodeOp
{
    public override string Kind => "flatten";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitFlatten(this, arg);
}

public sealed record UnsqueezeOp(int Axis) : NodeOp
{
    public override string Kind => "unsqueeze";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitUnsqueeze(this, arg);
}

public sealed record SqueezeOp(int Axis) : NodeOp
{
    public override string Kind => "squeeze";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitSqueeze(this, arg);
}

/// <summary>
/// <c>x.narrow(axis, start, length)</c>; the length may be a size known only at run time (<c>table[:T]</c> with T a
/// sequence length), then the operand's axis must hold it when the model runs.
/// </summary>
public sealed record NarrowOp(int Axis, long Start, Dim Length) : NodeOp
{
    public override string Kind => "narrow";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitNarrow(this, arg);
}

/// <summary>Slicing <c>x[..., start:end:step]</c> along one axis.</summary>
public sealed record SliceOp(int Axis, long Start, long End, long Step) : NodeOp
{
    public override string Kind => "slice";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitSlice(this, arg);
}

public sealed record TransposeOp(int Axis0, int Axis1) : NodeOp
{
    public override string Kind => "transpose";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitTranspose(this, arg);
}

public enum PoolKind
{
    Max,
    Avg,
}

/// <summary>
/// Max or average pooling over the last <c>Kernel.Count</c> axes (1-D or 2-D), each window within one channel: it
/// mixes positions, never channels. Avg pooling counts padded zeros (PyTorch's count_include_pad default).
/// </summary>
public sealed record PoolOp(PoolKind Pool, EquatableArray<long> Kernel, EquatableArray<long> Stride, EquatableArray<long> Padding, EquatableArray<long> Dilation) : NodeOp
{
    public override string Kind => (Pool == PoolKind.Max ? "max_pool" : "avg_pool") + Kernel.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d";

    public int Dimensions => Kernel.Count;

    public Window Window(int axis, long o) => new((o * Stride[axis]) - Padding[axis], Kernel[axis], Dilation[axis]);

    public long OutputLength(int axis, long length) => Windows.OutputLength(length, Kernel[axis], Stride[axis], Padding[axis], Dilation[axis]);

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitPool(this, arg);
}

/// <summary>Adaptive max or average pooling of the last <c>Output.Count</c> axes to the given sizes.</summary>
public sealed record AdaptivePoolOp(PoolKind Pool, EquatableArray<long> Output) : NodeOp
{
    public override string Kind => (Pool == PoolKind.Max ? "adaptive_max_pool" : "adaptive_avg_pool") + Output.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d";

    public int Dimensions => Output.Count;

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitAdaptivePool(this, arg);
}

/// <summary>
/// torch.matmul of two tensors of rank ≥ 2: <c>[..., n, m] @ [..., m, p] → [..., n, p]</c>, batch axes broadcast.
/// Every output element reads a whole row of the left operand and a whole column of the right one.
/// </summary>
public sealed record MatMulOp : NodeOp
{
    public override string Kind => "matmul";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitMatMul(this, arg);
}

/// <summary>permute: output axis i is input axis <c>Dims[i]</c> (a permutation of all axes).</summary>
public sealed record PermuteOp(EquatableArray<int> Dims) : NodeOp
{
    public override string Kind => "permute";

    /// <summary>The permutation as a sequence of axis swaps (each a transpose), applied in order.</summary>
    public IReadOnlyList<(int A, int B)> Swaps()
    {
        var current = Enumerable.Range(0, Dims.Count).ToArray();
        var swaps = new List<(int, int)>();
        for (var i = 0; i < current.Length; i++)
        {
            var j = System.Array.IndexOf(current, Dims[i]);
            if (j != i)
            {
                swaps.Add((i, j));
                (current[i], current[j]) = (current[j], current[i]);
            }
        }

        return swaps;
    }

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitPermute(this, arg);
}

/// <summary>
/// <c>factor·x + offset</c> with numbers known at build time (<c>x * 0.5</c>, <c>scores / Math.Sqrt(64)</c>,
/// <c>var + 1e-5</c>, <c>1 - gate</c>): every element keeps its features; the numbers only matter to numeric
/// execution, which this op makes exact.
/// </summary>
public sealed record ScaleOp(double Factor, double Offset = 0) : NodeOp
{
    public override string Kind => "scale";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitScale(this, arg);
}

/// <summary>
/// A tensor made in forward with one value everywhere (<c>torch.zeros(layers, x.shape[0], hidden)</c>, an initial
/// recurrent state; ones, full): no operands, no features, a shape that may use the batch and other symbols.
/// </summary>
public sealed record FillOp(double Value, EquatableArray<Dim> Target) : NodeOp
{
    public override string Kind => "fill";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitFill(this, arg);
}

/// <summary>
/// <c>torch.arange(start, end)</c> made in forward: the positions start..end−1 (end may be a size known only at run
/// time, <c>x.shape[0]</c>). An index tensor that carries no features, read only by an Embedding (a learned position
/// table, <c>wpe(arange(T))</c>): its rows meet no feature, so the lookup's output carries none.
/// </summary>
public sealed record ArangeOp(long Start, Dim End) : NodeOp
{
    public override string Kind => "arange";

    public override TResult Accept<TArg, TResult>(IOpVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitArange(this, arg);
}
