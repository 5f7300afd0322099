using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Pruning;

/// <summary>Parameter saliencies of paper 002 Table 2.1, with Δw = −w and λ = 1 (the pruning setting).</summary>
public enum SaliencyKind
{
    /// <summary>|w| (magnitudeScorer).</summary>
    Magnitude,

    /// <summary>Δw·∇L = −w·g (taylor1Scorer): the first-order change of the loss when w is set to zero.</summary>
    Taylor1,

    /// <summary>|Δw·∇L|.</summary>
    Taylor1Abs,

    /// <summary>Δw·(∇L + HΔw) (taylor2Scorer), H by a Hessian-vector product.</summary>
    Taylor2,

    /// <summary>|Δw·(∇L + HΔw)|.</summary>
    Taylor2Abs,

    /// <summary>Δw·(HΔw) (hessianScorer).</summary>
    Hessian,

    /// <summary>|Δw·(HΔw)|.</summary>
    HessianAbs,
}

/// <summary>
/// Saliency scorers on live TorchSharp modules (paper 002 Table 2.1 and chapter 3). Everything stays on the module's
/// device: scores are tensors shaped like the parameters, computed with autograd (second order by a
/// Hessian-vector product, the same cost class as a backward pass, paper 002 section 2).
/// </summary>
public static class Saliency
{
    /// <summary>
    /// Scores every trainable parameter of <paramref name="model"/> by <paramref name="kind"/>; <paramref name="loss"/>
    /// computes the (scalar) loss over the scoring set. Magnitude does not call it.
    /// </summary>
    public static Dictionary<string, Tensor> Parameters(nn.Module model, SaliencyKind kind, Func<Tensor>? loss = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchSharpNative.EnsureLoaded();
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        if (kind == SaliencyKind.Magnitude)
        {
            using var noGrad = no_grad();
            return named.ToDictionary(p => p.name, p => p.parameter.detach().abs(), StringComparer.Ordinal);
        }

        if (loss is null)
        {
            throw new ArgumentNullException(nameof(loss), $"the {kind} saliency needs the loss over the scoring set");
        }

        var parameters = named.Select(p => (Tensor)p.parameter).ToList();
        var value = loss();
        if (value.NumberOfElements != 1)
        {
            throw new ArgumentException($"the loss has shape [{string.Join(", ", value.shape)}]; expected a scalar (reduce the per-sample losses)", nameof(loss));
        }

        var secondOrder = kind is not (SaliencyKind.Taylor1 or SaliencyKind.Taylor1Abs);
        var gradients = torch.autograd.grad([value], parameters, retain_graph: secondOrder, create_graph: secondOrder, allow_unused: true);
        var deltas = parameters.Select(p => p.detach().neg()).ToList(); // Δw = −w: the parameter removed
        IList<Tensor>? hv = null;
        if (secondOrder)
        {
            // HΔw = ∇(∇L·Δw), one more backward through the first gradient's graph.
            var dot = gradients.Select((g, i) => g is null || g.IsInvalid ? null : (g * deltas[i]).sum()).Where(t => t is not null).Select(t => t!).ToList();
            var total = dot.Count == 0 ? torch.zeros(1, device: parameters[0].device) : dot.Aggregate((a, b) => a + b);
            hv = total.requires_grad ? torch.autograd.grad([total], parameters, allow_unused: true) : parameters.Select(p => torch.zeros_like(p)).ToList();
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = no_grad();
        for (var i = 0; i < parameters.Count; i++)
        {
            var g = Valid(gradients[i], parameters[i]);
            var h = hv is null ? null : Valid(hv[i], parameters[i]);
            var d = deltas[i];
            var score = kind switch
            {
                SaliencyKind.Taylor1 or SaliencyKind.Taylor1Abs => d * g,
                SaliencyKind.Taylor2 or SaliencyKind.Taylor2Abs => d * (g + h!),
                _ => d * h!,
            };
            result[named[i].name] = kind is SaliencyKind.Taylor1Abs or SaliencyKind.Taylor2Abs or SaliencyKind.HessianAbs ? score.abs() : score;
        }

        return result;
    }

    /// <summary>
    /// Unit scores from parameter scores: per unit, the sum of the scores of every element removing the unit drops
    /// (its slices on every axis of every parameter, <see cref="UnitRemoval.Slices"/>, an element counted once even
    /// where a row and a column of it both belong to the unit). Parameters without a score (buffers) add nothing.
    /// </summary>
    public static double[] Units(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<UnitSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(slices);
        if (slices.Count == 0)
        {
            throw new ArgumentException("no slices: the layer's units own no parameter element", nameof(slices));
        }

        var units = slices[0].Indices.Count;
        var result = new double[units];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var group in slices.GroupBy(s => s.Parameter, StringComparer.Ordinal))
        {
            if (!scores.TryGetValue(group.Key, out var score))
            {
                continue;
            }

            for (var u = 0; u < units; u++)
            {
                Tensor? mask = null;
                foreach (var slice in group.Where(s => s.Indices[u].Count > 0))
                {
                    if (slice.Axis >= score.ndim)
                    {
                        throw new ArgumentException($"the score of '{group.Key}' has shape [{string.Join(", ", score.shape)}]; a slice names its axis {slice.Axis}", nameof(scores));
                    }

                    var view = Enumerable.Repeat(1L, (int)score.ndim).ToArray();
                    view[slice.Axis] = score.shape[slice.Axis];
                    var axis = torch.zeros(score.shape[slice.Axis], ScalarType.Bool, score.device)
                        .index_fill_(0, torch.tensor(slice.Indices[u].ToArray(), device: score.device), true)
                        .reshape(view);
                    mask = mask is null ? axis : mask.logical_or(axis);
                }

                if (mask is not null)
                {
                    result[u] += torch.where(mask, score, torch.zeros_like(score)).sum().to_type(ScalarType.Float64).item<double>();
                }
            }
        }

        return result;
    }

    private static Tensor Valid(Tensor? t, Tensor like) => t is null || t.IsInvalid ? torch.zeros_like(like) : t.detach();
}
