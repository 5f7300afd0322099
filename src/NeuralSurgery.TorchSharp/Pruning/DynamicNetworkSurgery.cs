using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Pruning;

/// <summary>Hyper-parameters of dynamic network surgery (paper 003).</summary>
public sealed record DnsOptions
{
    /// <summary>c of the threshold t = max(μ + c·σ, 0) of |W| per layer (larger: sparser).</summary>
    public double C { get; init; }

    /// <summary>
    /// c per masked parameter, overriding <see cref="C"/> for the names given: the paper's implementation sets c
    /// (its c_rate) per layer, and a small output layer wants a lower c than the wide hidden ones.
    /// </summary>
    public IReadOnlyDictionary<string, double>? LayerC { get; init; }

    /// <summary>Prune below this share of t (hysteresis, the lower threshold a = 0.9·t).</summary>
    public double Prune { get; init; } = 0.9;

    /// <summary>Splice back above this share of t (the upper threshold b = 1.1·t).</summary>
    public double Splice { get; init; } = 1.1;

    /// <summary>γ of the mask-update probability (1 + γ·iter)^−power.</summary>
    public double Gamma { get; init; } = 1e-4;

    /// <summary>power of the mask-update probability.</summary>
    public double Power { get; init; } = 1;

    /// <summary>No mask updates from this iteration on.</summary>
    public long StopIteration { get; init; } = long.MaxValue;

    /// <summary>Seed of the draws that decide whether an iteration updates the masks.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// Dynamic network surgery (paper 003; the glossary's "Taylor criterion" is not what the paper prunes by): per weight,
/// a mask T that the forward pass uses (W ⊙ T) while the full W keeps learning from ∂L/∂(W ⊙ T), so a pruned weight
/// that grows back past the upper threshold is spliced in again. Per layer, t = max(μ + c·σ, 0) of |W| at the first
/// update; T ← 0 where |W| ≤ 0.9·t, T ← 1 where |W| &gt; 1.1·t, unchanged between (hysteresis). Masks are updated at
/// an iteration with probability (1 + γ·iter)^−power, never from the stop iteration on.
/// </summary>
/// <example><code>
/// var dns = new DynamicNetworkSurgery(model, new DnsOptions { C = 0.5 });
/// dns.BeginStep(); var loss = ...; optimizer.zero_grad(); loss.backward(); dns.EndStep(optimizer);
/// dns.Finish();   // the sparse model: W ⊙ T
/// </code></example>
public sealed class DynamicNetworkSurgery
{
    private readonly List<(string Name, Parameter Parameter)> _parameters;
    private readonly Dictionary<string, Tensor> _masks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Low, double High)> _thresholds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _full = new(StringComparer.Ordinal);
    private readonly Random _random;
    private readonly DnsOptions _options;

    /// <summary>Masks <paramref name="parameters"/> of <paramref name="model"/> (by default every weight of rank 2 or more: biases are not pruned).</summary>
    public DynamicNetworkSurgery(nn.Module model, DnsOptions options, IEnumerable<string>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (!(options.Prune > 0 && options.Prune <= 1 && options.Splice >= 1) || options.Gamma < 0 || options.Power < 0)
        {
            throw new ArgumentException($"DNS options: prune {options.Prune} must be in (0, 1], splice {options.Splice} at least 1, gamma {options.Gamma} and power {options.Power} non-negative", nameof(options));
        }

        var all = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var names = parameters?.ToList() ?? all.Where(p => p.Value.ndim >= 2).Select(p => p.Key).ToList();
        _parameters = [];
        foreach (var name in names)
        {
            if (!all.TryGetValue(name, out var p))
            {
                throw new ArgumentException($"the model has no parameter '{name}'; expected one of {string.Join(", ", all.Keys.Take(12).Select(k => "'" + k + "'"))}", nameof(parameters));
            }

            _parameters.Add((name, p));
            _masks[name] = torch.ones_like(p, dtype: ScalarType.Bool).detach();
        }

        foreach (var (name, c) in options.LayerC ?? new Dictionary<string, double>())
        {
            if (!_masks.ContainsKey(name) || !double.IsFinite(c))
            {
                throw new ArgumentException($"DNS options: LayerC names '{name}' (c = {c}); expected a finite c for one of the masked parameters {string.Join(", ", _masks.Keys.Select(k => "'" + k + "'"))}", nameof(options));
            }
        }

        _random = new Random(options.Seed);
    }

