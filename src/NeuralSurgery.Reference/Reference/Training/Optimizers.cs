using System;
using System.Collections.Generic;

namespace NeuralSurgery.Runtime.Reference.Training;

/// <summary>
/// Runs around every parameter update. Sparse tuning (paper 000) masks the gradient in <see cref="BeforeStep"/>
/// and re-masks the weight in <see cref="AfterStep"/>, because weight decay and momentum still move masked
/// elements (TORCHSHARP.md, training loop facts: mask after backward, before step, and again after step).
/// </summary>
public interface IOptimizerHook
{
    /// <summary>Before <paramref name="parameter"/> is updated; may change <paramref name="gradient"/> in place.</summary>
    void BeforeStep(string name, Tensor parameter, Tensor gradient);

    /// <summary>After <paramref name="parameter"/> was updated; may change it in place.</summary>
    void AfterStep(string name, Tensor parameter);

    /// <summary>
    /// Once after every parameter of optimiser step <paramref name="step"/> (<see cref="Optimizer.Steps"/>, from 1)
    /// was updated. For per-step state such as Algorithm 1's K and its deletions (paper 000): the optimiser is the
    /// one place every step passes through, whether a <see cref="Trainer"/> drives it or a caller does.
    /// </summary>
    void StepCompleted(long step)
    {
    }
}

/// <summary>
/// An optimiser over named parameter tensors (a <see cref="ReferenceModel.Parameters"/>), updated in place.
/// A parameter missing from the gradients of a step is skipped, as PyTorch skips parameters whose grad is None.
/// </summary>
public abstract class Optimizer
{
    private readonly List<IOptimizerHook> _hooks = [];

    protected Optimizer(IReadOnlyDictionary<string, Tensor> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(learningRate >= 0) || double.IsInfinity(learningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a finite number >= 0.");
        }

        Parameters = parameters;
        LearningRate = learningRate;
    }

    public IReadOnlyDictionary<string, Tensor> Parameters { get; }

    public double LearningRate { get; set; }

    /// <summary>Hooks run in order around each parameter's update.</summary>
    public IList<IOptimizerHook> Hooks => _hooks;

    /// <summary>Steps taken.</summary>
    public long Steps { get; private set; }

    /// <summary>Updates every parameter that has a gradient in <paramref name="gradients"/> (e.g. <see cref="Gradients.Parameters"/>).</summary>
    public void Step(IReadOnlyDictionary<string, Tensor> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        Steps++;
        foreach (var (name, parameter) in Parameters)
        {
            if (!gradients.TryGetValue(name, out var gradient))
            {
                continue;
            }

            if (!gradient.SameShape(parameter))
            {
                throw new ReferenceExecutionException($"gradient of parameter '{name}' has shape {gradient.ShapeString}; expected {parameter.ShapeString}");
            }

            foreach (var hook in _hooks)
            {
                hook.BeforeStep(name, parameter, gradient);
            }

            Update(name, parameter.Data, gradient.Data);
            foreach (var hook in _hooks)
            {
                hook.AfterStep(name, parameter);
            }
        }

        foreach (var hook in _hooks)
        {
            hook.StepCompleted(Steps);
        }
    }

    protected abstract void Update(string name, float[] parameter, float[] gradient);
}

/// <summary>
/// torch.optim.SGD: g ← g + λ·p; with momentum μ, b ← g on the first step, else b ← μ·b + (1 − dampening)·g, and
/// g ← b (or g + μ·b with Nesterov); p ← p − lr·g.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Dictionary<string, float[]> _momentum = new(StringComparer.Ordinal);

    public Sgd(IReadOnlyDictionary<string, Tensor> parameters, double learningRate, double momentum = 0, double weightDecay = 0, double dampening = 0, bool nesterov = false)
        : base(parameters, learningRate)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD).", nameof(nesterov));
        }

        Momentum = momentum;
        WeightDecay = weightDecay;
        Dampening = dampening;
        Nesterov = nesterov;
    }

    public double Momentum { get; }

    public double WeightDecay { get; }

    public double Dampening { get; }

    public bool Nesterov { get; }

    protected override void Update(string name, float[] p, float[] g)
    {
        float lr = (float)LearningRate, wd = (float)WeightDecay, mu = (float)Momentum, damp = (float)(1 - Dampening);
        float[]? buffer = null;
        var first = false;
        if (Momentum != 0 && !_momentum.TryGetValue(name, out buffer))
        {
            buffer = new float[p.Length];
            _momentum.Add(name, buffer);
            first = true;
        }

        for (var i = 0; i < p.Length; i++)
        {
            var d = g[i] + (wd * p[i]);
            if (buffer is not null)
            {
                buffer[i] = first ? d : (mu * buffer[i]) + (damp * d);
                d = Nesterov ? d + (mu * buffer[i]) : buffer[i];
            }

            p[i] -= lr * d;
        }
    }
}

/// <summary>
/// torch.optim.Adam (amsgrad off): g ← g + λ·p (L2, not AdamW's decoupled decay); m ← m + (1 − β1)·(g − m) (lerp);
/// v ← β2·v + (1 − β2)·g²; p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε), with ε added after the bias
/// correction of √v as PyTorch does, and t counted per parameter.
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly Dictionary<string, (float[] M, float[] V, long[] Step)> _state = new(StringComparer.Ordinal);

    public Adam(IReadOnlyDictionary<string, Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam betas must lie in [0, 1); got ({beta1}, {beta2}).");
        }

        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    protected override void Update(string name, float[] p, float[] g)
    {
        if (!_state.TryGetValue(name, out var s))
        {
            s = (new float[p.Length], new float[p.Length], new long[1]);
            _state.Add(name, s);
        }

        var t = ++s.Step[0];
        var bc1 = 1 - Math.Pow(Beta1, t);
        var bc2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, t));
        var stepSize = (float)(LearningRate / bc1);
        // Scalars in double, then rounded once, as PyTorch passes Python floats to its float32 kernels.
        float w1 = (float)(1 - Beta1), b2 = (float)Beta2, w2 = (float)(1 - Beta2), wd = (float)WeightDecay, eps = (float)Eps, c2 = (float)bc2Sqrt;
        var m = s.M;
        var v = s.V;
        for (var i = 0; i < p.Length; i++)
        {
            var d = g[i] + (wd * p[i]);
            m[i] += w1 * (d - m[i]);
            v[i] = (b2 * v[i]) + (w2 * d * d);
            var denom = (MathF.Sqrt(v[i]) / c2) + eps;
            p[i] -= stepSize * m[i] / denom;
        }
    }
}
