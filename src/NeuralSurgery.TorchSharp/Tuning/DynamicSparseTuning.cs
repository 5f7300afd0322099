using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Tuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Dyn-Δ and Dyn-Grad, paper 000 Algorithm 1, in a TorchSharp training loop on the parameters' device: S starts as
/// every parameter element (or a given mask); each <see cref="Step"/> updates only p ∈ S (gradient masked before,
/// non-members reset to w_i after), accumulates I_p = α I_p + f_p (f_p = (w_p − w_i,p)² after the update for Dyn-Δ,
/// g_p² for Dyn-Grad), and when K % K_every = 0, K ≥ K_start and |S| &gt; n deletes the N = min(|S| − n, ⌊η|S|⌋)
/// members with the least I_p (top-n on the device) and resets them. Same schedule and options as the reference
/// runtime's <see cref="DynamicSurgery"/>.
/// </summary>
/// <remarks>
/// Contiguous float32 CPU parameters take <see cref="CpuKernels"/>: one fused pass before the optimizer while some
/// elements are frozen, one after it, and deletions in two passes that rewrite the mask in place; anything else
/// (CUDA included) takes libtorch's ops. Both give the same masks and values.
/// </remarks>
public sealed class DynamicSparseTuning
{
    private readonly List<(string Name, Parameter Parameter)> _parameters;
    private readonly Dictionary<string, Tensor> _indicators;
    private readonly Dictionary<string, Tensor> _scratch;
    private readonly Dictionary<string, long> _members;
    private readonly MaskedStep _step;
    private readonly bool _cpuKernels;

    public DynamicSparseTuning(nn.Module module, DynamicOptions options, DeviceMask? start = null)
        : this(module, options, start, cpuKernels: true)
    {
    }

    /// <summary>Without <paramref name="cpuKernels"/> CPU tensors take libtorch's ops too (tests compare the two).</summary>
    internal DynamicSparseTuning(nn.Module module, DynamicOptions options, DeviceMask? start, bool cpuKernels)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();

