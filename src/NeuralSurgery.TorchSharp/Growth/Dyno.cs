using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.TorchSharp.Pruning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Growth;

/// <summary>A layer DYNO may grow and prune: a Linear module path, and what follows it in forward (its post-activation).</summary>
public sealed record DynoLayer(string Name, Func<Tensor, Tensor>? Activation = null);

/// <summary>DYNO's settings; the defaults are paper 004 appendix A's.</summary>
public sealed record DynoOptions
{
    /// <summary>Trigger evaluations every K optimizer steps (paper: 50).</summary>
    public int Every { get; init; } = 50;

    /// <summary>ε of the effective dimension (paper: 1e-2).</summary>
    public double Epsilon { get; init; } = 1e-2;

    /// <summary>δ of the triggers (paper: 3e-2).</summary>
    public double Delta { get; init; } = 3e-2;

    /// <summary>The FIFO buffer holds max(BufferMinimum, BufferFactor · width) samples: more than the layer has units.</summary>
    public long BufferMinimum { get; init; } = 256;

    public double BufferFactor { get; init; } = 2;

    /// <summary>NORTH-Select candidates per unit to grow (paper: 100 × Trig_grow), capped by <see cref="MaxCandidates"/>.</summary>
    public long CandidatesPerUnit { get; init; } = 100;

    public long MaxCandidates { get; init; } = 2000;

    /// <summary>New fan-in norm relative to the existing units' mean fan-in norm.</summary>
    public double FanInScale { get; init; } = 1;

    /// <summary>|h| at or below which a unit counts as dormant.</summary>
    public double DormantTolerance { get; init; }

    public long MinWidth { get; init; } = 1;

    public long MaxWidth { get; init; } = long.MaxValue;

    /// <summary>Seeds NORTH-Select's candidates and the plans' random elements.</summary>
    public int Seed { get; init; }

    /// <summary>Runs data through a module (calling the consumers with call) so that pruned live units are mean-replaced; without it they are zero-replaced (dormant units are exact either way).</summary>
    public Action<nn.Module>? MeanData { get; init; }

    /// <summary>A scalar (a loss on a fixed set) recorded before and after every structural change.</summary>
    public Func<nn.Module, double>? Evaluate { get; init; }

    /// <summary>Outputs on a fixed probe, compared before and after every change: paper 001 eq. 1.</summary>
    public Func<nn.Module, Tensor>? Probe { get; init; }
}

/// <summary>One structural change: the units, widths, the trigger's φ and φ* (and φ* after it), the plan applied and what it changed.</summary>
public sealed record DynoEvent(
    long Step,
    string Layer,
    bool Grew,
    long From,
    long To,
    double Phi,
    double Baseline,
    double NewBaseline,
    IReadOnlyList<long> Units,
    SurgeryPlan Plan,
    double? Before,
    double? After,
    double? MaxOutputChange)
{
    /// <summary><see cref="After"/> − <see cref="Before"/>.</summary>
    public double? Change => After - Before;
}

/// <summary>
/// DYNO grow-and-prune (paper 004 Algorithm 1) around a TorchSharp training loop. Call <see cref="Step"/> after each
/// optimizer step; every K steps each layer's φ_ED over its activation buffer is put to the triggers, and a change is
/// made as surgery: pruning by <see cref="UnitRemoval"/> (dormant units, then cosine similarity; mean replacement
/// when data is given), growth by <see cref="UnitGrowth"/> with NORTH-Select fan-in and zero fan-out. The new model
/// (made by the caller's factory at the new widths) gets the plan by <see cref="LiveSurgery"/>, the new optimizer the
/// old one's state by <see cref="OptimizerCarry"/>; <see cref="Model"/> and <see cref="Optimizer"/> are then the new
/// ones. One layer changes per evaluation (after a change the other layers' buffers hold activations of the old model).
/// </summary>
public sealed class Dyno : IDisposable
{
    private readonly Func<IReadOnlyDictionary<string, long>, nn.Module> _create;
    private readonly Func<nn.Module, OptimizerHelper> _optimizerFor;
    private readonly DynoLayer[] _layers;
    private readonly Dictionary<string, DynoTrigger> _triggers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _widths = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ActivationBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly List<DynoEvent> _events = [];
    private readonly Generator _generator;
    private bool _ownsModel;
    private long _step;

