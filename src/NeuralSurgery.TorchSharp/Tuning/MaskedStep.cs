using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Sparse tuning inside a TorchSharp training loop with any optimizer: <see cref="Step"/> masks the gradients after
/// backward, steps, and restores frozen elements to w_i after the step, because weight decay and momentum (SGD's
/// buffer, Adam's moments) still move elements whose gradient is zero. TorchSharp has no tensor backward hooks, so
/// this is the place. Everything stays on the parameters' device.
/// </summary>
/// <example><code>
/// var step = new MaskedStep(model, mask);
/// optimizer.zero_grad(); loss.backward(); step.Step(optimizer);
/// </code></example>
public sealed class MaskedStep
{
    private readonly List<(string Name, Parameter Parameter)> _parameters;

    /// <summary>Snapshots w_i (the values frozen elements keep) from <paramref name="module"/> now.</summary>
    public MaskedStep(nn.Module module, DeviceMask mask)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(mask);
        _parameters = module.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        Mask = mask;
        Initial = _parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone(), StringComparer.Ordinal);
    }

    public DeviceMask Mask { get; private set; }

    /// <summary>w_i per parameter, on the parameter's device.</summary>
    public IReadOnlyDictionary<string, Tensor> Initial { get; }

    /// <summary>Masks the gradients, steps the optimizer, restores frozen elements.</summary>
    public void Step(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        MaskGradients();
        optimizer.step();
        RestoreFrozen();
    }

    /// <summary>g ← g ⊙ mask (parameters the mask does not name: g ← 0).</summary>
    public void MaskGradients()
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in _parameters)
        {
            if (p.grad is { } g)
            {
                if (Mask.Contains(name))
                {
                    g.mul_(Mask[name]);
                }
                else
                {
                    g.zero_();
                }
            }
        }
    }

    /// <summary>w ← where(mask, w, w_i).</summary>
    public void RestoreFrozen()
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in _parameters)
        {
            if (Mask.Contains(name))
            {
                p.copy_(torch.where(Mask[name], p, Initial[name]));
            }
            else
            {
                p.copy_(Initial[name]);
            }
        }
    }

    /// <summary>Replaces the mask (Algorithm 1 shrinks it as it goes); frozen elements are reset at once.</summary>
    public void SetMask(DeviceMask mask)
    {
        Mask = mask ?? throw new ArgumentNullException(nameof(mask));
        RestoreFrozen();
    }

    /// <summary>Elements that differ from w_i now.</summary>
    public long ChangedElements()
    {
        using var noGrad = torch.no_grad();
        return _parameters.Sum(p => p.Parameter.ne(Initial[p.Name]).sum().item<long>());
    }

    /// <summary>
    /// The Lagrange method (paper 000 section 4.2, eqs. 6-7) after a step: z = w − w_i, w = w_i + sgn(z)·max(|z| − γ, 0)
    /// with γ = lr × λ, on every parameter (the mask is not involved).
    /// </summary>
    public void SoftThreshold(double gamma)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be a finite number >= 0");
        }

        using var noGrad = torch.no_grad();
        foreach (var (name, p) in _parameters)
        {
            var initial = Initial[name];
            var z = p - initial;
            var shrunk = (z.abs() - gamma).clamp_min(0);
            p.copy_(initial + (z.sign() * shrunk));
        }
    }
}
