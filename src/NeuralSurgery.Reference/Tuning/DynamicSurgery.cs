using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Tensor = NeuralSurgery.Runtime.Reference.Tensor;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>The indicator f_p of Algorithm 1 (paper 000 section 4.4).</summary>
public enum DynamicIndicator
{
    /// <summary>Dyn-Δ: f_p = (w_p − w_i,p)², after the update.</summary>
    Delta,

    /// <summary>Dyn-Grad: f_p = g_p², the current gradient.</summary>
    Gradient,
}

/// <summary>Hyper-parameters of Algorithm 1; defaults are paper 000 appendix A.2.3 (CIFAR-10) except η.</summary>
public sealed record DynamicOptions
{
    /// <summary>n: parameters left to change when the deletions end.</summary>
    public required long N { get; init; }

    /// <summary>K_start: the first iteration at which deletions may happen.</summary>
    public int KStart { get; init; } = 100;

    /// <summary>K_every: deletions happen when K is a multiple of it.</summary>
    public int KEvery { get; init; } = 10;

    /// <summary>α: momentum of the indicators, I_p = α I_p + f_p.</summary>
    public double Alpha { get; init; } = 0.95;

    /// <summary>
    /// η: share of S deleted per deletion, N = min(|S| − n, ⌊η|S|⌋) as Algorithm 1 line 9 writes it. Appendix A.3's
    /// schedule (N_p·(kept share)^(rounds) ≈ 1) reads η as the share kept; to follow that, pass 1 − η here.
    /// </summary>
    public double Eta { get; init; } = 0.1;

    public DynamicIndicator Indicator { get; init; } = DynamicIndicator.Delta;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless n ≥ 0, K_every ≥ 1, K_start ≥ 0, α ≥ 0 and 0 &lt; η ≤ 1.</summary>
    public void EnsureValid()
    {
        if (N < 0 || KEvery < 1 || KStart < 0 || !(Alpha >= 0) || !(Eta > 0 && Eta <= 1))
        {
            throw new ArgumentOutOfRangeException("options", $"Dynamic surgery needs n >= 0, K_every >= 1, K_start >= 0, α >= 0 and 0 < η <= 1; got {this}.");
        }
    }
}

/// <summary>
/// Dyn-Δ and Dyn-Grad, paper 000 Algorithm 1: S starts as every parameter; each step updates only p ∈ S (gradient
/// masked before, non-members reset after), accumulates I_p = α I_p + f_p, and when K % K_every = 0, K ≥ K_start and
/// |S| &gt; n deletes the N = min(|S| − n, η|S|) members with the least I_p and resets them to w_i.
/// </summary>
/// <remarks>
/// An <see cref="IOptimizerHook"/>: the per-parameter work in <see cref="BeforeStep"/> and <see cref="AfterStep"/>,
/// lines 4 and 8-10 in <see cref="StepCompleted"/>, which the optimiser calls once after each of its steps; add it
/// to <see cref="Optimizer.Hooks"/> and nothing else needs wiring. Indicator and mask work is vectorised with <see cref="TensorPrimitives"/>; deletions use
/// <see cref="TopN"/> (selection, not sorting) restricted to S.
/// </remarks>
public sealed class DynamicSurgery : IOptimizerHook
{
    private readonly IReadOnlyDictionary<string, Tensor> _parameters;
    private readonly WeightSnapshot _indicators;
    private float[] _scratch = [];

    public DynamicSurgery(IReadOnlyDictionary<string, Tensor> parameters, WeightSnapshot initial, DynamicOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();

        _parameters = parameters;
        Initial = initial;
        Options = options;
        Allowed = initial.EmptyMask();
        Allowed.SetAll(true);
        AllowedCount = Allowed.TotalElements;
        if (options.N > AllowedCount)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"n = {options.N} is more than the {AllowedCount} parameter elements of the model.");
        }

        _indicators = WeightSnapshot.ZerosLike(initial);
    }

    public DynamicOptions Options { get; }

    public WeightSnapshot Initial { get; }

    /// <summary>S: the elements still allowed to change.</summary>
    public ParameterMask Allowed { get; private set; }

    /// <summary>|S|.</summary>
    public long AllowedCount { get; private set; }

    /// <summary>K of Algorithm 1 (starts at 1).</summary>
    public long K { get; private set; } = 1;

    /// <summary>I_p per element.</summary>
    public IReadOnlyList<KeyValuePair<string, float[]>> Indicators => _indicators;

    /// <summary>Deletions done so far.</summary>
    public int Deletions { get; private set; }

    public void BeforeStep(string name, Tensor parameter, Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        Allowed.MaskGradient(name, gradient.Span);
        if (Options.Indicator == DynamicIndicator.Gradient)
        {
            // Line 6 with f_p = g²: I ← αI + g·g (members only: the gradient of non-members is zero now).
            var indicator = _indicators[name];
            TensorPrimitives.Multiply(indicator, (float)Options.Alpha, indicator);
            TensorPrimitives.FusedMultiplyAdd(gradient.Span, gradient.Span, indicator, indicator);
        }
    }

    public void AfterStep(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var initial = Initial[name];
        Allowed.RestoreFrozen(name, parameter.Span, initial);
        if (Options.Indicator == DynamicIndicator.Delta)
        {
            // Line 6 with f_p = Δ² after the update; non-members have Δ = 0 after the reset above.
            var indicator = _indicators[name];
            if (_scratch.Length < indicator.Length)
            {
                _scratch = new float[indicator.Length];
            }

            var delta = _scratch.AsSpan(0, indicator.Length);
            TensorPrimitives.Subtract(parameter.Span, initial, delta);
            TensorPrimitives.Multiply(indicator, (float)Options.Alpha, indicator);
            TensorPrimitives.FusedMultiplyAdd(delta, delta, indicator, indicator);
        }
    }

    /// <summary>
    /// Lines 4 and 8-10 of Algorithm 1, once after every optimiser step. K is counted here rather than read from
    /// <paramref name="step"/> so that a hook added to an optimiser that already stepped still starts at K = 1.
    /// </summary>
    public void StepCompleted(long step)
    {
        K++;
        if (K % Options.KEvery == 0 && K >= Options.KStart && AllowedCount > Options.N)
        {
            var delete = Math.Min(AllowedCount - Options.N, (long)Math.Floor(Options.Eta * AllowedCount));
            // ⌊η|S|⌋ can round to 0 for a small S; delete at least one so that |S| still reaches n.
            Delete(Math.Max(delete, 1));
        }
    }

    /// <summary>
    /// Not in Algorithm 1: deletes down to exactly n now, by the same indicators, for runs too short to reach n on
    /// their own schedule, so the budget holds whatever the step count.
    /// </summary>
    public void Finish()
    {
        if (AllowedCount > Options.N)
        {
            Delete(AllowedCount - Options.N);
        }
    }

    private void Delete(long count)
    {
        // Keep the |S| − N members with the largest I_p (I_p >= 0, so magnitude order is value order).
        Allowed = TopN.Select(_indicators, AllowedCount - count, SelectionOrder.LargestMagnitude, Allowed);
        AllowedCount -= count;
        Deletions++;
        foreach (var (name, initial) in Initial)
        {
            if (_parameters.TryGetValue(name, out var p))
            {
                Allowed.RestoreFrozen(name, p.Span, initial);
            }
        }
    }
}