    public Dyno(
        ModelSide side,
        nn.Module model,
        OptimizerHelper optimizer,
        Func<IReadOnlyDictionary<string, long>, nn.Module> create,
        Func<nn.Module, OptimizerHelper> optimizerFor,
        IEnumerable<DynoLayer> layers,
        DynoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(side);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(optimizerFor);
        ArgumentNullException.ThrowIfNull(layers);
        Options = options ?? new DynoOptions();
        EffectiveDimension.CheckEpsilon(Options.Epsilon, "(all)");
        if (Options.Every < 1 || Options.BufferMinimum < 2 || !(Options.BufferFactor > 1) || Options.MinWidth < 1 || Options.MaxWidth < Options.MinWidth)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"DYNO options: every {Options.Every} steps, buffer max({Options.BufferMinimum}, {Options.BufferFactor}·width), widths {Options.MinWidth}..{Options.MaxWidth}; expected K ≥ 1, a buffer factor > 1 (more samples than units), 1 ≤ min ≤ max");
        }

        TorchSharpNative.EnsureLoaded();
        _create = create;
        _optimizerFor = optimizerFor;
        _layers = layers.ToArray();
        Side = side;
        Model = model;
        Optimizer = optimizer;
        _generator = new Generator((ulong)Options.Seed);
        if (_layers.Length == 0)
        {
            throw new ArgumentException("DYNO needs at least one layer to grow and prune", nameof(layers));
        }

        foreach (var layer in _layers)
        {
            var module = side.Graph.FindModule(layer.Name)
                ?? throw new PlanException($"model '{side.Graph.Name}' has no layer '{layer.Name}'; expected one of {string.Join(", ", side.Graph.Modules.Where(m => m.Spec is LinearSpec).Select(m => "'" + m.Path + "'"))}");
            if (module.Spec is not LinearSpec linear)
            {
                throw new PlanException($"layer '{layer.Name}' is a {module.Spec.Kind}; DYNO grows Linear layers (NORTH-Select chooses a Linear's rows); grow others with UnitGrowth.Plan");
            }

            _ = UnitGrowth.Plan(side, layer.Name, 1); // refuses a head, a layer whose width cannot follow, ... by name, before training starts
            _widths[layer.Name] = linear.OutFeatures;
            _triggers[layer.Name] = new DynoTrigger(layer.Name, Options.Delta);
        }

        Attach();
    }

    public DynoOptions Options { get; }

    /// <summary>The model as it now is (a new instance after every change).</summary>
    public nn.Module Model { get; private set; }

    /// <summary>The optimizer over <see cref="Model"/>'s parameters.</summary>
    public OptimizerHelper Optimizer { get; private set; }

    /// <summary>The graph and Φ of <see cref="Model"/>.</summary>
    public ModelSide Side { get; private set; }

    public IReadOnlyDictionary<string, long> Widths => _widths;

    public IReadOnlyList<DynoEvent> Events => _events;

    /// <summary>The trigger of a layer (its φ*).</summary>
    public DynoTrigger Trigger(string layer) => _triggers[layer];

    /// <summary>
    /// After an optimizer step: every K steps, evaluates the triggers and makes at most one change; returns the changes
    /// made. A layer's first φ* is measured as soon as its buffer first fills (the model's creation is its first
    /// structural change), not K steps later.
    /// </summary>
    public IReadOnlyList<DynoEvent> Step()
    {
        _step++;
        return _step % Options.Every == 0 ? EvaluateNow() : Evaluate(onlyUnset: true);
    }

    /// <summary>Evaluates every layer's triggers now (a layer whose buffer is not full yet waits).</summary>
    public IReadOnlyList<DynoEvent> EvaluateNow() => Evaluate(onlyUnset: false);

    private IReadOnlyList<DynoEvent> Evaluate(bool onlyUnset)
    {
        foreach (var layer in _layers)
        {
            var buffer = _buffers[layer.Name];
            if (!buffer.IsFull || (onlyUnset && _triggers[layer.Name].Baseline is not null))
            {
                continue;
            }

            // Selection runs in a dispose scope; the change (new model, optimizer state) is made outside it.
            Pending? pending = null;
            DynoDecision decision;
            using (var scope = NewDisposeScope())
            {
                var activations = buffer.Activations();
                var phi = EffectiveDimension.Compute(activations, Options.Epsilon, layer.Name).Phi;
                var width = _widths[layer.Name];
                decision = _triggers[layer.Name].Evaluate(phi, width);
                var prune = Math.Min(decision.Prune, width - Options.MinWidth);

                // φ* after a growth is measured over the buffer, which must hold more samples than the grown layer has units.
                var grow = Math.Min(Math.Min(decision.Grow, Options.MaxWidth - width), activations.shape[0] - width - 1);
                if (prune > 0)
                {
                    pending = Prune(layer, activations, prune);
                }
                else if (grow > 0)
                {
                    pending = Grow(layer, buffer.Inputs(), activations, grow);
                }
            }

            if (pending is { } p)
            {
                var made = Change(layer, p, decision);
                _events.Add(made);
                return [made];
            }
        }

        return [];
    }

    public void Dispose()
    {
        Detach();
        if (_ownsModel)
        {
            Model.Dispose();
        }

        _generator.Dispose();
    }

    private Pending Prune(DynoLayer layer, Tensor activations, long count)
    {
        var units = DynoSelection.Prune(activations, count, layer.Name, Options.DormantTolerance);
        var removal = UnitRemoval.Plan(Side, layer.Name, units);
        var plan = removal.Plan;
        if (Options.MeanData is { } data && removal.Consumers.Any(c => c.Bias is not null))
        {
            // Paper 002 section 3.1: the removed units' mean output goes into the next bias (exact for dormant units).
            Pause(() =>
            {
                using var noGrad = no_grad();
                plan = LiveMeanReplacement.Plan(removal, Model, LiveMeanReplacement.MeasureInputMeans(Model, removal, () => data(Model)));
            });
        }

        using var kept = tensor(Enumerable.Range(0, (int)activations.shape[1]).Where(i => Array.BinarySearch(units, (long)i) < 0).Select(i => (long)i).ToArray(), device: activations.device);
        using var rest = activations.index_select(1, kept);
        var after = EffectiveDimension.Compute(rest, Options.Epsilon, layer.Name).Phi;
        return new Pending(plan, removal.Narrowed, _widths[layer.Name] - units.Length, units, after, Grew: false);
    }

    private Pending Grow(DynoLayer layer, Tensor inputs, Tensor activations, long count)
    {
        var state = Model.state_dict();
        var weight = state[layer.Name + ".weight"];
        var bias = state.TryGetValue(layer.Name + ".bias", out var b) ? b : null;
        var fanIn = DynoSelection.North(inputs, activations, weight, bias, layer.Activation ?? (t => t.alias()), count, Options.Epsilon, layer.Name, _generator, Options.CandidatesPerUnit, Options.FanInScale, Options.MaxCandidates);
        var growth = UnitGrowth.WithFanIn(UnitGrowth.Plan(Side, layer.Name, count), layer.Name + ".weight", bias is null ? null : layer.Name + ".bias", fanIn.Weights, bias is null ? null : fanIn.Biases);
        double after;
        using (var scope = NewDisposeScope())
        {
            var x = inputs.to(ScalarType.Float64);
            var w = tensor(fanIn.Weights.SelectMany(r => r).ToArray(), [count, x.shape[1]], ScalarType.Float64, x.device);
            var pre = x.matmul(w.t()) + tensor(fanIn.Biases, ScalarType.Float64, x.device);
            var grown = cat([activations.to(ScalarType.Float64), (layer.Activation ?? (t => t.alias()))(pre)], 1);
            after = EffectiveDimension.Compute(grown, Options.Epsilon, layer.Name).Phi;
        }

        return new Pending(growth.Plan, growth.Widened, growth.NewWidth, growth.Added.ToArray(), after, Grew: true);
    }

    private DynoEvent Change(DynoLayer layer, Pending pending, DynoDecision decision)
    {
        var (plan, graph, width, units, phiAfter, grew) = pending;
        var from = _widths[layer.Name];
        var widths = new Dictionary<string, long>(_widths, StringComparer.Ordinal) { [layer.Name] = width };
        double? before = null, after = null, change = null;
        Tensor? probe = null;
        Pause(() =>
        {
            before = Options.Evaluate?.Invoke(Model);
            probe = Options.Probe?.Invoke(Model).detach().clone();
        });
        var next = _create(widths);
        next.train(Model.training);
        LiveSurgery.Apply(plan, Model, next, Options.Seed);
        var optimizer = _optimizerFor(next);
        OptimizerCarry.Carry(plan, Model, Optimizer, next, optimizer);
        Detach();
        if (_ownsModel)
        {
            Model.Dispose();
        }

        (Model, Optimizer, _ownsModel) = (next, optimizer, true);
        Side = ModelSide.Trace(graph, Side.Schema);
        foreach (var (name, w) in widths)
        {
            _widths[name] = w;
        }

        _triggers[layer.Name].Rebase(phiAfter);
        Attach();
        Pause(() =>
        {
            after = Options.Evaluate?.Invoke(Model);
            if (probe is not null)
            {
                using var now = Options.Probe!(Model);
                change = (now - probe).abs().max().item<float>();
                probe.Dispose();
            }
        });
        return new DynoEvent(_step, layer.Name, grew, from, width, decision.Phi, decision.Baseline ?? double.NaN, phiAfter, units, plan, before, after, change);
    }

    /// <summary>Runs <paramref name="action"/> with the buffers not recording, in eval mode is the caller's choice.</summary>
    private void Pause(Action action)
    {
        foreach (var b in _buffers.Values)
        {
            b.Capturing = false;
        }

        try
        {
            action();
        }
        finally
        {
            foreach (var b in _buffers.Values)
            {
                b.Capturing = true;
            }
        }
    }

    private void Attach()
    {
        var modules = Model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        foreach (var layer in _layers)
        {
            if (!modules.TryGetValue(layer.Name, out var module) || module is not nn.Module<Tensor, Tensor> linear)
            {
                throw new ArgumentException($"the model has no single-input submodule '{layer.Name}' to watch; is it the model the graph '{Side.Graph.Name}' describes?");
            }

            var width = _widths[layer.Name];
            var capacity = Math.Max(Options.BufferMinimum, (long)Math.Ceiling(Options.BufferFactor * width));
            _buffers[layer.Name] = new ActivationBuffer(linear, layer.Name, width, Math.Max(capacity, width + 1), layer.Activation);
        }
    }

    private void Detach()
    {
        foreach (var b in _buffers.Values)
        {
            b.Dispose();
        }

        _buffers.Clear();
    }

    /// <summary>A change chosen on the buffered activations: the plan, the graph and width it makes, the units, φ* after it.</summary>
    private sealed record Pending(SurgeryPlan Plan, ModelGraph Graph, long Width, IReadOnlyList<long> Units, double PhiAfter, bool Grew);
}
