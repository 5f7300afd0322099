using System;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// The instance-wise consistency score of paper 000 section 3.2 (Definition 1): the Pearson correlation of the
/// per-instance evaluation scores s_i of the model before tuning and s'_i after, on the clean data (eq. 1).
/// Accuracy alone hides instance-wise side effects; C near 1 means the tuned model's instance scores rise and
/// fall exactly where the original's did.
/// </summary>
public static class Consistency
{
    /// <summary>
    /// C = Σ(s_i − s̄)(s'_i − s̄') / (√Σ(s_i − s̄)² √Σ(s'_i − s̄')²), accumulated in double with the means taken first.
    /// </summary>
    /// <returns>A value in [−1, 1]; NaN when either side has zero variance (the correlation is undefined there).</returns>
    /// <exception cref="ArgumentException">The lengths differ or there are fewer than two instances.</exception>
    public static double Score(ReadOnlySpan<double> before, ReadOnlySpan<double> after)
    {
        if (before.Length != after.Length)
        {
            throw new ArgumentException($"Consistency needs one score per instance on both sides: {before.Length} scores before tuning, {after.Length} after.", nameof(after));
        }

        if (before.Length < 2)
        {
            throw new ArgumentException($"Consistency needs at least two instances; got {before.Length}.", nameof(before));
        }

        double meanA = 0, meanB = 0;
        for (var i = 0; i < before.Length; i++)
        {
            meanA += before[i];
            meanB += after[i];
        }

        meanA /= before.Length;
        meanB /= after.Length;
        double cov = 0, varA = 0, varB = 0;
        for (var i = 0; i < before.Length; i++)
        {
            var a = before[i] - meanA;
            var b = after[i] - meanB;
            cov += a * b;
            varA += a * a;
            varB += b * b;
        }

        if (varA == 0 || varB == 0)
        {
            return double.NaN;
        }

        // Rounding can push |C| a hair past 1; Definition 1 bounds it.
        return Math.Clamp(cov / (Math.Sqrt(varA) * Math.Sqrt(varB)), -1, 1);
    }
}

/// <summary>
/// What a tuning run did besides learning its target (paper 000 sections 3.2 and 5): the clean metric before and
/// after, the target metric (pattern or backdoor success), consistency (Definition 1) and how many parameter
/// elements changed out of how many.
/// </summary>
public sealed record SideEffectReport(
    string Method,
    double CleanBefore,
    double CleanAfter,
    double Target,
    double Consistency,
    long ChangedElements,
    long TotalElements)
{
    /// <summary>Changed share of all elements (paper 000 Table 1 reports n against 110M).</summary>
    public double ChangedShare => TotalElements == 0 ? 0 : (double)ChangedElements / TotalElements;
}