        Options = options;
        _cpuKernels = cpuKernels && CpuKernels.Available;
        _parameters = module.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        // Deletions rewrite the mask in place: the caller's start mask stays as it was.
        _step = new MaskedStep(module, start?.Clone() ?? DeviceMask.All(module));
        _members = _parameters.Where(p => _step.Mask.Contains(p.Name))
            .ToDictionary(p => p.Name, p => _step.Mask[p.Name].count_nonzero().item<long>(), StringComparer.Ordinal);
        AllowedCount = _members.Values.Sum();
        if (options.N > AllowedCount)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"n = {options.N} is more than the {AllowedCount} elements allowed to change");
        }

        _indicators = _parameters.ToDictionary(p => p.Name, p => torch.zeros_like(p.Parameter).detach(), StringComparer.Ordinal);
        _scratch = new Dictionary<string, Tensor>(StringComparer.Ordinal); // Δ for libtorch's ops
    }

    public DynamicOptions Options { get; }

    /// <summary>S: the elements still allowed to change. Deletions update these tensors in place; clone to keep a past S.</summary>
    public DeviceMask Allowed => _step.Mask;

    /// <summary>|S|.</summary>
    public long AllowedCount { get; private set; }

    /// <summary>K of Algorithm 1 (starts at 1).</summary>
    public long K { get; private set; } = 1;

    public int Deletions { get; private set; }

    /// <summary>w_i.</summary>
    public IReadOnlyDictionary<string, Tensor> Initial => _step.Initial;

    /// <summary>I_p per parameter.</summary>
    public IReadOnlyDictionary<string, Tensor> Indicators => _indicators;

    /// <summary>One step of Algorithm 1 after <c>loss.backward()</c>.</summary>
    public void Step(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var deleting = (K + 1) % Options.KEvery == 0 && K + 1 >= Options.KStart && AllowedCount > Options.N;
        // ⌊η|S|⌋ can be 0 for a small S; |S| must still reach n.
        var delete = deleting ? Math.Max(Math.Min(AllowedCount - Options.N, (long)Math.Floor(Options.Eta * AllowedCount)), 1) : 0;
        CpuKernels.Precount? precount = null;
        if (OnCpu(gradients: true))
        {
            precount = CpuStep(optimizer, deleting ? AllowedCount - delete : -1);
        }
        else
        {
            TorchStep(optimizer);
        }

        K++;
        if (deleting)
        {
            Delete(delete, precount);
        }
    }

    /// <summary>Not in Algorithm 1: deletes down to exactly n now, for runs too short to get there on schedule.</summary>
    public void Finish()
    {
        if (AllowedCount > Options.N)
        {
            Delete(AllowedCount - Options.N, null);
        }
    }

    /// <summary>Whether every parameter, its w_i, I, mask (and gradient) suit <see cref="CpuKernels"/>.</summary>
    private bool OnCpu(bool gradients) =>
        _cpuKernels && _parameters.All(p =>
            _step.Mask.Contains(p.Name)
            && CpuKernels.Fits(p.Parameter, ScalarType.Float32)
            && CpuKernels.Fits(_step.Initial[p.Name], ScalarType.Float32)
            && CpuKernels.Fits(_indicators[p.Name], ScalarType.Float32)
            && CpuKernels.Fits(_step.Mask[p.Name], ScalarType.Bool)
            && (!gradients || p.Parameter.grad is not { } g || CpuKernels.Fits(g, ScalarType.Float32)));

    /// <summary>The mask of a parameter for the kernels, null while every element of it is a member (nothing to read).</summary>
    private Tensor? PartialMask(string name, Tensor parameter) =>
        _members[name] == parameter.NumberOfElements ? null : _step.Mask[name];

    /// <summary>
    /// One step by <see cref="CpuKernels"/>. Before a deletion that keeps <paramref name="keep"/> (−1: none), I after
    /// the step is predicted at sampled members to bracket the threshold, and the pass that writes I counts against
    /// it (paper 000 Algorithm 1 lines 6 and 9 in one pass over memory); the returned precount holds those counts.
    /// </summary>
    private CpuKernels.Precount? CpuStep(OptimizerHelper optimizer, long keep)
    {
        var alpha = (float)Options.Alpha;
        var gradient = Options.Indicator == DynamicIndicator.Gradient;
        CpuKernels.Precount? precount = null;
        using (torch.no_grad())
        {
            if (gradient && keep >= 0)
            {
                precount = Precount(keep, (sample, stride) =>
                {
                    foreach (var (name, p) in _parameters)
                    {
                        CpuKernels.PredictGradient(sample, p.grad, PartialMask(name, p), _indicators[name], alpha, stride);
                    }
                });
            }

            for (var i = 0; i < _parameters.Count; i++)
            {
                var (name, p) = _parameters[i];
                if (p.grad is { } g && (gradient || PartialMask(name, p) is not null))
                {
                    CpuKernels.BeforeStep(g, PartialMask(name, p), gradient ? _indicators[name] : null, alpha, precount, i);
                }
            }
        }

        optimizer.step();
        using (torch.no_grad())
        {
            if (!gradient && keep >= 0)
            {
                precount = Precount(keep, (sample, stride) =>
                {
                    foreach (var (name, p) in _parameters)
                    {
                        CpuKernels.PredictDelta(sample, p, _step.Initial[name], PartialMask(name, p), _indicators[name], alpha, stride);
                    }
                });
            }

            for (var i = 0; i < _parameters.Count; i++)
            {
                var (name, p) = _parameters[i];
                if (!gradient || PartialMask(name, p) is not null)
                {
                    CpuKernels.AfterStep(p, _step.Initial[name], PartialMask(name, p), gradient ? null : _indicators[name], alpha, gradient ? null : precount, i);
                }
            }
        }

        return precount;
    }

    /// <summary>The bracket of a deletion keeping <paramref name="keep"/> from predicted indicators, and counts to come.</summary>
    private CpuKernels.Precount Precount(long keep, Action<List<float>, long> predict) =>
        new(
            CpuKernels.Bracket(AllowedCount, keep, () =>
            {
                var sample = new List<float>();
                predict(sample, CpuKernels.SampleStride(_parameters.Sum(p => p.Parameter.NumberOfElements)));
                return [.. sample];
            }),
            _parameters.Select(p => p.Parameter.NumberOfElements));

    private void TorchStep(OptimizerHelper optimizer)
    {
        var alpha = Options.Alpha;
        _step.MaskGradients();
        using (torch.no_grad())
        {
            if (Options.Indicator == DynamicIndicator.Gradient)
            {
                foreach (var (name, p) in _parameters)
                {
                    if (p.grad is { } g)
                    {
                        // Members only: the others' gradient is zero now.
                        _indicators[name].mul_(alpha).addcmul_(g, g, 1);
                    }
                }
            }
        }

        optimizer.step();
        _step.RestoreFrozen();
        using (torch.no_grad())
        {
            if (Options.Indicator == DynamicIndicator.Delta)
            {
                foreach (var (name, p) in _parameters)
                {
                    // Δ is zero for non-members after the reset.
                    if (!_scratch.TryGetValue(name, out var scratch))
                    {
                        scratch = torch.empty_like(p).detach();
                        _scratch[name] = scratch;
                    }

                    var delta = scratch.copy_(p).sub_(_step.Initial[name]);
                    _indicators[name].mul_(alpha).addcmul_(delta, delta, 1);
                }
            }
        }
    }

    private void Delete(long count, CpuKernels.Precount? precount)
    {
        var keep = AllowedCount - count;
        var order = _parameters.Select(p => p.Name).ToList();
        using (torch.no_grad())
        {
            if (OnCpu(gradients: false))
            {
                // The step's pass counted against the bracket (else a counting pass does); one more rewrites the mask
                // and resets the deleted members to w_i.
                var kept = CpuKernels.Select(
                    [.. _parameters.Select(p => new CpuKernels.Segment(
                        p.Name,
                        CpuKernels.Address(_indicators[p.Name]),
                        CpuKernels.Address(_step.Mask[p.Name]),
                        CpuKernels.Address(_step.Mask[p.Name]),
                        CpuKernels.Address(p.Parameter),
                        CpuKernels.Address(_step.Initial[p.Name]),
                        p.Parameter.NumberOfElements))],
                    AllowedCount,
                    keep,
                    precount);
                for (var i = 0; i < _parameters.Count; i++)
                {
                    _members[_parameters[i].Name] = kept[i];
                }

                _step.MaskChanged();
            }
            else
            {
                // Copied into S's own tensors, so that S is updated in place on every device alike.
                var next = DeviceMask.TopN(_indicators, order, keep, _step.Mask, cpuKernels: false);
                foreach (var name in order)
                {
                    using var chosen = next[name];
                    _step.Mask[name].copy_(chosen);
                    _members[name] = chosen.count_nonzero().item<long>();
                }

                _step.MaskChanged();
                _step.RestoreFrozen();
            }
        }

        AllowedCount = keep;
        Deletions++;
    }
}

