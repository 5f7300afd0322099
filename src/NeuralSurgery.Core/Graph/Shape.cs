using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>A tensor shape whose dimensions may be symbolic (<see cref="Dim"/>).</summary>
public sealed record Shape
{
    public Shape(EquatableArray<Dim> dims) => Dims = dims;

    public Shape(IEnumerable<Dim> dims) => Dims = dims.ToEquatableArray();

    public EquatableArray<Dim> Dims { get; }

    public int Rank => Dims.Count;

    public Dim this[int axis] => Dims[axis];

    public static Shape Scalar { get; } = new(EquatableArray<Dim>.Empty);

    public static Shape Of(params Dim[] dims) => new(dims);

    public static Shape Of(params long[] dims) => new(dims.Select(Dim.Of));

    public bool IsConstant => Dims.All(d => d.IsConstant);

    /// <summary>Number of elements; only for constant shapes.</summary>
    public long ElementCount => Dims.Aggregate(1L, (acc, d) => acc * d.Value);

    public Shape With(int axis, Dim dim) => new(Dims.Select((d, i) => i == axis ? dim : d));

    public Shape Remove(int axis) => new(Dims.Where((_, i) => i != axis));

    public Shape Insert(int axis, Dim dim)
    {
        var list = Dims.ToList();
        list.Insert(axis, dim);
        return new Shape(list);
    }

    public long[] Evaluate(Func<string, long> symbolSize) => Dims.Select(d => d.Evaluate(symbolSize)).ToArray();

    public override string ToString() => "[" + string.Join(", ", Dims.Select(d => d.ToString())) + "]";
}
