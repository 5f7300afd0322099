using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>What an expression of forward evaluates to while the reader follows it.</summary>
internal abstract class Value
{
}

/// <summary>A tensor in the graph being built.</summary>
internal sealed class TensorValue : Value
{
    public TensorValue(GraphValue graphValue) => GraphValue = graphValue;

    public GraphValue GraphValue { get; }

    public Shape Shape => GraphValue.Shape;
}

/// <summary>A forward parameter with no schema input whose shape is not known yet (a recurrent state, if used as one).</summary>
internal sealed class PendingValue : Value
{
    public PendingValue(IParameterSymbol parameter) => Parameter = parameter;

    public IParameterSymbol Parameter { get; }
}

/// <summary>A tuple: a recurrent result, <c>max(dim)</c>'s (values, indexes), or a tuple literal.</summary>
internal sealed class TupleValue : Value
{
    public TupleValue(ImmutableArray<Value> items) => Items = items;

    public ImmutableArray<Value> Items { get; }
}

/// <summary>A list or array literal (tensors for cat/stack, dimensions for view and reductions).</summary>
internal sealed class ListValue : Value
{
    public ListValue(ImmutableArray<Value> items) => Items = items;

    public ImmutableArray<Value> Items { get; }
}

internal sealed class ModuleValue : Value
{
    public ModuleValue(ModuleNode node) => Node = node;

    public ModuleNode Node { get; }
}

/// <summary>A compile-time constant: long, double, bool, string, long[] or null.</summary>
internal sealed class ConstValue : Value
{
    public static readonly ConstValue Null = new(null);

    public ConstValue(object? value) => Value = value;

    public object? Value { get; }
}

/// <summary>A size read off a tensor's shape (<c>x.shape[0]</c>, <c>x.size(1)</c>): exact, possibly symbolic.</summary>
internal sealed class DimValue : Value
{
    public DimValue(Dim dim) => Dim = dim;

    public Dim Dim { get; }
}

/// <summary><c>x.shape</c>.</summary>
internal sealed class ShapeValue : Value
{
    public ShapeValue(Shape shape) => Shape = shape;

    public Shape Shape { get; }
}

/// <summary>
/// A scalar that is not a compile-time constant (a non-const field, property or local): harmless where the
/// reader ignores it (dropout's <c>training</c>), NS1003 where it is used as a size.
/// </summary>
internal sealed class NonConstValue : Value
{
    public NonConstValue(ConstBinding? binding) => Binding = binding;

    /// <summary>Where it became non-constant, if not at the use.</summary>
    public ConstBinding? Binding { get; }
}

internal enum IndexKind
{
    Single,
    Slice,
    Ellipsis,
    Colon,
    NewAxis,
}

/// <summary>One <c>TensorIndex</c>.</summary>
internal sealed class IndexValue : Value
{
    public IndexValue(IndexKind kind, long? start = null, long? stop = null, long? step = null)
    {
        Kind = kind;
        Start = start;
        Stop = stop;
        Step = step;
    }

    public IndexKind Kind { get; }

    public long? Start { get; }

    public long? Stop { get; }

    public long? Step { get; }

    /// <summary>A slice's stop read off a shape and known only at run time (<c>Slice(null, x.shape[0])</c>).</summary>
    public Dim? SymbolicStop { get; init; }
}

/// <summary><c>torch.NewDisposeScope()</c>: memory management only.</summary>
internal sealed class ScopeValue : Value
{
    public static readonly ScopeValue Instance = new();
}

/// <summary>
/// Something that could not be read, already reported as an error: operations on it yield it again without
/// further diagnostics, so one problem is reported once.
/// </summary>
internal sealed class PoisonValue : Value
{
    public static readonly PoisonValue Instance = new();
}

/// <summary>A value that is only an error when used (the indexes of <c>max(dim)</c>).</summary>
internal sealed class OpaqueValue : Value
{
    public OpaqueValue(SyntaxNode site, string kind, string reason)
    {
        Site = site;
        Kind = kind;
        Reason = reason;
    }

    public SyntaxNode Site { get; }

    public string Kind { get; }

    public string Reason { get; }
}
