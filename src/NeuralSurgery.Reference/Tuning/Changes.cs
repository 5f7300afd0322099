using System;
using System.Collections.Generic;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>Which elements a tuning run changed: the support of Δ = w − w_i (paper 000 section 6.4).</summary>
public static class Changes
{
    /// <summary>The mask of elements whose bits differ from w_i (so −0 against +0 counts, as a patch would carry it).</summary>
    public static ParameterMask Of(IReadOnlyDictionary<string, Tensor> parameters, WeightSnapshot initial)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(initial);
        var mask = initial.EmptyMask();
        foreach (var (name, wi) in initial)
        {
            if (!parameters.TryGetValue(name, out var p) || p.Length != wi.Length)
            {
                throw new ArgumentException($"Parameter '{name}' ({wi.Length} elements in w_i) is missing from the model or has another size.", nameof(parameters));
            }

            var words = mask.WordsOf(name);
            var w = p.Data;
            for (var i = 0; i < wi.Length; i++)
            {
                if (BitConverter.SingleToUInt32Bits(w[i]) != BitConverter.SingleToUInt32Bits(wi[i]))
                {
                    words[i >> 6] |= 1UL << (i & 63);
                }
            }
        }

        return mask;
    }

    /// <summary>‖w − w_i‖₀.</summary>
    public static long Count(IReadOnlyDictionary<string, Tensor> parameters, WeightSnapshot initial) => Of(parameters, initial).Count();
}
