using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Tuning;
using RefTensor = NeuralSurgery.Runtime.Reference.Tensor;
using NeuralSurgery.TorchSharp.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Algorithm 1's CPU kernels against libtorch's ops and the reference runtime (<see cref="DynamicSurgery"/>,
/// <see cref="TopN"/>): the same masks, weights and indicators bit for bit, with many ties, over more elements than the sampled bracket starts at (4 × 2^17), odd
/// lengths for the vector tails, and scores built to fool the sample.
/// </summary>
public sealed class CpuKernelTests
{
    private static readonly (string Name, int Length)[] Shapes = [("a", 700_003), ("b", 301_017), ("c", 5)];

    [Theory]
    [InlineData(DynamicIndicator.Delta, false)]
    [InlineData(DynamicIndicator.Gradient, false)]
    [InlineData(DynamicIndicator.Delta, true)]
    public void Cpu_kernels_and_libtorch_ops_take_the_same_steps_and_delete_the_same_elements(DynamicIndicator indicator, bool restricted)
    {
        // Weights in eighths, gradients in quarters (a third of them zero), lr 1/2, momentum 1/2, α 1/2: every Δ and Δ²
        // is exact for these six steps, so the libtorch ops (multiply, then add) and the kernels (one fused
        // multiply-add) must agree to the bit, and equal indicators tie in bulk at every deletion.
        var rng = new Random(indicator == DynamicIndicator.Delta ? 3 : 4);
        var weights = Shapes.ToDictionary(s => s.Name, s => Enumerable.Range(0, s.Length).Select(_ => rng.Next(-8, 9) / 8f).ToArray());
        var gradients = Enumerable.Range(0, 6).Select(_ => Shapes.ToDictionary(s => s.Name, s => Enumerable.Range(0, s.Length).Select(_ => rng.Next(-1, 2) * rng.Next(1, 5) / 4f).ToArray())).ToList();
        var options = new DynamicOptions { N = 1000, KStart = 2, KEvery = 2, Alpha = 0.5, Eta = 0.3, Indicator = indicator };
        DeviceMask? start = null;
        if (restricted)
        {
            var among = new ParameterMask(Shapes.Select(s => new KeyValuePair<string, long>(s.Name, s.Length)));
            foreach (var (name, length) in Shapes)
            {
                for (var i = 0; i < length; i++)
                {
                    among[name, i] = rng.Next(10) != 0;
                }
            }

            start = DeviceMask.From(among, new Flat(weights));
        }

        var startBits = start?.ToParameterMask();

        // The reference runtime's Dyn-Δ/Dyn-Grad on host copies, stepped by the same SGD with momentum (it starts
        // from every element, so only unrestricted runs have it).
        var host = Shapes.ToDictionary(s => s.Name, s => new RefTensor((float[])weights[s.Name].Clone(), s.Length));
        var momentum = Shapes.ToDictionary(s => s.Name, s => (float[]?)null);
        var reference = restricted ? null : new DynamicSurgery(host, WeightSnapshot.Of(host), options);
        var runs = new[] { true, false }.Select(cpu =>
        {
            var model = new Flat(weights);
            return (Model: model, Dyn: new DynamicSparseTuning(model, options, start, cpu), Sgd: optim.SGD(model.parameters(), 0.5, momentum: 0.5));
        }).ToList();

        foreach (var step in gradients)
        {
            foreach (var (model, dyn, sgd) in runs)
            {
                sgd.zero_grad();
                foreach (var (name, p) in model.named_parameters())
                {
                    (p * tensor(step[name])).sum().backward(); // grad = the step's gradient
                }

                dyn.Step(sgd);
            }

            AssertSame(runs[0].Model, runs[0].Dyn, runs[1].Model, runs[1].Dyn);
            if (reference is not null)
            {
                foreach (var (name, length) in Shapes)
                {
                    var gradient = new RefTensor((float[])step[name].Clone(), length);
                    reference.BeforeStep(name, host[name], gradient);
                    var buffer = momentum[name] ??= (float[])gradient.Data.Clone();
                    if (reference.K > 1)
                    {
                        for (var i = 0; i < length; i++)
                        {
                            buffer[i] = (0.5f * buffer[i]) + gradient.Data[i];
                        }
                    }

                    for (var i = 0; i < length; i++)
                    {
                        host[name].Data[i] -= 0.5f * buffer[i];
                    }

                    reference.AfterStep(name, host[name]);
                }

                reference.StepCompleted(reference.K);
                AssertReference(reference, host, runs[0].Model, runs[0].Dyn);
            }
        }

        Assert.Equal(3, runs[0].Dyn.Deletions);
        foreach (var (_, dyn, _) in runs)
        {
            dyn.Finish();
        }

        AssertSame(runs[0].Model, runs[0].Dyn, runs[1].Model, runs[1].Dyn);
        if (reference is not null)
        {
            reference.Finish();
            AssertReference(reference, host, runs[0].Model, runs[0].Dyn);
        }

        Assert.Equal(1000, runs[0].Dyn.Allowed.Count());
        Assert.Equal(1000, runs[0].Dyn.AllowedCount);
        if (start is not null)
        {
            Assert.Equal(Bits(startBits!), Bits(start.ToParameterMask())); // deletions rewrite a copy of S
        }

        // Deleted and never-allowed elements are w_i bit for bit; exactly n may differ from it.
        foreach (var (name, p) in runs[0].Model.named_parameters())
        {
            var frozen = runs[0].Dyn.Allowed[name].logical_not();
            Assert.True(p.masked_select(frozen).eq(runs[0].Dyn.Initial[name].masked_select(frozen)).all().item<bool>(), $"a frozen element of {name} moved");
        }
    }

    [Theory]
    [InlineData(0, false, 0)]
    [InlineData(1, true, 0)]
    [InlineData(700_000, true, 3)]
    [InlineData(3_000_000, false, 5)]
    [InlineData(5_999_999, false, 0)]
    public void The_cpu_top_n_is_libtorchs_and_the_reference_TopN_ties_included(long n, bool restricted, int levels)
    {
        var (host, among) = Scores(n.GetHashCode(), restricted, levels, periodic: false);
        var expected = TopN.Select(host, Math.Min(n, Competing(host, among)), SelectionOrder.LargestMagnitude, among);
        var scores = host.ToDictionary(h => h.Key, h => tensor(h.Value));
        var order = host.Select(h => h.Key).ToList();
        var deviceAmong = among is null ? null : DeviceMask.From(among, new Flat(host.ToDictionary(h => h.Key, h => h.Value)));
        var count = Math.Min(n, Competing(host, among));
        var cpu = DeviceMask.TopN(scores, order, count, deviceAmong, cpuKernels: true).ToParameterMask();
        var ops = DeviceMask.TopN(scores, order, count, deviceAmong, cpuKernels: false).ToParameterMask();
        Assert.Equal(Bits(expected), Bits(cpu));
        Assert.Equal(Bits(ops), Bits(cpu));
    }

    [Fact]
    public void A_deletion_in_place_selects_the_reference_TopN_and_resets_exactly_the_deleted_members_even_when_the_sample_misleads()
    {
        if (!CpuKernels.Available)
        {
            return; // libtorch's ops run instead; SparseTuningTests cover them
        }

        // Every element the sample reads scores 0, the rest (0.5, 1): the sample brackets the wrong place and the
        // exact fallback must still keep the reference's elements.
        foreach (var periodic in new[] { false, true })
        {
            var (host, among) = Scores(periodic ? 7 : 8, restricted: true, levels: 4, periodic);
            var competing = Competing(host, among);
            var keep = competing / 2;
            var expected = TopN.Select(host, keep, SelectionOrder.LargestMagnitude, among);
            var scores = host.Select(h => tensor(h.Value)).ToList();
            var masks = host.Select(h => tensor(Enumerable.Range(0, h.Value.Length).Select(i => among![h.Key, i]).ToArray())).ToList();
            var parameters = host.Select(h => rand(h.Value.Length)).ToList();
            var before = parameters.Select(p => p.clone()).ToList();
            var initial = host.Select(h => zeros(h.Value.Length)).ToList();
            var kept = CpuKernels.Select(
                [.. host.Select((h, i) => new CpuKernels.Segment(
                    h.Key, CpuKernels.Address(scores[i]), CpuKernels.Address(masks[i]), CpuKernels.Address(masks[i]), CpuKernels.Address(parameters[i]), CpuKernels.Address(initial[i]), h.Value.Length))],
                competing,
                keep);

            Assert.Equal(keep, kept.Sum());
            for (var i = 0; i < host.Count; i++)
            {
                var chosen = expected.Indices(host[i].Key).ToHashSet();
                var mask = masks[i].data<bool>().ToArray();
                var (now, then) = (parameters[i].data<float>().ToArray(), before[i].data<float>().ToArray());
                for (var k = 0; k < mask.Length; k++)
                {
                    Assert.Equal(chosen.Contains(k), mask[k]);
                    var deleted = among![host[i].Key, k] && !mask[k];
                    Assert.Equal(deleted ? 0f : then[k], now[k]);
                }
            }
        }
    }

    [Fact]
    public void The_indicators_predicted_for_a_deletions_bracket_are_the_ones_the_pass_then_writes()
    {
        if (!CpuKernels.Available)
        {
            return; // no CPU passes to predict
        }

        // The bracket of a deletion step comes from I predicted at sampled members before the pass writes it: a
        // prediction that drifted by a bit would only slow the selection (a misjudged bracket falls back to an exact
        // one), so it is checked here, for Dyn-Δ and for Dyn-Grad, over a scattered mask.
        torch.manual_seed(5);
        const long Length = 1_000_003;
        const long Stride = 7;
        var mask = rand(Length).gt(0.2);
        var member = mask.data<bool>().ToArray();
        var sampled = CpuKernels.Sampled(Length, Stride).Where(k => member[k]).ToArray();
        foreach (var gradient in new[] { false, true })
        {
            var (p, w, g, indicator) = (randn(Length), randn(Length), randn(Length), rand(Length));
            var predicted = new List<float>();
            if (gradient)
            {
                CpuKernels.PredictGradient(predicted, g, mask, indicator, 0.95f, Stride);
                CpuKernels.BeforeStep(g, mask, indicator, 0.95f);
            }
            else
            {
                CpuKernels.PredictDelta(predicted, p, w, mask, indicator, 0.95f, Stride);
                CpuKernels.AfterStep(p, w, mask, indicator, 0.95f);
            }

            var written = indicator.data<float>().ToArray();
            Assert.Equal(sampled.Select(k => BitConverter.SingleToInt32Bits(written[k])), predicted.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void A_NaN_score_is_refused_naming_its_tensor()
    {
        var scores = new Dictionary<string, Tensor> { ["a"] = rand(3_000_000), ["b"] = rand(3_000_000) };
        scores["b"][2_999_999] = float.NaN;
        var error = Assert.Throws<ArgumentException>(() => DeviceMask.TopN(scores, ["a", "b"], 10));
        Assert.Contains("'b' is NaN", error.Message, StringComparison.Ordinal);
    }

    private static void AssertSame(Flat leftModel, DynamicSparseTuning left, Flat rightModel, DynamicSparseTuning right)
    {
        Assert.Equal(right.AllowedCount, left.AllowedCount);
        Assert.Equal(right.Deletions, left.Deletions);
        var rights = rightModel.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in leftModel.named_parameters())
        {
            Assert.True(left.Allowed[name].data<bool>().ToArray().SequenceEqual(right.Allowed[name].data<bool>().ToArray()), $"S differs in {name} at K = {left.K}");
            Assert.True(Same(p, rights[name]), $"the weights of {name} differ at K = {left.K}");
            Assert.True(Same(left.Indicators[name], right.Indicators[name]), $"the indicators of {name} differ at K = {left.K}");
        }
    }

    private static void AssertReference(DynamicSurgery reference, Dictionary<string, RefTensor> host, Flat model, DynamicSparseTuning live)
    {
        Assert.Equal(reference.Deletions, live.Deletions);
        Assert.Equal(Bits(reference.Allowed), Bits(live.Allowed.ToParameterMask()));
        foreach (var (name, p) in model.named_parameters())
        {
            Assert.True(Same(p, tensor(host[name].Data)), $"the weights of {name} differ from the reference runtime's at K = {live.K}");
            Assert.True(Same(live.Indicators[name], tensor(reference.Indicators.Single(kv => kv.Key == name).Value)), $"the indicators of {name} differ from the reference runtime's at K = {live.K}");
        }
    }

    /// <summary>Bit for bit (−0 is not +0).</summary>
    private static bool Same(Tensor a, Tensor b) =>
        a.detach().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.detach().data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));

    /// <summary>
    /// 6M scores over three tensors, quantised to <paramref name="levels"/> values when above 0 (ties); when
    /// <paramref name="periodic"/>, the indices the selection's sample reads score 0 (and compete) and the others more
    /// than 1/2.
    /// </summary>
    private static (List<KeyValuePair<string, float[]>> Host, ParameterMask? Among) Scores(int seed, bool restricted, int levels, bool periodic)
    {
        var rng = new Random(seed);
        var sizes = new[] { ("a", 1_000_003), ("b", 2_999_989), ("c", 2_000_008) };
        var stride = CpuKernels.SampleStride(sizes.Sum(t => (long)t.Item2));
        var sampled = sizes.ToDictionary(t => t.Item1, t => CpuKernels.Sampled(t.Item2, stride).ToHashSet());
        var host = sizes.Select(t => new KeyValuePair<string, float[]>(t.Item1, Enumerable.Range(0, t.Item2)
            .Select(i => periodic ? (sampled[t.Item1].Contains(i) ? 0f : 0.5f + (rng.Next(1, levels + 1) / (2f * levels)))
                : levels > 0 ? rng.Next(levels) / (float)levels : rng.NextSingle()).ToArray())).ToList();
        if (!restricted)
        {
            return (host, null);
        }

        var among = new ParameterMask(host.Select(h => new KeyValuePair<string, long>(h.Key, h.Value.Length)));
        foreach (var (name, values) in host)
        {
            for (var i = 0; i < values.Length; i++)
            {
                among[name, i] = periodic ? sampled[name].Contains(i) || rng.Next(3) != 0 : rng.Next(4) != 0;
            }
        }

        return (host, among);
    }

    private static long Competing(List<KeyValuePair<string, float[]>> host, ParameterMask? among) =>
        among is null ? host.Sum(h => (long)h.Value.Length) : host.Sum(h => (long)among.Indices(h.Key).Count());

    private static string[] Bits(ParameterMask mask) =>
        [.. mask.Names.SelectMany(name => mask.Indices(name).Select(i => name + "[" + i + "]"))];

    /// <summary>A module of flat float parameters with the given values.</summary>
    private sealed class Flat : nn.Module
    {
        public Flat(IReadOnlyDictionary<string, float[]> values)
            : base(nameof(Flat))
        {
            foreach (var (name, v) in values)
            {
                register_parameter(name, new global::TorchSharp.Modules.Parameter(tensor(v)));
            }
        }
    }
}
