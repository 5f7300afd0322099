using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Pruning;

/// <summary>
/// Per unit of one layer over a data set, from one forward and one backward pass (on the module's device): the
/// layer output's mean and standard deviation, the mean |∂L/∂h|, and MRS (paper 002 definition 3.1.2).
/// </summary>
public sealed record UnitStatistics(double[] Mean, double[] Std, double[] MeanAbsGradient, double[] Mrs);

/// <summary>Units replaceable by a constant (paper 002 definition 3.2.2), by the three cases of section 3.2.</summary>
/// <param name="Constant">Output with (near) zero variance over the data set.</param>
/// <param name="Saturated">Output that varies but gets no gradient: the activation maps it into its flat region.</param>
/// <param name="ZeroFanOut">Every weight reading the unit is (near) zero.</param>
public sealed record DeadUnits(long[] Constant, long[] Saturated, long[] ZeroFanOut)
{
    /// <summary>Every dead unit, each once, sorted.</summary>
    public long[] All => Constant.Concat(Saturated).Concat(ZeroFanOut).Distinct().Order().ToArray();
}

/// <summary>
/// Unit saliencies of paper 002 chapter 3 on a layer of a live module: MRS from one forward and backward pass, MRP by
/// replacing each unit with its mean, dead-unit detection. The layer's output <c>h</c> is its module output (before
/// the activation, as the thesis measures it), its last axis the units (axis 1, the channels, for a convolution); the
/// first axis indexes samples. The layer must be invoked with <c>call</c> (TorchSharp runs forward hooks only there),
/// once per data-set pass.
/// </summary>
public static class UnitSaliency
{
    /// <summary>
    /// Mean, std, mean |gradient| and MRS of every unit of <paramref name="layer"/>: <paramref name="perSampleLosses"/>
    /// runs the data set through the model and returns one loss per sample (shape [K]); one backward of their sum gives
    /// each sample's output gradient (taken at h only: parameters' gradients are untouched). MRS_i = Σ_k |Σ_p (E[h_i] − h_{k,p,i}) ∂L_k/∂h_{k,p,i}| over samples k and
    /// positions p (a sequence or set): centred activations times the output gradient (definition 3.1.2).
    /// </summary>
    public static UnitStatistics Measure(nn.Module<Tensor, Tensor> layer, Func<Tensor> perSampleLosses)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(perSampleLosses);
        TorchSharpNative.EnsureLoaded();
        Tensor? output = null;
        var calls = 0;
        if (!torch.is_grad_enabled())
        {
            throw new InvalidOperationException($"MRS of layer '{layer.GetName()}' needs the output gradient: call it with gradients enabled (not under no_grad)");
        }

        var hook = layer.register_forward_hook((_, _, y) =>
        {
            // The rest of forward reads a view of a leaf we own: the gradient stops at h (MRS needs nothing upstream),
            // and a container that disposes intermediate results (Sequential) disposes the view, not h; h leaves any
            // dispose scope the model's forward opened, or the scope would free it before the backward.
            calls++;
            output = y.detach().requires_grad_(true).DetachFromDisposeScope();
            return output.alias();
        });
        Tensor losses;
        try
        {
            losses = perSampleLosses();
        }
        finally
        {
            hook.remove();
        }

        using var h = CheckCall(layer, output, calls); // ours (out of every dispose scope): freed here
        CheckLosses(losses, h);

