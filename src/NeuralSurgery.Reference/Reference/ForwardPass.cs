using System;
using System.Collections.Generic;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// The result of <see cref="ReferenceModel.Forward"/>: the outputs by name, every intermediate value, and what
/// <see cref="ReferenceModel.Backward"/> needs (a pass is backpropagated at most once).
/// </summary>
public sealed class ForwardPass
{
    private readonly Dictionary<ValueRef, int> _slots;

    internal ForwardPass(
        ReferenceModel model,
        Tensor[] values,
        object?[] saved,
        Dictionary<ValueRef, int> slots,
        IReadOnlyDictionary<string, Tensor> outputs,
        IReadOnlyDictionary<string, long> symbols,
        bool training,
        KernelContext context)
    {
        Model = model;
        Values = values;
        Saved = saved;
        _slots = slots;
        Outputs = outputs;
        Symbols = symbols;
        Training = training;
        Context = context;
    }

    /// <summary>Graph outputs by <see cref="GraphOutput.Name"/>.</summary>
    public IReadOnlyDictionary<string, Tensor> Outputs { get; }

    /// <summary>Sizes bound to the graph's symbolic dimensions (B, N, ...) by the inputs.</summary>
    public IReadOnlyDictionary<string, long> Symbols { get; }

    public bool Training { get; }

    public Tensor this[string output] =>
        Outputs.TryGetValue(output, out var t)
            ? t
            : throw new KeyNotFoundException($"The graph has no output named '{output}'; its outputs are {string.Join(", ", Outputs.Keys)}.");

    /// <summary>Any input or node output of the pass.</summary>
    public Tensor Value(ValueRef value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return _slots.TryGetValue(value, out var slot)
            ? Values[slot]
            : throw new KeyNotFoundException($"Value '{value}' is no input or node output of graph '{Model.Graph.Name}'.");
    }

    internal ReferenceModel Model { get; }

    internal Tensor[] Values { get; }

    internal object?[] Saved { get; }

    internal KernelContext Context { get; }

    internal bool Consumed { get; set; }
}

/// <summary>Gradients of one backward pass.</summary>
public sealed class Gradients
{
    internal Gradients(IReadOnlyDictionary<string, Tensor> parameters, IReadOnlyDictionary<string, Tensor> inputs)
    {
        Parameters = parameters;
        Inputs = inputs;
    }

    /// <summary>
    /// d loss / d parameter for every trainable parameter, by state_dict name, in state_dict order; zeros for a
    /// parameter the outputs do not depend on. Buffers (running statistics) take none.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Parameters { get; }

    /// <summary>d loss / d input for feature and state inputs; categorical (index) inputs take none.</summary>
    public IReadOnlyDictionary<string, Tensor> Inputs { get; }
}
