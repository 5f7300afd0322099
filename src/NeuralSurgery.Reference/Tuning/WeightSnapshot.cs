using System;
using System.Collections;
using System.Collections.Generic;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// Float32 values per parameter name, in the model's state_dict order: w_i (the weights before tuning), a
/// reference tuned model w_r, gradients or scores. The order is the tie-breaking order of <see cref="TopN"/>.
/// </summary>
public sealed class WeightSnapshot : IReadOnlyList<KeyValuePair<string, float[]>>
{
    private readonly List<KeyValuePair<string, float[]>> _entries = [];
    private readonly Dictionary<string, float[]> _byName = new(StringComparer.Ordinal);

    public WeightSnapshot()
    {
    }

    public WeightSnapshot(IEnumerable<KeyValuePair<string, float[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var (name, values) in entries)
        {
            Add(name, values);
        }
    }

    public int Count => _entries.Count;

    public KeyValuePair<string, float[]> this[int index] => _entries[index];

    public float[] this[string name] =>
        _byName.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"The snapshot has no tensor named '{name}'.");

    /// <summary>A copy of every parameter's current values.</summary>
    public static WeightSnapshot Of(IReadOnlyDictionary<string, Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var snapshot = new WeightSnapshot();
        foreach (var (name, t) in parameters)
        {
            snapshot.Add(name, (float[])t.Data.Clone());
        }

        return snapshot;
    }

    /// <summary>Zeros shaped like <paramref name="like"/>.</summary>
    public static WeightSnapshot ZerosLike(IReadOnlyList<KeyValuePair<string, float[]>> like)
    {
        ArgumentNullException.ThrowIfNull(like);
        var snapshot = new WeightSnapshot();
        foreach (var (name, values) in like)
        {
            snapshot.Add(name, new float[values.Length]);
        }

        return snapshot;
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public void Add(string name, float[] values)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(values);
        if (!_byName.TryAdd(name, values))
        {
            throw new ArgumentException($"The snapshot already has a tensor named '{name}'.", nameof(name));
        }

        _entries.Add(new(name, values));
    }

    /// <summary>Writes the snapshot's values into the parameters of the same names (shapes must agree).</summary>
    public void CopyTo(IReadOnlyDictionary<string, Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (name, values) in _entries)
        {
            if (!parameters.TryGetValue(name, out var t) || t.Length != values.Length)
            {
                throw new ArgumentException($"Parameter '{name}' ({values.Length} elements in the snapshot) is missing from the model or has another size.", nameof(parameters));
            }

            values.CopyTo(t.Data, 0);
        }
    }

    /// <summary>An empty mask over these tensors.</summary>
    public ParameterMask EmptyMask() => ParameterMask.Empty(_entries);

    public IEnumerator<KeyValuePair<string, float[]>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
