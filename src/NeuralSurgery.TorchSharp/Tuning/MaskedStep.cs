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
    private Dictionary<string, Plan>? _plans;

    /// <summary>Snapshots w_i (the values frozen elements keep) from <paramref name="module"/> now.</summary>
    public MaskedStep(nn.Module module, DeviceMask mask)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(mask);
        _parameters = module.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        Initial = _parameters.ToDictionary(p => p.Name, p => p.Parameter.detach().clone(), StringComparer.Ordinal);
        Mask = mask;
        _plans = Plans(mask); // refuses a mask that does not fit now
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
            if (p.grad is not { } g)
            {
                continue;
            }

            var plan = CurrentPlans()[name];
            switch (plan.Kind)
            {
                case PlanKind.All:
                    break;
                case PlanKind.None:
                    g.zero_();
                    break;
                case PlanKind.Tunable:
                {
                    // Few tunable elements: keep their gradients, clear the rest in one write.
                    using var flat = g.view(-1);
                    using var kept = flat.index_select(0, plan.Indices!);
                    g.zero_();
                    flat.index_copy_(0, plan.Indices!, kept);
                    break;
                }

                default:
                {
                    using var flat = g.view(-1);
                    flat.index_fill_(0, plan.Indices!, 0);
                    break;
                }
            }
        }
    }

    /// <summary>Frozen elements back to w_i.</summary>
    public void RestoreFrozen()
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in _parameters)
        {
            var plan = CurrentPlans()[name];
            var initial = Initial[name];
            switch (plan.Kind)
            {
                case PlanKind.All:
                    break;
                case PlanKind.None:
                    p.copy_(initial);
                    break;
                case PlanKind.Tunable:
                {
                    // Few tunable elements: save them, copy w_i over everything, put them back.
                    using var flat = p.view(-1);
                    using var kept = flat.index_select(0, plan.Indices!);
                    p.copy_(initial);
                    flat.index_copy_(0, plan.Indices!, kept);
                    break;
                }

                default:
                {
                    using var flat = p.view(-1);
                    using var source = initial.view(-1).index_select(0, plan.Indices!);
                    flat.index_copy_(0, plan.Indices!, source);
                    break;
                }
            }
        }
    }

    /// <summary>Replaces the mask (Algorithm 1 shrinks it as it goes); frozen elements are reset at once.</summary>
    public void SetMask(DeviceMask mask)
    {
        Mask = mask ?? throw new ArgumentNullException(nameof(mask));
        _plans = null;
        RestoreFrozen();
    }

    /// <summary>The mask's tensors were rewritten in place (Algorithm 1's deletions on the CPU): plan again when next needed.</summary>
    internal void MaskChanged() => _plans = null;

    /// <summary>Plans are made when a pass first needs them, so masks that CPU kernels apply directly never pay for them.</summary>
    private Dictionary<string, Plan> CurrentPlans() => _plans ??= Plans(Mask);

    /// <summary>
    /// Per parameter, the cheapest form of its mask for the two passes above: nothing to do, everything frozen, or
    /// the flat indices of whichever side is smaller (kept on the device; 8 bytes per index).
    /// </summary>
    private Dictionary<string, Plan> Plans(DeviceMask mask)
    {
        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        foreach (var (name, p) in _parameters)
        {
            if (!mask.Contains(name))
            {
                plans[name] = new Plan(PlanKind.None, null);
                continue;
            }

            var m = mask[name];
            if (!m.shape.SequenceEqual(p.shape))
            {
                throw new ArgumentException($"the mask of '{name}' is [{string.Join(", ", m.shape)}] and the parameter [{string.Join(", ", p.shape)}]", nameof(mask));
            }

            var set = m.count_nonzero().item<long>();
            var total = p.NumberOfElements;
            plans[name] = set == total ? new Plan(PlanKind.All, null)
                : set == 0 ? new Plan(PlanKind.None, null)
                : set <= total / 2 ? new Plan(PlanKind.Tunable, m.view(-1).nonzero().view(-1))
                : new Plan(PlanKind.Frozen, m.view(-1).logical_not().nonzero().view(-1));
        }

        return plans;
    }

    private enum PlanKind
    {
        All,
        None,
        Tunable,
        Frozen,
    }

    private sealed record Plan(PlanKind Kind, Tensor? Indices);

    /// <summary>Elements that differ from w_i now.</summary>
    public long ChangedElements()
    {
        using var noGrad = torch.no_grad();
        return _parameters.Sum(p => p.Parameter.ne(Initial[p.Name]).count_nonzero().item<long>());
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
