using System;
using System.Collections.Generic;
using System.Linq;
using ReferenceModel = NeuralSurgery.Runtime.Reference.ReferenceModel;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.TorchSharp.Tests.Models;
using NeuralSurgery.TorchSharp.Tuning;
using TorchSharp;
using static TorchSharp.torch;
using RefTensor = NeuralSurgery.Runtime.Reference.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Sparse tuning (paper 000) inside a TorchSharp loop: the masked step keeps frozen elements bit for bit under Adam
/// with weight decay, selecting methods change exactly n elements, and for the same seed and data the same elements
/// change as with the reference runtime's tuning.
/// </summary>
public sealed class SparseTuningTests
{
    [Fact]
    public void Frozen_elements_stay_bit_identical_through_100_Adam_steps_with_weight_decay_and_exactly_n_change()
    {
        torch.manual_seed(8);
        var model = new PolicyV1();
        var mask = DeviceSelection.Random(model, n: 25, seed: 4);
        Assert.Equal(25, mask.Count());
        var step = new MaskedStep(model, mask);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var adam = optim.AdamW(model.parameters(), 1e-2, weight_decay: 0.5);
        var (hero, ids, target) = Batch(9);
        for (var i = 0; i < 100; i++)
        {
            adam.zero_grad();
            nn.functional.mse_loss(model.forward(hero, ids), target).backward();
            step.Step(adam);
        }

        foreach (var (name, p) in model.named_parameters())
        {
            var frozen = mask[name].logical_not();
            Assert.True(p.masked_select(frozen).eq(before[name].masked_select(frozen)).all().item<bool>(), $"a frozen element of {name} moved");
        }

        Assert.Equal(25, step.ChangedElements());
    }

    [Fact]
    public void Sel_Rand_picks_the_reference_runtimes_elements_for_the_same_seed()
    {
        var model = new PolicyV1();
        var like = model.named_parameters().Select(p => new KeyValuePair<string, float[]>(p.name, new float[p.parameter.NumberOfElements])).ToList();
        var reference = Selection.Random(like, 40, seed: 12);
        var live = DeviceSelection.Random(model, 40, seed: 12).ToParameterMask();
        Assert.Equal(Bits(reference), Bits(live));
    }

    [Theory]
    [InlineData(DynamicIndicator.Delta)]
    [InlineData(DynamicIndicator.Gradient)]
    public void Dyn_methods_keep_the_same_elements_as_the_reference_runtime_for_the_same_seed_and_data(DynamicIndicator indicator)
    {
        torch.manual_seed(21);
        var model = new PolicyV1();
        var options = new DynamicOptions { N = 30, KStart = 4, KEvery = 2, Eta = 0.3, Indicator = indicator };

        // The reference runtime: the generated mirror graph with the same weights, SGD, the same batch.
        var reference = ReferenceModel.Load(PolicyV1.Mirror.Graph, LiveStateDict.Of(model));
        var sgd = new Sgd(reference.Parameters, 0.05);
        var hook = new DynamicSurgery(reference.Parameters, WeightSnapshot.Of(reference.Parameters), options);
        sgd.Hooks.Add(hook);
        var output = PolicyV1.Mirror.Graph.Outputs[0].Name;
        var trainer = new Trainer(reference, sgd, Losses.OnOutput(output, "target", Losses.MeanSquaredError));
        var (hero, ids, target) = Batch(5);
        var batch = new TrainingBatch(
            new Dictionary<string, RefTensor> { ["hero"] = Host(hero), ["hero_id"] = Host(ids) },
            new Dictionary<string, RefTensor> { ["target"] = Host(target) },
            (int)hero.shape[0]);

        var live = new DynamicSparseTuning(model, options);
        var torchSgd = optim.SGD(model.parameters(), 0.05);
        for (var i = 0; i < 30; i++)
        {
            trainer.TrainStep(batch);
            torchSgd.zero_grad();
            nn.functional.mse_loss(model.forward(hero, ids), target).backward();
            live.Step(torchSgd);
        }

        hook.Finish();
        live.Finish();
        Assert.Equal(hook.Deletions, live.Deletions);
        Assert.Equal(30, live.Allowed.Count());
        Assert.Equal(Bits(hook.Allowed), Bits(live.Allowed.ToParameterMask()));
    }

