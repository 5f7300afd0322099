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
    public long Count() => _masks.Values.Sum(m => m.count_nonzero().item<long>());

    /// <summary>
    /// The mask of exactly <paramref name="n"/> elements with the largest <paramref name="scores"/> (same names and
    /// shapes), chosen on the device; only elements set in <paramref name="among"/> compete when it is given. Ties at
    /// the threshold go to the earliest elements (parameter order, then flat index), as the reference runtime's TopN.
    /// </summary>
    public static DeviceMask TopN(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<string> order, long n, DeviceMask? among = null) =>
        TopN(scores, order, n, among, cpuKernels: true);

    /// <summary><see cref="TopN(IReadOnlyDictionary{string, Tensor}, IReadOnlyList{string}, long, DeviceMask?)"/>; without <paramref name="cpuKernels"/> CPU tensors take libtorch's ops too (tests compare the two).</summary>
    internal static DeviceMask TopN(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<string> order, long n, DeviceMask? among, bool cpuKernels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(order);
        using var scope = NewDisposeScope();
        var flat = order.Select(name => (Name: name, Score: scores[name].detach().reshape(-1).to_type(ScalarType.Float32), Among: among?[name].reshape(-1))).ToList();
        var onCpu = cpuKernels && CpuKernels.Available
            && flat.All(f => CpuKernels.Fits(f.Score, ScalarType.Float32) && (f.Among is null || CpuKernels.Fits(f.Among, ScalarType.Bool)));
        if (!onCpu)
        {
            foreach (var f in flat)
            {
                if (f.Score.isnan().any().item<bool>())
                {
                    throw new ArgumentException($"a score of '{f.Name}' is NaN", nameof(scores));
                }
            }
        }

        var competingCount = flat.Sum(f => f.Among is null ? f.Score.NumberOfElements : f.Among.count_nonzero().item<long>());
        if (n < 0 || n > competingCount)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"expected 0 to the {competingCount} competing elements");
        }

        List<Tensor> chosen;
        if (onCpu)
        {
            // Two passes over the scores (the CPU selection refuses NaN in the first, before writing).
            chosen = [.. flat.Select(f => torch.empty(f.Score.NumberOfElements, ScalarType.Bool))];
            CpuKernels.Select(
                [.. flat.Select((f, i) => new CpuKernels.Segment(
                    f.Name, CpuKernels.Address(f.Score), f.Among is null ? 0 : CpuKernels.Address(f.Among), CpuKernels.Address(chosen[i]), 0, 0, f.Score.NumberOfElements))],
                competingCount,
                n);
        }
        else
        {
            // The n-th largest competing score is the threshold: everything above it is in, and ties at it fill the
            // remaining places in parameter order, then flat index (the reference TopN's order).
            var pairs = flat.Select(f => (f.Score, f.Among)).ToList();
            chosen = n == 0
                ? [.. flat.Select(f => torch.zeros_like(f.Score, ScalarType.Bool))]
                : Bracketed(pairs, competingCount, n) ?? Exhaustive(pairs, competingCount, n);
        }

        var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < flat.Count; i++)
        {
            masks[flat[i].Name] = chosen[i].reshape(scores[flat[i].Name].shape).MoveToOuterDisposeScope();
        }

        return new DeviceMask(masks);
    }

    /// <summary>A copy with tensors of its own (Algorithm 1 rewrites its mask in place).</summary>
    internal DeviceMask Clone() => new(_masks.ToDictionary(kv => kv.Key, kv => kv.Value.clone(), StringComparer.Ordinal));

    /// <summary>Competing elements sampled to bracket the threshold; below it, an exact selection over all of them.</summary>
    private const long SampleSize = 1 << 20;

    /// <summary>
    /// The n largest competing elements by one exhaustive selection: the n-th largest score is the threshold,
    /// everything above it is in, ties at it fill the remaining places in order.
    /// </summary>
    private static List<Tensor> Exhaustive(IReadOnlyList<(Tensor Score, Tensor? Among)> flat, long competing, long n)
    {
        // Non-competing elements as +inf sort last, so the k-th smallest over everything is the competing one.
        var values = torch.cat(flat.Select(f => f.Among is null ? f.Score : torch.where(f.Among, f.Score, float.PositiveInfinity)).ToList(), 0);
        var threshold = values.kthvalue(competing - n + 1, 0).values;
        var remaining = n;
        var chosen = new List<Tensor>();
        foreach (var (score, among) in flat)
        {
            var above = score.gt(threshold);
            if (among is not null)
            {
                above = above.logical_and(among);
            }

            remaining -= above.count_nonzero().item<long>();
            chosen.Add(above);
        }

        for (var i = 0; i < flat.Count && remaining > 0; i++)
        {
            var ties = flat[i].Score.eq(threshold);
            if (flat[i].Among is { } among)
            {
                ties = ties.logical_and(among);
            }

            var positions = ties.nonzero().reshape(-1);
            var take = Math.Min(remaining, positions.NumberOfElements);
            if (take > 0)
            {
                chosen[i] = chosen[i].index_fill(0, positions.narrow(0, 0, take), true);
                remaining -= take;
            }
        }

        return chosen;
    }

    /// <summary>
    /// The same selection over more than four million competing elements without an exhaustive one: a strided
    /// sample brackets the threshold (five binomial standard deviations either side of its quantile); one pass per
    /// tensor keeps what lies above the bracket and collects what lies inside it, and the exact threshold, the
    /// elements above it and the ties are found among those few. Null when the sample misjudged the bracket.
    /// Algorithm 1 deletes from |S| of 10^8 elements every K_every steps, so this is its cost.
    /// </summary>
    private static List<Tensor>? Bracketed(IReadOnlyList<(Tensor Score, Tensor? Among)> flat, long competing, long n)
    {
        if (competing <= SampleSize * 4)
        {
            return null;
        }

        var total = flat.Sum(f => f.Score.NumberOfElements);
        var stride = Math.Max(1, total / (SampleSize * 2));
        var sample = torch.cat(flat.Select(f =>
        {
            var picked = f.Score.slice(0, 0, f.Score.NumberOfElements, stride);
            return f.Among is null ? picked : Select(picked, f.Among.slice(0, 0, f.Among.NumberOfElements, stride));
        }).ToList(), 0);
        var m = sample.NumberOfElements;
        if (m < 1000)
        {
            return null;
        }

        var q = (double)(competing - n + 1) / competing;
        var margin = (5 * Math.Sqrt(m * q * (1 - q))) + 16;
        var lo = sample.kthvalue(Math.Clamp((long)Math.Floor((q * m) - margin), 1, m), 0).values;
        var hi = sample.kthvalue(Math.Clamp((long)Math.Ceiling((q * m) + margin), 1, m), 0).values;
        long above = 0;
        var chosen = new List<Tensor>();
        var bandPositions = new List<Tensor>();
        var bandValues = new List<Tensor>();
        foreach (var (score, among) in flat)
        {
            var over = score.gt(hi);
            var inside = score.ge(lo).logical_and(score.le(hi));
            if (among is not null)
            {
                over = over.logical_and(among);
                inside = inside.logical_and(among);
            }

            above += over.count_nonzero().item<long>();
            chosen.Add(over);
            var positions = inside.nonzero().reshape(-1);
            bandPositions.Add(positions);
            bandValues.Add(score.index_select(0, positions));
        }

        var band = torch.cat(bandValues, 0);
        var needed = n - above; // how many of the band's largest are in
        if (needed < 1 || needed > band.NumberOfElements)
        {
            return null;
        }

        var threshold = band.kthvalue(band.NumberOfElements - needed + 1, 0).values;
        var remaining = needed;
        for (var i = 0; i < flat.Count; i++)
        {
            var inBand = bandPositions[i].index_select(0, bandValues[i].gt(threshold).nonzero().reshape(-1));
            chosen[i] = chosen[i].index_fill(0, inBand, true);
            remaining -= inBand.NumberOfElements;
        }

        // Ties at the threshold, in parameter order and then flat index (nonzero gives positions ascending).
        for (var i = 0; i < flat.Count && remaining > 0; i++)
        {
            var ties = bandPositions[i].index_select(0, bandValues[i].eq(threshold).nonzero().reshape(-1));
            var take = Math.Min(remaining, ties.NumberOfElements);
            if (take > 0)
            {
                chosen[i] = chosen[i].index_fill(0, ties.narrow(0, 0, take), true);
                remaining -= take;
            }
        }

        return chosen;
    }

    /// <summary>The elements of a flat tensor where <paramref name="mask"/> is set (libtorch's masked_select is a slow scan on the CPU).</summary>
    private static Tensor Select(Tensor flat, Tensor mask) => flat.index_select(0, mask.nonzero().reshape(-1));
}
