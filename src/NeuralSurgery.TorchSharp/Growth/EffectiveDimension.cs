using System;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Growth;

/// <summary>The ε-numerical rank of a layer's activations and φ_ED = rank / width (paper 004 eq. 2).</summary>
public sealed record EffectiveDimensionResult(long Rank, long Width, long Samples)
{
    /// <summary>φ_ED = |{σ ∈ SVD(H/√n) : σ &gt; ε}| / M.</summary>
    public double Phi => (double)Rank / Width;
}

/// <summary>
/// Effective dimension (paper 004 section 3, eq. 2, after Kumar et al. 2021): the number of singular values of
/// <c>H/√n</c> above ε, relative to the layer's width M. H holds one row per sample and one column per unit (a
/// convolution's positions are samples, eq. 2's flattening); computed on the activations' device in float64.
/// </summary>
public static class EffectiveDimension
{
    /// <summary>φ_ED of <paramref name="activations"/> <c>[n, M]</c>; n must exceed M (paper 004 appendix A: the buffer holds more samples than neurons).</summary>
    public static EffectiveDimensionResult Compute(Tensor activations, double epsilon, string layer = "activations")
    {
        ArgumentNullException.ThrowIfNull(activations);
        CheckEpsilon(epsilon, layer);
        if (activations.dim() != 2)
        {
            throw new ArgumentException($"layer '{layer}': activations of shape [{string.Join(", ", activations.shape)}]; expected [samples, units]", nameof(activations));
        }

        var (n, m) = (activations.shape[0], activations.shape[1]);
        if (n <= m)
        {
            throw new ArgumentException($"layer '{layer}': {n} samples for {m} units; the effective dimension needs more samples than units (paper 004 appendix A)", nameof(activations));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sigma = linalg.svdvals(activations.detach().to(ScalarType.Float64) / Math.Sqrt(n));
        return new EffectiveDimensionResult(sigma.gt(epsilon).sum().item<long>(), m, n);
    }

    /// <summary>Ranks of a batch <c>[C, n, M]</c> of activation matrices (NORTH-Select scores candidates this way): one count per matrix.</summary>
    internal static Tensor Ranks(Tensor batch, double epsilon)
    {
        var n = batch.shape[1];
        using var sigma = linalg.svdvals(batch.to(ScalarType.Float64) / Math.Sqrt(n));
        return sigma.gt(epsilon).sum(dim: 1);
    }

    internal static void CheckEpsilon(double epsilon, string layer)
    {
        if (!(epsilon > 0) || double.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"layer '{layer}': ε is {epsilon}; expected a small positive threshold (paper 004 uses 1e-2)");
        }
    }
}