    [Theory]
    [InlineData(1_000, false, 64)]
    [InlineData(4_000_000, true, 256)]
    [InlineData(2_500_000, false, 0)]
    public void Top_n_on_the_device_picks_the_reference_TopN_elements_ties_included(long n, bool restricted, int levels)
    {
        // 6M scores over three tensors (past the size where the threshold is bracketed by sampling), quantised to
        // `levels` values when levels > 0 so that many tie at the threshold.
        var rng = new Random(n.GetHashCode());
        var sizes = new[] { ("a", 1_000_000), ("b", 3_000_000), ("c", 2_000_000) };
        var host = sizes.Select(t => new KeyValuePair<string, float[]>(t.Item1, Enumerable.Range(0, t.Item2)
            .Select(_ => levels > 0 ? rng.Next(levels) / (float)levels : rng.NextSingle()).ToArray())).ToList();
        ParameterMask? among = null;
        if (restricted)
        {
            among = new ParameterMask(host.Select(h => new KeyValuePair<string, long>(h.Key, h.Value.Length)));
            foreach (var (name, values) in host)
            {
                for (var i = 0; i < values.Length; i++)
                {
                    among[name, i] = rng.Next(4) != 0;
                }
            }
        }

        var expected = TopN.Select(host, n, SelectionOrder.LargestMagnitude, among);
        var scores = host.ToDictionary(h => h.Key, h => tensor(h.Value));
        var order = host.Select(h => h.Key).ToList();
        DeviceMask? deviceAmong = null;
        if (among is not null)
        {
            var module = new ScoresModule(host);
            deviceAmong = DeviceMask.From(among, module);
        }

        var actual = DeviceMask.TopN(scores, order, n, deviceAmong);
        Assert.Equal(n, actual.Count());
        Assert.True(Bits(expected).SequenceEqual(Bits(actual.ToParameterMask())), "the device's top-n differs from the reference TopN");
    }

    /// <summary>A module whose parameters are named like the scores, so a host mask converts to the device.</summary>
    private sealed class ScoresModule : nn.Module
    {
        public ScoresModule(IEnumerable<KeyValuePair<string, float[]>> tensors)
            : base(nameof(ScoresModule))
        {
            foreach (var (name, values) in tensors)
            {
                register_parameter(name, new global::TorchSharp.Modules.Parameter(zeros(values.Length)));
            }
        }
    }

    [Fact]
    public void Sel_Delta_and_Sel_Grad_pick_exactly_n_and_the_reference_runtimes_elements()
    {
        torch.manual_seed(14);
        var model = new PolicyV1();
        var initial = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var (hero, ids, target) = Batch(6);
        var gradient = DeviceSelection.MeanGradient(model, m => nn.functional.mse_loss(((PolicyV1)m).forward(hero, ids), target));
        var order = model.named_parameters().Select(p => p.name).ToList();
        var byGradient = DeviceSelection.ByGradient(gradient, order, 30);
        Assert.Equal(30, byGradient.Count());
        Assert.Equal(Bits(Selection.ByGradient(Snapshot(gradient.ToDictionary(kv => kv.Key, kv => kv.Value)), 30)), Bits(byGradient.ToParameterMask()));

        var sgd = optim.SGD(model.parameters(), 0.1);
        for (var i = 0; i < 3; i++)
        {
            sgd.zero_grad();
            nn.functional.mse_loss(model.forward(hero, ids), target).backward();
            sgd.step();
        }

        var byDelta = DeviceSelection.ByDelta(initial, model, 30);
        Assert.Equal(30, byDelta.Count());
        var tuned = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        Assert.Equal(Bits(Selection.ByDelta(Snapshot(initial), Snapshot(tuned), 30)), Bits(byDelta.ToParameterMask()));
    }