    /// <summary>Training iterations so far (calls of <see cref="EndStep"/>).</summary>
    public long Iteration { get; private set; }

    /// <summary>Elements pruned (1 → 0) over all mask updates.</summary>
    public long Pruned { get; private set; }

    /// <summary>Elements spliced back (0 → 1) over all mask updates.</summary>
    public long Spliced { get; private set; }

    /// <summary>The mask of each parameter (true: active), on its device.</summary>
    public IReadOnlyDictionary<string, Tensor> Masks => _masks;

    /// <summary>Share of the masked parameters' elements that are pruned now.</summary>
    public double Sparsity => 1 - ((double)_masks.Values.Sum(m => m.sum().item<long>()) / _masks.Values.Sum(m => m.NumberOfElements));

    /// <summary>
    /// Before the forward pass: maybe updates the masks from the full weights (with probability (1 + γ·iter)^−power,
    /// before the stop iteration), then puts W ⊙ T into the parameters for forward and backward.
    /// </summary>
    public void BeginStep()
    {
        if (_full.Count > 0)
        {
            throw new InvalidOperationException("BeginStep called twice: call EndStep after backward");
        }

        using var noGrad = no_grad();
        var draw = _random.NextDouble();
        if (Iteration < _options.StopIteration && draw <= Math.Pow(1 + (_options.Gamma * Iteration), -_options.Power))
        {
            UpdateMasks();
        }

        foreach (var (name, p) in _parameters)
        {
            _full[name] = p.detach().clone();
            p.mul_(_masks[name]);
        }
    }

    /// <summary>
    /// After backward: puts the full weights back and steps <paramref name="optimizer"/> with the gradient of the masked
    /// weights, ∂L/∂(W ⊙ T), so pruned weights keep learning (paper 003's splicing).
    /// </summary>
    public void EndStep(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (_full.Count == 0)
        {
            throw new InvalidOperationException("EndStep called without BeginStep before the forward pass");
        }

        using (no_grad())
        {
            foreach (var (name, p) in _parameters)
            {
                p.copy_(_full[name]);
                _full[name].Dispose();
            }
        }

        _full.Clear();
        optimizer.step();
        Iteration++;
    }

    /// <summary>Ends the surgery: the parameters become W ⊙ T for good (the sparse model).</summary>
    public void Finish()
    {
        if (_full.Count > 0)
        {
            throw new InvalidOperationException("Finish called between BeginStep and EndStep");
        }

        using var noGrad = no_grad();
        foreach (var (name, p) in _parameters)
        {
            p.mul_(_masks[name]);
        }
    }

    /// <summary>Rows of <paramref name="parameter"/> whose every weight is pruned: units with no input left, removable by a plan (their output is constant).</summary>
    public long[] FullyMaskedRows(string parameter)
    {
        if (!_masks.TryGetValue(parameter, out var mask))
        {
            throw new ArgumentException($"'{parameter}' is not masked; expected one of {string.Join(", ", _masks.Keys.Select(k => "'" + k + "'"))}", nameof(parameter));
        }

        using var rows = mask.reshape(mask.shape[0], -1).any(1).logical_not().nonzero().reshape(-1).cpu();
        return rows.data<long>().ToArray();
    }

    /// <summary>Thresholds per parameter: fixed at the first update from |W| then (paper 003 section 3.2).</summary>
    public IReadOnlyDictionary<string, (double Low, double High)> Thresholds => _thresholds;

    private void UpdateMasks()
    {
        foreach (var (name, p) in _parameters)
        {
            var magnitude = p.detach().abs();
            if (!_thresholds.TryGetValue(name, out var t))
            {
                var mean = magnitude.mean().item<float>();
                var std = magnitude.std(unbiased: false).item<float>();
                var c = _options.LayerC is not null && _options.LayerC.TryGetValue(name, out var layerC) ? layerC : _options.C;
                var threshold = Math.Max(mean + (c * std), 0);
                _thresholds[name] = t = (_options.Prune * threshold, _options.Splice * threshold);
            }

            var mask = _masks[name];
            var prune = magnitude.le(t.Low).logical_and(mask);
            var splice = magnitude.gt(t.High).logical_and(mask.logical_not());
            Pruned += prune.sum().item<long>();
            Spliced += splice.sum().item<long>();
            mask.masked_fill_(prune, false).masked_fill_(splice, true);
        }
    }
}
