using System;
using System.Collections.Generic;
using NeuralSurgery.Runtime.Reference.Kernels;

namespace NeuralSurgery.Runtime.Reference.Training;

/// <summary>A loss value and its gradient with respect to the loss's input.</summary>
public sealed record LossValue(double Value, Tensor Gradient);

/// <summary>A loss over a model's outputs: its value and d loss / d output for the outputs it reads.</summary>
public sealed record LossResult(double Value, IReadOnlyDictionary<string, Tensor> OutputGradients);

/// <summary>Computes a loss from a pass's outputs and the batch's targets.</summary>
public delegate LossResult LossFunction(IReadOnlyDictionary<string, Tensor> outputs, TrainingBatch batch);

/// <summary>
/// Losses with torch.nn.functional's definitions and mean reduction: mse_loss, cross_entropy and nll_loss with
/// class-index targets (classes on axis 1, or axis 0 for an unbatched [C] input), and log_softmax.
/// </summary>
public static class Losses
{
    /// <summary>mean((prediction − target)²); gradient 2(prediction − target)/n.</summary>
    public static LossValue MeanSquaredError(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!prediction.SameShape(target))
        {
            throw new ReferenceExecutionException($"mse_loss: target has shape {target.ShapeString}; expected {prediction.ShapeString}, the prediction's shape");
        }

        var grad = Tensor.Zeros(prediction.ShapeArray());
        double sum = 0;
        var n = prediction.Length;
        for (var i = 0; i < n; i++)
        {
            double d = prediction.Data[i] - target.Data[i];
            sum += d * d;
            grad.Data[i] = (float)(2 * d / n);
        }

        return new LossValue(sum / n, grad);
    }

    /// <summary>log_softmax along <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor LogSoftmax(Tensor x, int axis = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        return AxisOps.Softmax(x, NormaliseAxis(axis, x.Rank, "log_softmax"), log: true);
    }

    /// <summary>cross_entropy(logits, targets) = nll_loss(log_softmax(logits)); gradient (softmax − one-hot)/count.</summary>
    public static LossValue CrossEntropy(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var axis = ClassAxis(logits, "cross_entropy");
        var logProbs = AxisOps.Softmax(logits, axis, log: true);
        var nll = NllLoss(logProbs, targets);

        // d/dlogits of −mean(log p[target]) = (softmax − one-hot)/count = exp(log p)/count + nll's gradient.
        var grad = nll.Gradient;
        var count = targets.Length;
        for (var i = 0; i < grad.Length; i++)
        {
            grad.Data[i] += (float)(Math.Exp(logProbs.Data[i]) / count);
        }

        return new LossValue(nll.Value, grad);
    }

    /// <summary>nll_loss(logProbs, targets) = −mean(logProbs[target]); gradient −one-hot/count.</summary>
    public static LossValue NllLoss(Tensor logProbs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        ArgumentNullException.ThrowIfNull(targets);
        var axis = ClassAxis(logProbs, "nll_loss");
        var (outer, inner) = AxisOps.Split(logProbs.Shape, axis);
        var classes = logProbs.Dim(axis);
        if (targets.Length != outer * inner || targets.Rank != logProbs.Rank - 1)
        {
            var expected = logProbs.ShapeArray();
            var t = new int[expected.Length - 1];
            for (int i = 0, j = 0; i < expected.Length; i++)
            {
                if (i != axis)
                {
                    t[j++] = expected[i];
                }
            }

            throw new ReferenceExecutionException($"nll_loss: targets have shape {targets.ShapeString}; expected {Tensor.Describe(t)} (the input's shape without the class axis {axis})");
        }

        var grad = Tensor.Zeros(logProbs.ShapeArray());
        double sum = 0;
        var count = targets.Length;
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var v = targets.Data[(o * inner) + i];
                if (!(v >= 0 && v < classes && v == MathF.Floor(v)))
                {
                    throw new ReferenceExecutionException($"nll_loss: target {v} at element {(o * inner) + i}; expected a class index in [0, {classes})");
                }

                var k = (((o * classes) + (int)v) * inner) + i;
                sum -= logProbs.Data[k];
                grad.Data[k] = -1f / count;
            }
        }

        return new LossValue(sum / count, grad);
    }

    /// <summary>A <see cref="LossFunction"/> applying <paramref name="loss"/> to one output and one target of the batch.</summary>
    public static LossFunction OnOutput(string output, string target, Func<Tensor, Tensor, LossValue> loss)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(loss);
        return (outputs, batch) =>
        {
            if (!outputs.TryGetValue(output, out var y))
            {
                throw new ReferenceExecutionException($"loss reads output '{output}', which the model does not have");
            }

            if (!batch.Targets.TryGetValue(target, out var t))
            {
                throw new ReferenceExecutionException($"loss reads target '{target}', which the batch does not have");
            }

            var value = loss(y, t);
            return new LossResult(value.Value, new Dictionary<string, Tensor>(StringComparer.Ordinal) { [output] = value.Gradient });
        };
    }

    private static int ClassAxis(Tensor x, string what) =>
        x.Rank >= 1 ? (x.Rank == 1 ? 0 : 1) : throw new ReferenceExecutionException($"{what}: input is a scalar; expected [C], [N, C] or [N, C, d...]");

    private static int NormaliseAxis(int axis, int rank, string what)
    {
        var a = axis < 0 ? axis + rank : axis;
        return a >= 0 && a < rank ? a : throw new ReferenceExecutionException($"{what}: axis {axis} is out of range for a tensor of rank {rank}");
    }
}
