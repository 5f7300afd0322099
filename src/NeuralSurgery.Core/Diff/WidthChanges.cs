using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;

namespace NeuralSurgery.Diff;

/// <summary>
/// A size argument of a layer that differs between two versions: what the model class must say after a unit
/// removal or growth (paper 002, 004), since the next build plans from the class, not from the checkpoint.
/// </summary>
/// <param name="Module">The module path (<c>fc1</c>).</param>
/// <param name="Factory">The TorchSharp factory that takes the argument (<c>Linear</c>).</param>
/// <param name="Argument">The factory's parameter name (<c>outputSize</c>), or <c>(its sizes)</c> for a layer read otherwise.</param>
/// <param name="Position">The argument's position in the factory call, or -1.</param>
/// <param name="From">The size in the first version.</param>
/// <param name="To">The size in the second.</param>
public sealed record WidthChange(string Module, string Factory, string Argument, int Position, long From, long To);

/// <summary>Width changes between graphs, and the graph a unit-removal or growth plan leads to.</summary>
public static class WidthChanges
{
    /// <summary>The size arguments whose values differ between the modules of <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static IReadOnlyList<WidthChange> Between(ModelGraph before, ModelGraph after)
    {
        if (before is null)
        {
            throw new ArgumentNullException(nameof(before));
        }

        if (after is null)
        {
            throw new ArgumentNullException(nameof(after));
        }

        var result = new List<WidthChange>();
        foreach (var module in before.Modules)
        {
            var now = after.FindModule(module.Path)?.Spec;
            void Add(string factory, string argument, int position, long from, long to)
            {
                if (from != to)
                {
                    result.Add(new WidthChange(module.Path, factory, argument, position, from, to));
                }
            }

            switch (module.Spec, now)
            {
                case (LinearSpec a, LinearSpec b):
                    Add("Linear", "inputSize", 0, a.InFeatures, b.InFeatures);
                    Add("Linear", "outputSize", 1, a.OutFeatures, b.OutFeatures);
                    break;
                case (RecurrentSpec a, RecurrentSpec b):
                    Add(a.Kind, "inputSize", 0, a.InputSize, b.InputSize);
                    Add(a.Kind, "hiddenSize", 1, a.HiddenSize, b.HiddenSize);
                    break;
                case (BatchNormSpec a, BatchNormSpec b):
                    Add(a.Kind, "num_features", 0, a.NumFeatures, b.NumFeatures);
                    break;
                case (LayerNormSpec a, LayerNormSpec b):
                    Add("LayerNorm", "normalized_shape", 0, a.NormalizedShape[a.NormalizedShape.Count - 1], b.NormalizedShape[b.NormalizedShape.Count - 1]);
                    break;
                case (Conv1dSpec a, Conv1dSpec b):
                    Add("Conv1d", "in_channels", 0, a.InChannels, b.InChannels);
                    Add("Conv1d", "out_channels", 1, a.OutChannels, b.OutChannels);
                    break;
                case (Conv2dSpec a, Conv2dSpec b):
                    Add("Conv2d", "in_channels", 0, a.InChannels, b.InChannels);
                    Add("Conv2d", "out_channels", 1, a.OutChannels, b.OutChannels);
                    break;
                case (ConvTransposeSpec a, ConvTransposeSpec b):
                    Add("ConvTranspose" + a.Dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d", "in_channels", 0, a.InChannels, b.InChannels);
                    Add("ConvTranspose" + a.Dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d", "out_channels", 1, a.OutChannels, b.OutChannels);
                    break;
                case (GroupNormSpec a, GroupNormSpec b):
                    Add("GroupNorm", "num_channels", 1, a.NumChannels, b.NumChannels);
                    break;
                case (EmbeddingSpec a, EmbeddingSpec b):
                    Add("Embedding", "embedding_dims", 1, a.EmbeddingDim, b.EmbeddingDim);
                    break;
                default:
                    if (now is not null && now != module.Spec)
                    {
                        result.Add(new WidthChange(module.Path, module.Spec.Kind, "(its sizes)", -1, 0, 0));
                    }

                    break;
            }
        }

        return result;
    }

    /// <summary>
    /// The graph <paramref name="plan"/> leads to when it only changes the sizes of <paramref name="graph"/>'s
    /// parameters (a unit removal or growth): the graph resized to the plan's target shapes. Null when the plan does
    /// not start from this graph's parameters (one is missing, or has another rank), adds parameters, or leads to
    /// sizes the layers cannot take; <paramref name="graph"/> itself when no size changes.
    /// </summary>
    public static ModelGraph? TargetOf(ModelGraph graph, SurgeryPlan plan)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        if (plan is null)
        {
            throw new ArgumentNullException(nameof(plan));
        }

        if (plan.Tensors.Count != graph.Parameters.Count)
        {
            return null;
        }

        var lost = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var p in graph.Parameters)
        {
            if (plan.FindTensor(p.Name) is not { } t || t.Shape.Count != p.Shape.Rank || Enumerable.Range(0, p.Shape.Rank).Any(a => !p.Shape[a].IsConstant))
            {
                return null;
            }

            lost[p.Name] = Enumerable.Range(0, p.Shape.Rank).Select(a => p.Shape[a].Value - t.Shape[a]).ToArray();
        }

        if (lost.Values.All(c => c.All(n => n == 0)))
        {
            return graph;
        }

        try
        {
            return UnitRemoval.Resize(graph, lost, "(plan)", "resizing");
        }
        catch (PlanException)
        {
            return null;
        }
    }
}
