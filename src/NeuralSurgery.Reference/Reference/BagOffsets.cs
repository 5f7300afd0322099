using System;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// Values for an EmbeddingBag's offsets input (<see cref="InputRole.Offsets"/>): where each bag of the flat index
/// input starts. Offsets are data the mirror never sees, so checks draw them at random (bags of any length, empty
/// ones included) or spread them evenly.
/// </summary>
public static class BagOffsets
{
    /// <summary>The EmbeddingBag that reads <paramref name="offsets"/>, and the flat index input it splits.</summary>
    public static (EmbeddingSpec Bag, GraphInput Indices) ReaderOf(ModelGraph graph, GraphInput offsets)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(offsets);
        foreach (var node in graph.Nodes)
        {
            if (node.Operands.Count == 2 && node.Operands[1].Source == offsets.Name && node.Op is CallOp call
                && graph.FindModule(call.Module)?.Spec is EmbeddingSpec { Bag: not null } bag
                && graph.FindInput(node.Operands[0].Source) is { } indices)
            {
                return (bag, indices);
            }
        }

        throw new ArgumentException($"offsets input '{offsets.Name}' is read by no EmbeddingBag of graph '{graph.Name}'", nameof(offsets));
    }

    /// <summary>
    /// Offsets for <paramref name="count"/> entries over <paramref name="length"/> indices: 0 first, then sorted draws in
    /// [0, length] (with include_last_offset the last entry is <paramref name="length"/>, so every index is in a bag);
    /// evenly spaced when <paramref name="rng"/> is null.
    /// </summary>
    public static Tensor Create(int count, int length, bool includeLastOffset, Random? rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bags = includeLastOffset ? count - 1 : count;
        var values = new int[count];
        for (var i = 1; i < count; i++)
        {
            values[i] = rng is null ? (int)((long)i * length / Math.Max(bags, 1)) : rng.Next(length + 1);
        }

        Array.Sort(values, 1, count - 1);
        values[0] = 0;
        if (includeLastOffset)
        {
            values[count - 1] = length;
        }

        return new Tensor(values.Select(v => (float)v).ToArray(), [count]);
    }

    /// <summary>Offsets for <paramref name="offsets"/> with every symbol sized by <paramref name="size"/>.</summary>
    public static Tensor For(ModelGraph graph, GraphInput offsets, Func<string, long> size, Random? rng)
    {
        var (bag, indices) = ReaderOf(graph, offsets);
        var count = (int)offsets.Shape.Evaluate(size)[0];
        var length = (int)indices.Shape.Evaluate(size).Aggregate(1L, (a, d) => a * d);
        return Create(count, length, bag.Bag!.IncludeLastOffset, rng);
    }
}
