using System;
using System.Collections.Generic;
using System.Globalization;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>What a kernel sees of the running pass: mode, symbol sizes, dropout stream, gradient sink.</summary>
internal sealed class KernelContext
{
    public KernelContext(bool training, IReadOnlyDictionary<string, long> symbols, ulong dropoutStream)
    {
        Training = training;
        Symbols = symbols;
        DropoutStream = dropoutStream;
    }

    public bool Training { get; }

    public IReadOnlyDictionary<string, long> Symbols { get; }

    public ulong DropoutStream { get; }

    public int NodeIndex { get; set; }

    public GradientSink? Gradients { get; set; }

    /// <summary>Gradient mapping: an index of −1 selects no embedding row (a categorical one-hot that is all zero).</summary>
    public bool AbsentIndices { get; init; }

    /// <summary>Gradient mapping's avg-pool remedy (paper 001 section 2.3.1): max over an axis or a pooling window computed as the mean.</summary>
    public bool MaxAsMean { get; init; }

    /// <summary>
    /// Gradient mapping: a BatchNorm without running statistics runs in the eval form the mirror reads (running
    /// statistics 0 and 1), not with batch statistics, which would mix every position of a channel.
    /// </summary>
    public bool MirrorNorms { get; init; }

    public int[] Evaluate(Shape shape)
    {
        var dims = new int[shape.Rank];
        for (var i = 0; i < dims.Length; i++)
        {
            dims[i] = checked((int)shape[i].Evaluate(s => Symbols[s]));
        }

        return dims;
    }
}

/// <summary>Parameter gradients of one backward pass, accumulated (a module called twice adds both calls).</summary>
internal sealed class GradientSink
{
    private readonly Dictionary<string, Tensor> _grads = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Tensor> Grads => _grads;

    /// <summary>The zero-initialised accumulator of <paramref name="name"/>, shaped like <paramref name="parameter"/>.</summary>
    public Tensor For(string name, Tensor parameter)
    {
        if (!_grads.TryGetValue(name, out var g))
        {
            g = Tensor.Zeros(parameter.ShapeArray());
            _grads.Add(name, g);
        }

        return g;
    }
}

/// <summary>
/// Forward and backward of one graph node, the way torch.fx's Interpreter runs a node with other semantics
/// (STYLE.md): operands in, outputs out, whatever backward needs kept in <c>saved</c>.
/// </summary>
internal abstract class NodeKernel
{
    protected NodeKernel(GraphNode node, string where)
    {
        Node = node;
        Where = where;
    }

    public GraphNode Node { get; }

    /// <summary>"node 'n3' (Linear 'fc')", for messages.</summary>
    public string Where { get; }

    public abstract Tensor[] Forward(Tensor[] x, KernelContext ctx, out object? saved);

    /// <summary>Gradients of the operands (null where an operand takes none), given output gradients (null: zero).</summary>
    public abstract Tensor?[] Backward(Tensor[] x, Tensor[] y, Tensor?[] dy, object? saved, KernelContext ctx);

    protected static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    protected ReferenceExecutionException Error(string message) => new($"{Where}: {message}");
}

/// <summary>SplitMix64 mixing of counters into seeds for <see cref="Random"/>: nearby counters give unrelated streams.</summary>
internal static class Seeds
{
    public static ulong Mix64(ulong a, ulong b)
    {
        var z = a + (b * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static int Mix(ulong a, ulong b) => (int)(Mix64(a, b) & 0x7FFFFFFF);
}
