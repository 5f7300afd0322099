using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tuning;

/// <summary>
/// Which parameter elements may change, as one bool tensor per parameter on the parameter's device (paper 000's
/// mask of tunable elements). Converts to and from the reference runtime's <see cref="ParameterMask"/> (same names,
/// flat row-major indices), so masks built from Φ or from a plan apply to live modules unchanged.
/// </summary>
public sealed class DeviceMask
{
    private readonly Dictionary<string, Tensor> _masks;

    private DeviceMask(Dictionary<string, Tensor> masks) => _masks = masks;

    /// <summary>Parameter names in the module's order.</summary>
    public IReadOnlyList<string> Names => [.. _masks.Keys];

    public Tensor this[string name] => _masks[name];

    public bool Contains(string name) => _masks.ContainsKey(name);

    /// <summary>Every element of every parameter of <paramref name="module"/> set (or clear).</summary>
    public static DeviceMask All(nn.Module module, bool value = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        return new DeviceMask(module.named_parameters().ToDictionary(
            p => p.name,
            p => torch.full(p.parameter.shape, value, ScalarType.Bool, p.parameter.device),
            StringComparer.Ordinal));
    }

    /// <summary>
    /// A host mask on the module's parameters: parameters the mask does not name are frozen whole; a name the module
    /// does not have, or a length that differs, is refused.
    /// </summary>
    public static DeviceMask From(ParameterMask mask, nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(module);
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var name in mask.Names)
        {
            if (!parameters.TryGetValue(name, out var p))
            {
                throw new ArgumentException($"the mask names '{name}', which is not a parameter of {module.GetName()}", nameof(mask));
            }

            if (mask.LengthOf(name) != p.NumberOfElements)
            {
                throw new ArgumentException($"the mask has {mask.LengthOf(name)} elements for '{name}', which has {p.NumberOfElements}", nameof(mask));
            }
        }

        var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in parameters)
        {
            var host = new bool[p.NumberOfElements];
            if (mask.Contains(name))
            {
                foreach (var i in mask.Indices(name))
                {
                    host[i] = true;
                }
            }

            masks[name] = torch.tensor(host, p.shape, device: p.device);
        }

        return new DeviceMask(masks);
    }

    /// <summary>The mask as the reference runtime's <see cref="ParameterMask"/> (copied to the host).</summary>
    public ParameterMask ToParameterMask()
    {
        var result = new ParameterMask(_masks.Select(kv => new KeyValuePair<string, long>(kv.Key, kv.Value.NumberOfElements)));
        foreach (var (name, mask) in _masks)
        {
            using var flat = mask.flatten().cpu();
            var values = flat.data<bool>().ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i])
                {
                    result[name, i] = true;
                }
            }
        }

        return result;
    }

    /// <summary>Elements set.</summary>
    public long Count() => _masks.Values.Sum(m => m.sum().item<long>());

    /// <summary>
    /// The mask of exactly <paramref name="n"/> elements with the largest <paramref name="scores"/> (same names and
    /// shapes), chosen on the device; only elements set in <paramref name="among"/> compete when it is given. Ties at
    /// the threshold go to the earliest elements (parameter order, then flat index), as the reference runtime's TopN.
    /// </summary>
    public static DeviceMask TopN(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<string> order, long n, DeviceMask? among = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(order);
        using var scope = NewDisposeScope();
        var flat = order.Select(name =>
        {
            var s = scores[name].detach().flatten().to_type(ScalarType.Float32);
            if (s.isnan().any().item<bool>())
            {
                throw new ArgumentException($"a score of '{name}' is NaN", nameof(scores));
            }

            // Elements outside `among` get -inf: they never compete (scores here are magnitudes, >= 0).
            return among is null ? s : torch.where(among[name].flatten(), s, float.NegativeInfinity);
        }).ToList();
        var all = torch.cat(flat, 0);
        var competing = among is null ? all.NumberOfElements : order.Sum(name => among[name].sum().item<long>());
        if (n < 0 || n > competing)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"expected 0 to the {competing} competing elements");
        }

        Tensor chosen;
        if (n == 0)
        {
            chosen = torch.zeros(all.NumberOfElements, ScalarType.Bool, all.device);
        }
        else
        {
            // The n-th largest value is the threshold; everything above it is in, and ties at it fill the remaining
            // places in flat order (kthvalue sorts nothing into host memory and keeps memory at the score vector).
            var threshold = all.kthvalue(all.NumberOfElements - n + 1, 0).values;
            var above = all.gt(threshold);
            var remaining = n - above.sum().item<long>();
            var ties = all.eq(threshold).nonzero().flatten().narrow(0, 0, remaining);
            chosen = above.index_fill(0, ties, true);
        }

        var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var name in order)
        {
            var shape = scores[name].shape;
            var count = scores[name].NumberOfElements;
            masks[name] = chosen.narrow(0, offset, count).reshape(shape).clone().MoveToOuterDisposeScope();
            offset += count;
        }

        return new DeviceMask(masks);
    }
}
