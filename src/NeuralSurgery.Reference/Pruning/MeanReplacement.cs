using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Pruning;

/// <summary>
/// Mean replacement with bias propagation (paper 002 section 1.2, eq. 1.6, and section 3.1): a removed unit's output
/// is replaced by its mean over a data set, and that constant reaches each consumer through the columns the removal
/// drops, so it is folded into the consumer's bias: <c>b += W[:, c] · E[x_c]</c>. A unit whose output is constant is
/// removed with no change to the outputs (eq. 1); a live one with the change whose first-order estimate is MRS.
/// Zero replacement (the plain removal plan) is the control.
/// </summary>
public static class MeanReplacement
{
    /// <summary>
    /// The removal plan with each consumer's bias term added (<see cref="TensorPlan.Add"/>).
    /// <paramref name="inputMeans"/> holds, per consumer module, the mean of its input over the data set along the
    /// input axis (every index, at the old width); <paramref name="readWeight"/> returns an old weight, row-major.
    /// </summary>
    public static SurgeryPlan Fold(UnitRemovalPlan removal, IReadOnlyDictionary<string, double[]> inputMeans, Func<string, float[]> readWeight)
    {
        ArgumentNullException.ThrowIfNull(removal);
        ArgumentNullException.ThrowIfNull(inputMeans);
        ArgumentNullException.ThrowIfNull(readWeight);
        var plan = removal.Plan;
        var additions = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var consumer in removal.Consumers.Where(c => c.Bias is not null))
        {
            var weightPlan = plan.Tensors.FirstOrDefault(t => t.Source == consumer.Weight)
                ?? throw new PlanApplicationException($"mean replacement: the plan copies no tensor from '{consumer.Weight}'");
            var rows = weightPlan.SourceShape[0];
            var width = weightPlan.SourceShape[1];
            var inner = weightPlan.SourceShape.Skip(2).Aggregate(1L, (a, b) => a * b);
            if (!inputMeans.TryGetValue(consumer.Module, out var means))
            {
                throw new PlanApplicationException($"mean replacement: no input mean for module '{consumer.Module}', which reads the removed units of '{removal.Space}' through '{consumer.Weight}'; expected {width.ToString(CultureInfo.InvariantCulture)} values");
            }

            if (means.Length != width || means.Any(m => !double.IsFinite(m)))
            {
                throw new PlanApplicationException($"mean replacement: the input mean of module '{consumer.Module}' has {means.Length.ToString(CultureInfo.InvariantCulture)} values{(means.Any(m => !double.IsFinite(m)) ? " (some not finite)" : string.Empty)}; expected {width.ToString(CultureInfo.InvariantCulture)} finite values, the width of axis 1 of '{consumer.Weight}'");
            }

            var weight = readWeight(consumer.Weight);
            if (weight.LongLength != rows * width * inner)
            {
                throw new PlanApplicationException($"mean replacement: '{consumer.Weight}' has {weight.LongLength.ToString(CultureInfo.InvariantCulture)} elements; expected {(rows * width * inner).ToString(CultureInfo.InvariantCulture)} (shape [{string.Join(", ", weightPlan.SourceShape)}])");
            }

            // In the old row space: delta[o] = Σ_c W[o, c] · E[x_c] (summed over kernel taps too).
            var delta = new double[rows];
            for (long o = 0; o < rows; o++)
            {
                double sum = 0;
                foreach (var c in consumer.Columns)
                {
                    for (long k = 0; k < inner; k++)
                    {
                        sum += weight[(((o * width) + c) * inner) + k] * means[c];
                    }
                }

                delta[o] = sum;
            }

            var biasPlan = plan.FindTensor(consumer.Bias!)!;
            if (!additions.TryGetValue(biasPlan.Name, out var add))
            {
                additions[biasPlan.Name] = add = biasPlan.Add.Count > 0 ? biasPlan.Add.ToArray() : new double[biasPlan.TotalElements];
            }

            for (long r = 0; r < biasPlan.TotalElements; r++)
            {
                var s = biasPlan.Axes[0].SourceIndex(r);
                if (s >= 0)
                {
                    add[r] += delta[s];
                }
            }
        }

        return plan with
        {
            Tensors = plan.Tensors.Select(t => additions.TryGetValue(t.Name, out var add) ? t with { Add = add.ToEquatableArray() } : t).ToEquatableArray(),
        };
    }

    /// <summary><see cref="Fold(UnitRemovalPlan, IReadOnlyDictionary{string, double[]}, Func{string, float[]})"/> with the old weights read from a checkpoint.</summary>
    public static SurgeryPlan Fold(UnitRemovalPlan removal, IReadOnlyDictionary<string, double[]> inputMeans, ITensorSource oldCheckpoint)
    {
        ArgumentNullException.ThrowIfNull(oldCheckpoint);
        return Fold(removal, inputMeans, name =>
        {
            var info = oldCheckpoint.Get(name);
            var bytes = new byte[info.ByteLength];
            oldCheckpoint.Read(info, 0, bytes);
            var values = new float[info.ElementCount];
            WeightConversion.ToFloat32(bytes, info.DType, values);
            return values;
        });
    }
}
