using System;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// Restricts an optimiser to the elements set in a <see cref="ParameterMask"/>: the gradient is masked after
/// backward and before the step, and frozen elements are copied back from w_i after the step, because weight
/// decay and momentum (SGD's buffer, Adam's m and v) still move elements whose gradient is zero (TORCHSHARP.md,
/// training loop facts). Parameters the mask does not cover are frozen whole.
/// </summary>
/// <remarks>Selecting methods (paper 000 section 4.3) run with this hook and a mask of exactly n elements.</remarks>
public sealed class MaskHook : IOptimizerHook
{
    public MaskHook(ParameterMask mask, WeightSnapshot initial)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(initial);
        Mask = mask;
        Initial = initial;
    }

    public ParameterMask Mask { get; }

    /// <summary>w_i: the values frozen elements keep.</summary>
    public WeightSnapshot Initial { get; }

    public void BeforeStep(string name, Tensor parameter, Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        if (Mask.Contains(name))
        {
            Mask.MaskGradient(name, gradient.Span);
        }
        else
        {
            gradient.Span.Clear();
        }
    }

    public void AfterStep(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var initial = Initial[name];
        if (Mask.Contains(name))
        {
            Mask.RestoreFrozen(name, parameter.Span, initial);
        }
        else
        {
            initial.CopyTo(parameter.Data, 0);
        }
    }
}

/// <summary>
/// The Lagrange method (paper 000 section 4.2): L1 on w − w_i applied by soft thresholding after every optimiser
/// step, z = w′ − w_i (eq. 6), w = w_i + sgn(z)·max(|z| − γ, 0) (eq. 7), with γ = lr × λ read from the optimiser
/// at each step so learning-rate schedules carry over.
/// </summary>
public sealed class LagrangeHook : IOptimizerHook
{
    private readonly Optimizer _optimizer;

    public LagrangeHook(Optimizer optimizer, WeightSnapshot initial, double lambda)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(initial);
        if (!(lambda >= 0) || double.IsInfinity(lambda))
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be a finite number >= 0.");
        }

        _optimizer = optimizer;
        Initial = initial;
        Lambda = lambda;
    }

    public WeightSnapshot Initial { get; }

    public double Lambda { get; }

    /// <summary>γ = lr × λ for the current learning rate.</summary>
    public float Gamma => (float)(_optimizer.LearningRate * Lambda);

    public void BeforeStep(string name, Tensor parameter, Tensor gradient)
    {
    }

    public void AfterStep(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        SoftThreshold(parameter.Span, Initial[name], Gamma);
    }

    /// <summary>Eqs. 6-7 in place: elements within γ of w_i snap back to exactly w_i, the rest move γ towards it.</summary>
    public static void SoftThreshold(Span<float> weights, ReadOnlySpan<float> initial, float gamma)
    {
        if (weights.Length != initial.Length)
        {
            throw new ArgumentException($"Soft thresholding needs w and w_i of one size; got {weights.Length} and {initial.Length}.", nameof(initial));
        }

        for (var i = 0; i < weights.Length; i++)
        {
            var z = weights[i] - initial[i];
            var shrunk = MathF.Abs(z) - gamma;
            weights[i] = shrunk > 0 ? initial[i] + MathF.CopySign(shrunk, z) : initial[i];
        }
    }
}