/// <summary>
/// The selecting methods of paper 000 section 4.3 for live modules: each picks exactly n elements before tuning, which
/// then runs with a <see cref="MaskedStep"/> over the result.
/// </summary>
public static class DeviceSelection
{
    /// <summary>
    /// Sel-Rand: n elements drawn uniformly (seeded). The draw is the reference runtime's (<see cref="Selection.Random"/>),
    /// so the same seed picks the same elements on either runtime.
    /// </summary>
    public static DeviceMask Random(nn.Module module, long n, int seed, ParameterMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        var like = module.named_parameters().Select(p => new KeyValuePair<string, float[]>(p.name, new float[p.parameter.NumberOfElements])).ToList();
        return DeviceMask.From(Selection.Random(like, n, seed, among), module);
    }

    /// <summary>Sel-Δ: top-n |w_r − w_i|, with w_r a model tuned by the baseline method.</summary>
    public static DeviceMask ByDelta(IReadOnlyDictionary<string, Tensor> initial, nn.Module reference, long n, DeviceMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(reference);
        using var noGrad = torch.no_grad();
        var parameters = reference.named_parameters().ToList();
        var delta = parameters.ToDictionary(p => p.name, p => (p.parameter - initial[p.name]).abs(), StringComparer.Ordinal);
        return DeviceMask.TopN(delta, [.. parameters.Select(p => p.name)], n, among);
    }

    /// <summary>Sel-Grad: top-n |g| of a gradient (e.g. the mean gradient at w_i over the tuning data).</summary>
    public static DeviceMask ByGradient(IReadOnlyDictionary<string, Tensor> gradient, IReadOnlyList<string> order, long n, DeviceMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(gradient);
        using var noGrad = torch.no_grad();
        var magnitude = gradient.ToDictionary(kv => kv.Key, kv => kv.Value.abs(), StringComparer.Ordinal);
        return DeviceMask.TopN(magnitude, order, n, among);
    }