    [Fact]
    public void Sel_LCA_picks_the_reference_runtimes_elements_for_the_same_weights_and_data()
    {
        torch.manual_seed(12);
        var model = new PolicyV1();
        var initial = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var (hero, ids, target) = Batch(3);

        // w_r: a few full SGD steps from w_i, the baseline tuning whose path LCA splits among the elements.
        var sgd = optim.SGD(model.parameters(), 0.1);
        for (var i = 0; i < 5; i++)
        {
            sgd.zero_grad();
            nn.functional.mse_loss(model.forward(hero, ids), target).backward();
            sgd.step();
        }

        var tuned = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var live = DeviceSelection.ByLca(
            model,
            initial,
            tuned,
            m => DeviceSelection.MeanGradient(m, x => nn.functional.mse_loss(((PolicyV1)x).forward(hero, ids), target)),
            steps: 4,
            n: 25);

        var reference = ReferenceModel.Load(PolicyV1.Mirror.Graph, LiveStateDict.Of(model));
        var output = PolicyV1.Mirror.Graph.Outputs[0].Name;
        var batch = new TrainingData(hero, ids, target);
        var expected = Selection.ByLca(
            reference,
            Snapshot(initial),
            Snapshot(tuned),
            r => GradientEstimate.Mean(r, batch, Losses.OnOutput(output, "target", Losses.MeanSquaredError), batchSize: 32),
            steps: 4,
            n: 25);

        Assert.Equal(Bits(expected), Bits(live.ToParameterMask()));
        Assert.True(model.named_parameters().All(p => p.parameter.eq(tuned[p.name]).all().item<bool>()), "the model did not get its weights back");
    }

    private static WeightSnapshot Snapshot(Dictionary<string, Tensor> tensors) =>
        new(tensors.Select(kv => new KeyValuePair<string, float[]>(kv.Key, kv.Value.contiguous().data<float>().ToArray())));

    /// <summary>One batch as the reference runtime's training data.</summary>
    private sealed class TrainingData(Tensor hero, Tensor ids, Tensor target) : ITrainingData
    {
        public int Count => (int)hero.shape[0];

        public TrainingBatch GetBatch(ReadOnlySpan<int> indices)
        {
            Assert.Equal(Count, indices.Length);
            return new TrainingBatch(
                new Dictionary<string, RefTensor> { ["hero"] = Host(hero), ["hero_id"] = Host(ids) },
                new Dictionary<string, RefTensor> { ["target"] = Host(target) },
                Count);
        }
    }

    [Fact]
    public void The_Lagrange_step_snaps_small_changes_back_to_w_i()
    {
        var model = new PolicyV1();
        var step = new MaskedStep(model, DeviceMask.All(model));
        using (no_grad())
        {
            var w = model.parameters().First();
            w.add_(torch.full_like(w, 0.01));
            w[0, 0] = w[0, 0] + 1;
        }

        step.SoftThreshold(0.05);
        Assert.Equal(1, step.ChangedElements());
        Assert.Throws<ArgumentOutOfRangeException>(() => step.SoftThreshold(double.NaN));
    }

    [Fact]
    public void A_mask_that_does_not_fit_the_module_is_refused_naming_the_tensor()
    {
        var mask = new ParameterMask([new KeyValuePair<string, long>("encoder.weight", 5)]);
        var error = Assert.Throws<ArgumentException>(() => DeviceMask.From(mask, new PolicyV1()));
        Assert.Contains("5 elements for 'encoder.weight', which has 32", error.Message, StringComparison.Ordinal);
        var unknown = new ParameterMask([new KeyValuePair<string, long>("nope", 5)]);
        Assert.Contains("'nope', which is not a parameter of PolicyV1", Assert.Throws<ArgumentException>(() => DeviceMask.From(unknown, new PolicyV1())).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => DeviceSelection.Random(new PolicyV1(), 10_000, 1));
    }

    private static (Tensor Hero, Tensor Ids, Tensor Target) Batch(int seed)
    {
        var g = new global::TorchSharp.torch.Generator((ulong)seed);
        return (randn(new long[] { 32, 4 }, generator: g), randint(0, 3, new long[] { 32 }, generator: g), randn(new long[] { 32, 3 }, generator: g));
    }

    private static RefTensor Host(Tensor t)
    {
        var floats = t.to_type(ScalarType.Float32).contiguous();
        return new RefTensor(floats.data<float>().ToArray(), floats.shape.Select(d => (int)d).ToArray());
    }

    private static string[] Bits(ParameterMask mask) =>
        [.. mask.Names.SelectMany(name => mask.Indices(name).Select(i => name + "[" + i + "]"))];
}
