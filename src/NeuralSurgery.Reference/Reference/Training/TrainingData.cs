using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference.Training;

/// <summary>One minibatch: model inputs by graph input name and targets by name.</summary>
public sealed record TrainingBatch(IReadOnlyDictionary<string, Tensor> Inputs, IReadOnlyDictionary<string, Tensor> Targets, int Size);

/// <summary>Samples a trainer draws batches from.</summary>
public interface ITrainingData
{
    int Count { get; }

    /// <summary>The batch of the samples at <paramref name="indices"/>, in that order.</summary>
    TrainingBatch GetBatch(ReadOnlySpan<int> indices);
}

/// <summary>
/// Whole tensors in memory, one sample per index of a batch axis: axis 0 unless <c>batchAxes</c> says otherwise
/// (a recurrent state [L·D, B, H] has its batch on axis 1).
/// </summary>
public sealed class TensorDataset : ITrainingData
{
    private readonly IReadOnlyDictionary<string, Tensor> _inputs;
    private readonly IReadOnlyDictionary<string, Tensor> _targets;
    private readonly Dictionary<string, int> _axes;

    public TensorDataset(
        IReadOnlyDictionary<string, Tensor> inputs,
        IReadOnlyDictionary<string, Tensor> targets,
        IReadOnlyDictionary<string, int>? batchAxes = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        _inputs = inputs;
        _targets = targets;
        _axes = new Dictionary<string, int>(StringComparer.Ordinal);
        var count = -1;
        string? first = null;
        foreach (var (name, t) in inputs.Concat(targets))
        {
            var axis = batchAxes is not null && batchAxes.TryGetValue(name, out var a) ? a : 0;
            if (axis < 0 || axis >= t.Rank)
            {
                throw new ArgumentException($"Tensor '{name}' has shape {t.ShapeString}; its batch axis {axis} is out of range.", nameof(batchAxes));
            }

            _axes[name] = axis;
            if (count < 0)
            {
                (count, first) = (t.Dim(axis), name);
            }
            else if (t.Dim(axis) != count)
            {
                throw new ArgumentException($"Tensor '{name}' has {t.Dim(axis)} samples on axis {axis} (shape {t.ShapeString}); expected {count}, as tensor '{first}' has.", nameof(inputs));
            }
        }

        Count = Math.Max(count, 0);
    }

    public int Count { get; }

    public TrainingBatch GetBatch(ReadOnlySpan<int> indices)
    {
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in _inputs)
        {
            inputs[name] = Gather(t, _axes[name], indices);
        }

        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in _targets)
        {
            targets[name] = Gather(t, _axes[name], indices);
        }

        return new TrainingBatch(inputs, targets, indices.Length);
    }

    private static Tensor Gather(Tensor t, int axis, ReadOnlySpan<int> indices)
    {
        var shape = t.ShapeArray();
        var (outer, inner) = AxisOps.Split(shape, axis);
        var len = shape[axis];
        shape[axis] = indices.Length;
        var y = Tensor.Zeros(shape);
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < indices.Length; i++)
            {
                t.Data.AsSpan(((o * len) + indices[i]) * inner, inner).CopyTo(y.Data.AsSpan(((o * indices.Length) + i) * inner, inner));
            }
        }

        return y;
    }
}
