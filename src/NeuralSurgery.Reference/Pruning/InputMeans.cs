using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Pruning;

/// <summary>
/// Means of the inputs of the layers a removal narrows (E[x_c] of paper 002 eq. 1.6), over the last axis (the
/// features a Linear or LSTM/GRU reads), accumulated over every call of the layer in every batch.
/// </summary>
public sealed class InputMeans
{
    private readonly Dictionary<string, (double[] Sum, long Count)> _sums = new(StringComparer.Ordinal);

    /// <summary>Accumulates means for the input of each of <paramref name="modules"/>.</summary>
    public InputMeans(IEnumerable<string> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules)
        {
            _sums[m] = ([], 0);
        }
    }

    /// <summary>The modules whose input means are measured.</summary>
    public IReadOnlyCollection<string> Modules => _sums.Keys;

    /// <summary>Adds rows of <paramref name="module"/>'s input (row-major, the last axis <paramref name="width"/> wide).</summary>
    public void Add(string module, ReadOnlySpan<float> values, int width) => Add(module, values, width, 1);

    /// <summary>
    /// Adds <paramref name="module"/>'s input viewed as [rows, <paramref name="width"/>, <paramref name="inner"/>]
    /// (row-major): the mean is per index of the middle axis, over rows and inner positions. A convolution's input
    /// [N, C, spatial…] is averaged per channel this way (inner = the spatial size).
    /// </summary>
    public void Add(string module, ReadOnlySpan<float> values, int width, int inner)
    {
        if (!_sums.TryGetValue(module, out var entry))
        {
            throw new ArgumentException($"module '{module}' is not one whose input means are measured; expected one of {string.Join(", ", _sums.Keys.Select(k => "'" + k + "'"))}", nameof(module));
        }

        if (width <= 0 || inner <= 0 || values.Length % ((long)width * inner) != 0 || (entry.Sum.Length != 0 && entry.Sum.Length != width))
        {
            throw new ArgumentException($"input of module '{module}': {values.Length.ToString(CultureInfo.InvariantCulture)} values in rows of {width.ToString(CultureInfo.InvariantCulture)} × {inner.ToString(CultureInfo.InvariantCulture)}; expected whole rows{(entry.Sum.Length == 0 ? string.Empty : " of " + entry.Sum.Length.ToString(CultureInfo.InvariantCulture))}", nameof(values));
        }

        var sum = entry.Sum.Length == 0 ? new double[width] : entry.Sum;
        for (var i = 0; i < values.Length; i++)
        {
            sum[(i / inner) % width] += values[i];
        }

        _sums[module] = (sum, entry.Count + (values.Length / width));
    }

    /// <summary>Adds the inputs of every call of the measured modules in one reference forward pass.</summary>
    public void Add(ForwardPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        foreach (var node in pass.Model.Graph.Nodes)
        {
            if (node.Op is CallOp call && _sums.ContainsKey(call.Module))
            {
                var x = pass.Value(node.Operands[0]);
                if (pass.Model.Graph.FindModule(call.Module) is { } m && UnitRemoval.IsUnpaddedConvolution(m.Spec))
                {
                    // [N, C, spatial…]: per channel (the columns mean replacement folds for a convolution).
                    Add(call.Module, x.Data, x.Dim(1), x.Data.Length / x.Dim(0) / x.Dim(1));
                }
                else
                {
                    Add(call.Module, x.Data, x.Dim(x.Rank - 1));
                }
            }
        }
    }

    /// <summary>The means per module; a module never seen is an error naming it.</summary>
    public IReadOnlyDictionary<string, double[]> Means()
    {
        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var (module, (sum, count)) in _sums)
        {
            if (count == 0)
            {
                throw new InvalidOperationException($"no input of module '{module}' was seen; run the data set through the model (through call(), which runs forward hooks, for a live module)");
            }

            result[module] = sum.Select(s => s / count).ToArray();
        }

        return result;
    }

    /// <summary>The consumers' input means of a removal over <paramref name="batches"/>, run by the reference executor.</summary>
    public static IReadOnlyDictionary<string, double[]> Measure(ReferenceModel model, UnitRemovalPlan removal, IEnumerable<IReadOnlyDictionary<string, Tensor>> batches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(removal);
        ArgumentNullException.ThrowIfNull(batches);
        var means = new InputMeans(removal.Consumers.Where(c => c.Bias is not null).Select(c => c.Module).Distinct(StringComparer.Ordinal));
        foreach (var batch in batches)
        {
            means.Add(model.Forward(batch));
        }

        return means.Means();
    }
}
