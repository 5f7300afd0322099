using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Growth;

/// <summary>New units' fan-in chosen by NORTH-Select: one row of weights and a bias per unit.</summary>
public sealed record GrownFanIn(double[][] Weights, double[] Biases, long Candidates);

/// <summary>
/// DYNO's selection strategies (paper 004 section 3): which units to prune (dormant first, then greedy cosine
/// similarity) and which fan-in new units get (NORTH-Select, Maile et al. 2022).
/// </summary>
public static class DynoSelection
{
    /// <summary>
    /// SELECT_PRUNE: the units of <paramref name="activations"/> <c>[n, M]</c> to remove. Dormant units go first, all of
    /// them: post-activations that do not vary over the buffer (max − min ≤ <paramref name="dormantTolerance"/>; a dead
    /// ReLU's zeros, or any constant, which mean replacement removes exactly). Then, until <paramref name="count"/> is
    /// reached, greedily the unit whose cosine similarities with the remaining units have the largest norm (the most
    /// redundant). Post-activations are normalised by centring and scaling each unit over the samples: uncentred ReLU
    /// outputs are all non-negative, so their raw cosines are large for any two active units and would rank activity,
    /// not redundancy. At least one unit is kept.
    /// </summary>
    public static long[] Prune(Tensor activations, long count, string layer, double dormantTolerance = 0)
    {
        ArgumentNullException.ThrowIfNull(activations);
        var m = activations.shape[1];
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"layer '{layer}': pruning {count} units; expected a non-negative count");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var h = activations.detach().to(ScalarType.Float64);
        var range = (h.amax([0]) - h.amin([0])).cpu().data<double>().ToArray();
        var removed = Enumerable.Range(0, (int)m).Where(i => range[i] <= dormantTolerance).Select(i => (long)i).Take((int)m - 1).ToList();
        if (removed.Count >= count)
        {
            return [.. removed];
        }

        // Cosine similarities of the units' normalised post-activations (over the samples); a dormant unit has none.
        var centred = h - h.mean([0], keepdim: true);
        var unit = centred / centred.norm(0, keepdim: true).clamp_min(1e-30);
        var cosine = unit.t().matmul(unit) * (1 - eye(m, dtype: ScalarType.Float64, device: h.device));
        var squared = cosine.pow(2);
        var alive = ones(m, ScalarType.Float64, h.device);
        foreach (var r in removed)
        {
            alive[r] = 0;
        }

        while (removed.Count < count && removed.Count < m - 1)
        {
            // Norm over the remaining units of each remaining unit's similarities; removed units score -1.
            var score = squared.matmul(alive).sqrt() * alive - (1 - alive);
            var pick = score.argmax().item<long>();
            removed.Add(pick);
            alive[pick] = 0;
        }

        removed.Sort();
        return [.. removed];
    }

    /// <summary>
    /// INIT_GROW by NORTH-Select: <paramref name="candidatesPerUnit"/>·<paramref name="count"/> candidates with random
    /// fan-in (Gaussian directions over the weights and the bias, scaled to <paramref name="scale"/> times the mean
    /// fan-in norm of the existing units, so new units start on the existing units' scale), each scored independently
    /// by φ_ED of the existing post-activations with the candidate's appended (computed from the buffered inputs); the
    /// <paramref name="count"/> best are kept. Ties in the ε-rank (which counts) are broken by the part of the
    /// candidate's activations orthogonal to the existing ones (which a larger rank needs). Fan-out is not chosen here: it
    /// is zero.
    /// </summary>
    public static GrownFanIn North(
        Tensor inputs,
        Tensor activations,
        Tensor weight,
        Tensor? bias,
        Func<Tensor, Tensor> activation,
        long count,
        double epsilon,
        string layer,
        Generator? generator = null,
        long candidatesPerUnit = 100,
        double scale = 1,
        long maxCandidates = 2000)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(activation);
        EffectiveDimension.CheckEpsilon(epsilon, layer);
        if (count < 1 || candidatesPerUnit < 1 || !(scale > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"layer '{layer}': growing {count} units from {candidatesPerUnit} candidates each at scale {scale}; expected positive values");
        }

        if (inputs.shape[0] != activations.shape[0] || weight.shape[1] != inputs.shape[1] || weight.shape[0] != activations.shape[1])
        {
            throw new ArgumentException($"layer '{layer}': inputs [{string.Join(", ", inputs.shape)}], activations [{string.Join(", ", activations.shape)}] and weight [{string.Join(", ", weight.shape)}] disagree; expected [n, in], [n, M] and [M, in]", nameof(inputs));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var dtype = ScalarType.Float64;
        var x = inputs.detach().to(dtype);
        var h = activations.detach().to(dtype);
        var (n, m) = (h.shape[0], h.shape[1]);
        var fanIn = bias is null ? weight.detach().to(dtype) : cat([weight.detach().to(dtype), bias.detach().to(dtype).unsqueeze(1)], 1);
        var norm = fanIn.norm(1).mean().item<double>() * scale;
        var candidates = Math.Min(Math.Max(count, count * candidatesPerUnit), Math.Max(count, maxCandidates));
        var withBias = bias is null ? 0 : 1;
        var raw = randn([candidates, x.shape[1] + withBias], dtype, x.device, generator: generator);
        raw = raw / raw.norm(1, keepdim: true) * norm;
        var w = raw.narrow(1, 0, x.shape[1]);
        var pre = x.matmul(w.t()); // [n, C]
        if (withBias == 1)
        {
            pre = pre + raw.narrow(1, x.shape[1], 1).t();
        }

        var post = activation(pre).to(dtype);

        // Residual of each candidate's activations outside the span of the existing units' (least squares on H).
        var q = linalg.qr(h).Q; // [n, M]
        var residual = (post - q.matmul(q.t().matmul(post))).norm(0) / Math.Sqrt(n);

        // ε-rank of [H, h_c] per candidate, in chunks of batched SVDs.
        var ranks = new long[candidates];
        const long chunk = 128;
        for (long s = 0; s < candidates; s += chunk)
        {
            using var inner = NewDisposeScope();
            var k = Math.Min(chunk, candidates - s);
            var batch = cat([h.unsqueeze(0).expand(k, n, m), post.narrow(1, s, k).t().unsqueeze(2)], 2);
            EffectiveDimension.Ranks(batch, epsilon).cpu().data<long>().ToArray().CopyTo(ranks, s);
        }

        var res = residual.cpu().data<double>().ToArray();
        var best = Enumerable.Range(0, (int)candidates).OrderByDescending(i => ranks[i]).ThenByDescending(i => res[i]).Take((int)count).ToArray();
        var host = raw.cpu().data<double>().ToArray();
        var stride = x.shape[1] + withBias;
        var rows = best.Select(i => host.AsSpan((int)(i * stride), (int)x.shape[1]).ToArray()).ToArray();
        var biases = best.Select(i => withBias == 1 ? host[(i * stride) + x.shape[1]] : 0).ToArray();
        return new GrownFanIn(rows, biases, candidates);
    }
}