        // The gradient at h only: no parameter's .grad is touched, and backward stops at the layer.
        var gradient = torch.autograd.grad([losses.sum()], [h], allow_unused: true)[0];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var channels = ChannelsFirst(layer);
        var units = channels ? h.shape[1] : h.shape[^1];
        var samples = h.shape[0];
        var values = UnitsLast(h.detach(), channels).reshape(samples, -1, units);
        gradient = gradient is null || gradient.IsInvalid ? torch.zeros_like(values) : UnitsLast(gradient, channels).reshape(samples, -1, units);
        var mean = values.mean([0, 1]);
        var mrs = ((mean - values) * gradient).sum(dim: 1).abs().sum(dim: 0); // sum(0) would bind 0 to a ScalarType
        var std = values.reshape(-1, units).std(0, unbiased: false);
        var meanAbsGradient = gradient.abs().mean([0, 1]);
        return new UnitStatistics(Host(mean), Host(std), Host(meanAbsGradient), Host(mrs));
    }

    /// <summary>
    /// MRP (paper 002 definition 3.1.1): per unit i, Σ_k |L_k(h with unit i replaced by its mean) − L_k(h)|, by one
    /// forward pass per unit with the unit's output replaced on the device (no backward). <paramref name="perSampleLosses"/>
    /// as for <see cref="Measure"/>.
    /// </summary>
    public static double[] Mrp(nn.Module<Tensor, Tensor> layer, Func<Tensor> perSampleLosses)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(perSampleLosses);
        TorchSharpNative.EnsureLoaded();
        using var noGrad = no_grad();
        Tensor? output = null;
        var calls = 0;
        var unit = -1L;
        Tensor? mean = null;
        var channels = ChannelsFirst(layer);
        var hook = layer.register_forward_hook((_, _, y) =>
        {
            calls++;
            if (unit < 0)
            {
                output = y.detach().clone().DetachFromDisposeScope(); // kept past a container or scope that disposes intermediate results
                return y;
            }

            var replaced = y.clone();
            TensorIndex[] at = channels ? [TensorIndex.Colon, TensorIndex.Single(unit)] : [TensorIndex.Ellipsis, TensorIndex.Single(unit)];
            replaced[at] = mean![unit];
            return replaced;
        });
        try
        {
            var reference = perSampleLosses().detach();
            using var h = CheckCall(layer, output, calls); // ours (out of every dispose scope): freed here
            CheckLosses(reference, h);
            var units = channels ? h.shape[1] : h.shape[^1];
            mean = UnitsLast(h, channels).reshape(-1, units).mean([0]);
            var penalties = new double[units];
            for (unit = 0; unit < units; unit++)
            {
                using var scope = NewDisposeScope(); // one pass's tensors, freed before the next
                var replaced = perSampleLosses();
                penalties[unit] = (replaced - reference).abs().sum().item<float>();
            }

            return penalties;
        }
        finally
        {
            hook.remove();
        }
    }

    /// <summary>
    /// Dead units of a layer (paper 002 section 3.2): constant output (std ≤ <paramref name="tolerance"/> times the
    /// layer's largest std, or absolutely when every unit is constant), saturated (varies, but mean |∂L/∂h| ≤
    /// <paramref name="tolerance"/> times the layer's largest), and zero fan-out (every consumer weight column the unit
    /// feeds, from <see cref="UnitRemoval.FanOut"/>, is at most <paramref name="tolerance"/> in magnitude).
    /// </summary>
    public static DeadUnits Detect(UnitStatistics statistics, nn.Module model, IReadOnlyList<UnitFanOut> fanOut, double tolerance = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(fanOut);
        var units = statistics.Std.Length;
        var stdScale = Math.Max(statistics.Std.Max(), 1.0);
        var gradientScale = statistics.MeanAbsGradient.Max();
        var constant = Enumerable.Range(0, units).Where(i => statistics.Std[i] <= tolerance * stdScale).Select(i => (long)i).ToArray();
        var saturated = gradientScale <= 0
            ? []
            : Enumerable.Range(0, units).Where(i => statistics.Std[i] > tolerance * stdScale && statistics.MeanAbsGradient[i] <= tolerance * gradientScale).Select(i => (long)i).ToArray();

        var state = model.state_dict();
        var zero = new List<long>();
        for (var i = 0; i < units; i++)
        {
            var any = false;
            var allZero = true;
            foreach (var consumer in fanOut)
            {
                if (consumer.Columns.Count != units)
                {
                    throw new ArgumentException($"fan-out of '{consumer.Weight}' lists {consumer.Columns.Count} units; the statistics have {units}", nameof(fanOut));
                }

                if (!state.TryGetValue(consumer.Weight, out var w))
                {
                    throw new ArgumentException($"the module has no tensor '{consumer.Weight}' (fan-out of another model?)", nameof(model));
                }

                if (consumer.Columns[i].Count == 0)
                {
                    continue;
                }

                any = true;
                using var columns = torch.tensor(consumer.Columns[i].ToArray(), device: w.device);
                using var slice = w.detach().index_select(1, columns);
                allZero &= slice.abs().max().item<float>() <= tolerance;
            }

            if (any && allZero)
            {
                zero.Add(i);
            }
        }

        return new DeadUnits(constant, saturated, zero.ToArray());
    }

    // A convolution's units are its output channels (axis 1, thesis section 4.1 prunes filters); every other layer's
    // are the last axis. Positions p of definition 3.1.2 are then the spatial positions.
    private static bool ChannelsFirst(nn.Module layer) => layer is Conv1d or Conv2d;

    private static Tensor UnitsLast(Tensor t, bool channels) => channels ? t.movedim([1], [-1]) : t;

    private static Tensor CheckCall(nn.Module layer, Tensor? output, int calls)
    {
        if (output is null || calls != 1)
        {
            throw new InvalidOperationException(calls == 0
                ? $"layer '{layer.GetName()}' was not called: invoke it with call() inside the callback (TorchSharp runs hooks only there)"
                : $"layer '{layer.GetName()}' was called {calls} times in one pass; expected once (run the whole scoring set as one batch)");
        }

        return output;
    }

    private static void CheckLosses(Tensor losses, Tensor output)
    {
        if (losses.ndim != 1 || losses.shape[0] != output.shape[0])
        {
            throw new ArgumentException($"the per-sample losses have shape [{string.Join(", ", losses.shape)}]; expected [{output.shape[0]}], one per sample of the layer's output [{string.Join(", ", output.shape)}]");
        }
    }

    private static double[] Host(Tensor t)
    {
        using var host = t.detach().to_type(ScalarType.Float64).cpu();
        return host.data<double>().ToArray();
    }
}
