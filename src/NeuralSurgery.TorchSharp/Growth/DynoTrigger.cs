using System;

namespace NeuralSurgery.TorchSharp.Growth;

/// <summary>What a trigger evaluation decided for one layer: units to prune and to grow (at most one is positive).</summary>
public sealed record DynoDecision(double Phi, double? Baseline, long Width, long Prune, long Grow);

/// <summary>
/// DYNO's triggers for one layer (paper 004 section 3, eqs. 3-4) with the moving baseline φ*, the value of φ_ED at the
/// layer's last structural change:
/// <c>Trig_prune = ⌊M((1−δ)φ* − φ)⌋</c> and <c>Trig_grow = ⌊M(φ − (1+δ)φ*)⌋</c>, each clamped at zero (the paper prints
/// <c>min(0, |…|)</c>, which is always zero; the text, "a significant decrease is used to trigger pruning", means the
/// positive part). The first evaluation sets φ* and changes nothing; a change sets φ* to φ_ED of the changed layer
/// over the same buffered samples (<see cref="Rebase"/>: the kept units' activations after a pruning, the new units'
/// computed from the buffered inputs after a growth), so φ* is always the layer as it now is.
/// </summary>
public sealed class DynoTrigger
{
    public DynoTrigger(string layer, double delta)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (!(delta >= 0) || double.IsInfinity(delta))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"layer '{layer}': δ is {delta}; expected a small non-negative threshold (paper 004 uses 3e-2)");
        }

        Layer = layer;
        Delta = delta;
    }

    public string Layer { get; }

    public double Delta { get; }

    /// <summary>φ* (null until the first evaluation after a change).</summary>
    public double? Baseline { get; private set; }

    /// <summary>Evaluates the triggers on φ_ED of a layer of <paramref name="width"/> units.</summary>
    public DynoDecision Evaluate(double phi, long width)
    {
        if (double.IsNaN(phi) || phi < 0 || phi > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(phi), phi, $"layer '{Layer}': φ_ED is {phi}; expected a value in [0, 1]");
        }

        if (width < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"layer '{Layer}': width {width}; expected at least 1");
        }

        if (Baseline is not { } star)
        {
            Baseline = phi;
            return new DynoDecision(phi, null, width, 0, 0);
        }

        // A hair of slack so that a product that is an integer in exact arithmetic (20 · 0.45) is not rounded down.
        var prune = (long)Math.Floor(Math.Max(0, width * (((1 - Delta) * star) - phi)) + 1e-9);
        var grow = (long)Math.Floor(Math.Max(0, width * (phi - ((1 + Delta) * star))) + 1e-9);
        return new DynoDecision(phi, star, width, Math.Min(prune, width - 1), grow);
    }

    /// <summary>The layer changed shape: φ* becomes its φ_ED right after the change.</summary>
    public void Rebase(double phi)
    {
        if (double.IsNaN(phi) || phi < 0 || phi > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(phi), phi, $"layer '{Layer}': φ_ED is {phi}; expected a value in [0, 1]");
        }

        Baseline = phi;
    }
}
