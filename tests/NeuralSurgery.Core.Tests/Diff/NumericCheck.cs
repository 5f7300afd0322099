using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Diff;

/// <summary>
/// A plan applier on double-precision tensors, the way the runtime applies plans: with the forward pass in
/// <see cref="Review.ReviewNumeric"/>, enough to check paper 001 eq. 1 (old and new models agree on every state).
/// </summary>
internal static class NumericCheck
{
    internal sealed record Tensor(long[] Shape, double[] Data)
    {
        public long Count => Data.Length;
    }

    /// <summary>Applies a plan the way the runtime will: copy mapped elements, initialise the rest by their rule.</summary>
    public static Dictionary<string, Tensor> Apply(SurgeryPlan plan, Dictionary<string, Tensor> source, Random rng)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in plan.Tensors)
        {
            var shape = t.Shape.ToArray();
            var data = new double[t.TotalElements];
            var index = new long[shape.Length];
            for (long e = 0; e < data.Length; e++)
            {
                Unravel(e, shape, index);
                var rule = t.RuleFor(index);
                if (rule is null)
                {
                    var src = source[t.Source!];
                    var srcIndex = index.Select((i, a) => t.Axes[a].SourceIndex(i)).ToArray();
                    data[e] = src.Data[Offset(src.Shape, srcIndex)];
                }
                else
                {
                    data[e] = rule.Kind switch
                    {
                        InitKind.Zeros => 0,
                        InitKind.Ones => 1,
                        InitKind.Constant => rule.Value,
                        InitKind.Uniform => ((rng.NextDouble() * 2) - 1) * rule.Value,
                        _ => rule.Value * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()),
                    };
                }
            }

            result[t.Name] = new Tensor(shape, data);
        }

        return result;
    }

    internal static void Unravel(long offset, long[] shape, long[] index)
    {
        for (var a = shape.Length - 1; a >= 0; a--)
        {
            index[a] = offset % shape[a];
            offset /= shape[a];
        }
    }

    internal static long Offset(long[] shape, long[] index)
    {
        long offset = 0;
        for (var a = 0; a < shape.Length; a++)
        {
            offset = (offset * shape[a]) + index[a];
        }

        return offset;
    }
}
