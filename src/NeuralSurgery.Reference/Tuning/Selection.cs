using System;
using System.Collections.Generic;
using System.Threading;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// The selecting surgery methods of paper 000 section 4.3: each picks exactly n elements across the whole model
/// before tuning (ties by tensor order, then index: <see cref="TopN"/>); tuning then runs with a
/// <see cref="MaskHook"/> over the result. The optional <c>among</c> masks restrict the choice (e.g. to the
/// elements Φ ties to new features).
/// </summary>
public static class Selection
{
    /// <summary>Sel-Rand: n elements drawn uniformly without replacement (seeded).</summary>
    public static ParameterMask Random(IReadOnlyList<KeyValuePair<string, float[]>> like, long n, int seed, ParameterMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(like);
        var rng = new System.Random(seed);
        var keys = WeightSnapshot.ZerosLike(like);
        foreach (var (_, values) in keys)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = rng.NextSingle();
            }
        }

        return TopN.Select(keys, n, SelectionOrder.Largest, among);
    }

    /// <summary>Sel-Δ: top-n |Δ|, Δ = w_r − w_i, with w_r a reference model tuned by the baseline method.</summary>
    public static ParameterMask ByDelta(WeightSnapshot initial, WeightSnapshot reference, long n, ParameterMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(reference);
        var delta = WeightSnapshot.ZerosLike(initial);
        foreach (var (name, d) in delta)
        {
            var r = reference[name];
            if (r.Length != d.Length)
            {
                throw new ArgumentException($"Reference tensor '{name}' has {r.Length} elements; expected {d.Length} as in w_i.", nameof(reference));
            }

            System.Numerics.Tensors.TensorPrimitives.Subtract(r, initial[name], d);
        }

        return TopN.Select(delta, n, SelectionOrder.LargestMagnitude, among);
    }

    /// <summary>Sel-Grad: top-n |g|, g = ∇L(w_i) (see <see cref="GradientEstimate.Mean"/>).</summary>
    public static ParameterMask ByGradient(IReadOnlyList<KeyValuePair<string, float[]>> gradient, long n, ParameterMask? among = null) =>
        TopN.Select(gradient, n, SelectionOrder.LargestMagnitude, among);

    /// <summary>
    /// Sel-LCA: the n smallest (most negative) loss change allocations on the straight path from w_i to w_r
    /// (eqs. 8-10): LCA_k = Σ_t L′_k · (θ_{t+1} − θ_t)_k over <paramref name="steps"/> equal steps, with L′_k(θ_t)
    /// replaced by the RK4 rule ⅙(L′_k(θ_t) + 4L′_k((θ_t + θ_{t+1})/2) + L′_k(θ_{t+1})) as Lan et al. do.
    /// </summary>
    /// <remarks>The model evaluates the gradients (through <paramref name="gradient"/>, the mean training-loss
    /// gradient at its current weights) and gets its weights back on return.</remarks>
    public static ParameterMask ByLca(
        ReferenceModel model,
        WeightSnapshot initial,
        WeightSnapshot reference,
        Func<ReferenceModel, WeightSnapshot> gradient,
        int steps,
        long n,
        ParameterMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        return TopN.Select(Lca(model, initial, reference, gradient, steps), n, SelectionOrder.Smallest, among);
    }

    /// <summary>LCA_k of every element (eq. 10 with the RK4 rule); Σ_k LCA_k ≈ L(w_r) − L(w_i) (eq. 9).</summary>
    public static WeightSnapshot Lca(ReferenceModel model, WeightSnapshot initial, WeightSnapshot reference, Func<ReferenceModel, WeightSnapshot> gradient, int steps)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var saved = WeightSnapshot.Of(model.Parameters);
        var lca = WeightSnapshot.ZerosLike(initial);
        try
        {
            // g(θ_t) is shared by steps t−1 and t, so 2T + 1 gradient evaluations in all.
            var previous = At(0);
            for (var t = 0; t < steps; t++)
            {
                var mid = At((t + 0.5) / steps);
                var next = At((t + 1.0) / steps);
                foreach (var (name, acc) in lca)
                {
                    var wi = initial[name];
                    var wr = reference[name];
                    var g0 = previous[name];
                    var gm = mid[name];
                    var g1 = next[name];
                    for (var k = 0; k < acc.Length; k++)
                    {
                        var step = (wr[k] - wi[k]) / steps;
                        acc[k] += (g0[k] + (4 * gm[k]) + g1[k]) / 6 * step;
                    }
                }

                previous = next;
            }
        }
        finally
        {
            saved.CopyTo(model.Parameters);
        }

        return lca;

        WeightSnapshot At(double fraction)
        {
            foreach (var (name, p) in model.Parameters)
            {
                if (!initial.Contains(name))
                {
                    continue;
                }

                var wi = initial[name];
                var wr = reference[name];
                var f = (float)fraction;
                for (var k = 0; k < p.Length; k++)
                {
                    p.Data[k] = wi[k] + (f * (wr[k] - wi[k]));
                }
            }

            return gradient(model);
        }
    }
}

/// <summary>Gradients of a training loss over a whole data set, for Sel-Grad and Sel-LCA.</summary>
public static class GradientEstimate
{
    /// <summary>
    /// ∇L at the model's current weights, L the sample-weighted mean loss over <paramref name="data"/> (eval mode,
    /// batches in order), so the result does not depend on the batch size.
    /// </summary>
    public static WeightSnapshot Mean(ReferenceModel model, ITrainingData data, LossFunction loss, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var sum = WeightSnapshot.ZerosLike(WeightSnapshot.Of(model.Parameters));
        var wasTraining = model.Training;
        model.Training = false;
        try
        {
            var order = new int[data.Count];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            for (var start = 0; start < order.Length; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var size = Math.Min(batchSize, order.Length - start);
                var batch = data.GetBatch(order.AsSpan(start, size));
                var pass = model.Forward(batch.Inputs);
                var value = loss(pass.Outputs, batch);
                var grads = model.Backward(pass, value.OutputGradients);
                foreach (var (name, acc) in sum)
                {
                    if (grads.Parameters.TryGetValue(name, out var g))
                    {
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g.Span, (float)size, acc, acc);
                    }
                }
            }

            foreach (var (_, acc) in sum)
            {
                System.Numerics.Tensors.TensorPrimitives.Divide(acc, Math.Max(order.Length, 1), acc);
            }

            return sum;
        }
        finally
        {
            model.Training = wasTraining;
        }
    }
}