    /// <summary>
    /// Sel-LCA (paper 000 section 4.3, eqs. 8-10): the n smallest (most negative) loss change allocations on the
    /// straight path from w_i to w_r, LCA_k = Σ_t L′_k · (θ_{t+1} − θ_t)_k over <paramref name="steps"/> equal steps with
    /// the RK4 rule ⅙(L′(θ_t) + 4L′((θ_t + θ_{t+1})/2) + L′(θ_{t+1})), as the reference runtime computes it.
    /// </summary>
    public static DeviceMask ByLca(
        nn.Module model,
        IReadOnlyDictionary<string, Tensor> initial,
        IReadOnlyDictionary<string, Tensor> reference,
        Func<nn.Module, IReadOnlyDictionary<string, Tensor>> gradient,
        int steps,
        long n,
        DeviceMask? among = null)
    {
        var lca = Lca(model, initial, reference, gradient, steps);
        using var noGrad = torch.no_grad();
        var negated = lca.ToDictionary(kv => kv.Key, kv => kv.Value.neg(), StringComparer.Ordinal);
        return DeviceMask.TopN(negated, [.. model.named_parameters().Select(p => p.name)], n, among);
    }

    /// <summary>
    /// LCA_k of every element (Σ_k LCA_k ≈ L(w_r) − L(w_i), eq. 9). <paramref name="gradient"/> gives the mean
    /// training-loss gradient at the model's current weights (see <see cref="MeanGradient"/>); the model gets its
    /// weights back on return.
    /// </summary>
    public static Dictionary<string, Tensor> Lca(
        nn.Module model,
        IReadOnlyDictionary<string, Tensor> initial,
        IReadOnlyDictionary<string, Tensor> reference,
        Func<nn.Module, IReadOnlyDictionary<string, Tensor>> gradient,
        int steps)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var parameters = model.named_parameters().Where(p => initial.ContainsKey(p.name)).ToList();
        var saved = parameters.ToDictionary(p => p.name, p => p.parameter.detach().clone(), StringComparer.Ordinal);
        var lca = parameters.ToDictionary(p => p.name, p => torch.zeros_like(p.parameter).detach(), StringComparer.Ordinal);
        try
        {
            // g(θ_t) is shared by steps t−1 and t: 2T + 1 gradient evaluations in all.
            var previous = At(0);
            for (var t = 0; t < steps; t++)
            {
                var mid = At((t + 0.5) / steps);
                var next = At((t + 1.0) / steps);
                using var noGrad = torch.no_grad();
                foreach (var (name, acc) in lca)
                {
                    using var step = (reference[name] - initial[name]) / steps;
                    using var rule = (previous[name] + (mid[name] * 4) + next[name]) / 6;
                    acc.addcmul_(rule, step, 1);
                }

                previous = next;
            }
        }
        finally
        {
            using var noGrad = torch.no_grad();
            foreach (var (name, p) in parameters)
            {
                p.copy_(saved[name]);
            }
        }

        return lca;

        IReadOnlyDictionary<string, Tensor> At(double fraction)
        {
            using (torch.no_grad())
            {
                foreach (var (name, p) in parameters)
                {
                    p.copy_(initial[name] + ((reference[name] - initial[name]) * (float)fraction));
                }
            }

            return gradient(model);
        }
    }

    /// <summary>
    /// ∇L at the module's current weights in eval mode, for Sel-Grad and Sel-LCA: <paramref name="loss"/> computes the
    /// loss (the mean over the tuning data, as the user defines it) with the module's own forward.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> MeanGradient(nn.Module model, Func<nn.Module, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        var training = model.training;
        model.eval();
        try
        {
            model.zero_grad();
            loss(model).backward();
            return model.named_parameters().ToDictionary(
                p => p.name,
                p => p.parameter.grad is { } g ? g.detach().clone() : torch.zeros_like(p.parameter).detach(),
                StringComparer.Ordinal);
        }
        finally
        {
            model.zero_grad();
            model.train(training);
        }
    }
}
