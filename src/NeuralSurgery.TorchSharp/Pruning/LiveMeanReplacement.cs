using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Pruning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Pruning;

/// <summary>
/// Mean replacement on a live module (paper 002 section 3.1): the inputs of the layers a removal narrows are averaged
/// on the module's device by forward pre-hooks while the caller runs its data set through the model, and the
/// removed columns' contribution is folded into each layer's bias (<see cref="MeanReplacement"/>).
/// </summary>
public static class LiveMeanReplacement
{
    /// <summary>
    /// Input means (per index of the last axis; per channel for a convolution) of the consumers of
    /// <paramref name="removal"/>, measured while <paramref name="run"/> runs data through <paramref name="module"/>.
    /// Hooks run only for layers invoked through <c>call</c> (TorchSharp does not run them for a direct
    /// <c>forward</c>); a consumer that saw no input is an error naming it.
    /// </summary>
    public static IReadOnlyDictionary<string, double[]> MeasureInputMeans(nn.Module module, UnitRemovalPlan removal, Action run)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(removal);
        ArgumentNullException.ThrowIfNull(run);
        TorchSharpNative.EnsureLoaded();
        var consumers = removal.Consumers.Where(c => c.Bias is not null).Select(c => c.Module).Distinct(StringComparer.Ordinal).ToList();
        var modules = module.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        var sums = new Dictionary<string, (Tensor? Sum, long Rows)>(StringComparer.Ordinal);
        var removers = new List<Action>();
        void Accumulate(string name, Tensor x, bool channels)
        {
            using var noGrad = no_grad();
            var (sum, rows) = sums.TryGetValue(name, out var s) ? s : (null, 0);

            // A convolution's input [N, C, spatial…] is averaged per channel (see UnitRemoval.IsUnpaddedConvolution).
            using var moved = channels ? x.detach().movedim([1], [-1]) : x.detach();
            using var flat = moved.reshape(-1, moved.shape[^1]);
            using var batch = flat.sum(0, type: ScalarType.Float64);
            // The running sum outlives the call: out of any dispose scope the model's forward opened.
            var next = (sum is null ? batch.clone() : sum.add(batch)).DetachFromDisposeScope();
            sum?.Dispose();
            sums[name] = (next, rows + flat.shape[0]);
        }

        try
        {
            foreach (var name in consumers)
            {
                if (!modules.TryGetValue(name, out var m))
                {
                    throw new ArgumentException($"the module has no submodule '{name}', which reads the removed units of '{removal.Space}'; is it the model the removal was planned for?", nameof(module));
                }

                switch (m)
                {
                    case nn.Module<Tensor, Tensor> layer:
                        var channels = layer is Conv1d or Conv2d;
                        var hook = layer.register_forward_pre_hook((_, x) =>
                        {
                            Accumulate(name, x, channels);
                            return x;
                        });
                        removers.Add(hook.remove);
                        break;
                    default:
                        throw new NotSupportedException($"module '{name}' ({m.GetType().Name}) takes more than one input; measure its input means with the reference executor (InputMeans.Measure)");
                }
            }

            run();
        }
        finally
        {
            foreach (var r in removers)
            {
                r();
            }
        }

        var means = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var name in consumers)
        {
            if (!sums.TryGetValue(name, out var entry) || entry.Rows == 0)
            {
                throw new InvalidOperationException($"no input of module '{name}' was seen: run the data set through the model inside the callback, calling '{name}' with call() (TorchSharp runs hooks only there)");
            }

            using var mean = entry.Sum!.div(entry.Rows).cpu();
            means[name] = mean.data<double>().ToArray();
            entry.Sum.Dispose();
        }

        return means;
    }

    /// <summary>The removal plan with mean replacement folded in, from the live module's weights and input means.</summary>
    public static SurgeryPlan Plan(UnitRemovalPlan removal, nn.Module module, IReadOnlyDictionary<string, double[]> inputMeans)
    {
        ArgumentNullException.ThrowIfNull(removal);
        ArgumentNullException.ThrowIfNull(module);
        var state = module.state_dict();
        return MeanReplacement.Fold(removal, inputMeans, name =>
        {
            if (!state.TryGetValue(name, out var w))
            {
                throw new ArgumentException($"the module has no tensor '{name}', which the removal of units of '{removal.Space}' reads", nameof(module));
            }

            using var host = w.detach().cpu().to_type(ScalarType.Float32).contiguous();
            return host.data<float>().ToArray();
        });
    }
}
