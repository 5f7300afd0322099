using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.TorchSharp.Pruning;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Dynamic network surgery (paper 003, issue 15 part 3): hysteresis of the two thresholds, the forward pass on W ⊙ T
/// while the full W learns from ∂L/∂(W ⊙ T) (so pruned weights can be spliced back), the update schedule, and the
/// export of units left without inputs as a removal plan that keeps the sparse model's outputs.
/// </summary>
public sealed class DynamicNetworkSurgeryTests
{
    [Fact]
    public void Masks_prune_below_the_lower_threshold_splice_above_the_upper_and_keep_their_state_between()
    {
        var layer = nn.Linear(4, 2);
        Set(layer.weight!, [[0.1f, 1.0f, 2.0f, 3.0f], [0.5f, 1.5f, 2.5f, 0.2f]]);
        var dns = new DynamicNetworkSurgery(layer, new DnsOptions { C = 0, Gamma = 0 });
        var sgd = optim.SGD(layer.parameters(), 0);
        Step(dns, sgd, layer);
        var (low, high) = dns.Thresholds["weight"];
        Assert.Equal(0.9 * 1.35, low, 1e-5); // t = mean |W| = 1.35 (c = 0)
        Assert.Equal(1.1 * 1.35, high, 1e-5);
        Assert.Equal(new[] { false, false, true, true, false, true, true, false }, Mask(dns)); // ≤ 1.215 pruned; 1.5 stays
        Assert.Equal(4, dns.Pruned);

        // Between the thresholds nothing changes; past the upper one a pruned weight is spliced back.
        Set(layer.weight!, [[1.3f, 1.6f, 2.0f, 1.3f], [0.5f, 1.3f, 2.5f, 0.2f]]);
        Step(dns, sgd, layer);
        Assert.Equal(new[] { false, true, true, true, false, true, true, false }, Mask(dns));
        Assert.Equal(1, dns.Spliced);
        Assert.Equal(0.375, dns.Sparsity, 1e-9);
    }

    [Fact]
    public void The_forward_pass_sees_W_times_T_and_the_full_weights_learn_from_its_gradient()
    {
        torch.manual_seed(31);
        var layer = nn.Linear(3, 2);
        Set(layer.weight!, [[0.01f, 1.0f, -2.0f], [3.0f, -0.02f, 1.5f]]);
        var dns = new DynamicNetworkSurgery(layer, new DnsOptions { C = 0, Gamma = 0 });
        var sgd = optim.SGD(layer.parameters(), 0.1);
        var x = randn(5, 3);
        var full = layer.weight!.detach().clone();

        dns.BeginStep();
        var masked = full * dns.Masks["weight"];
        var y = layer.call(x);
        Assert.True(y.allclose(x.matmul(masked.t()) + layer.bias!, atol: 1e-6));
        sgd.zero_grad();
        y.sum().backward();
        dns.EndStep(sgd);

        // ∂(Σy)/∂W_eff[o, i] = Σ_batch x_i for every element, pruned ones included.
        var expected = full - (0.1 * x.sum(dim: 0).unsqueeze(0).expand(2, 3));
        Assert.True(layer.weight!.allclose(expected, atol: 1e-6));
        Assert.NotEqual(0.01f, layer.weight![0, 0].item<float>()); // pruned, and still learning
        Assert.False(dns.Masks["weight"][0, 0].item<bool>());
    }

    [Fact]
    public void Masks_update_with_probability_one_plus_gamma_iter_to_the_minus_power_and_never_after_the_stop()
    {
        var layer = nn.Linear(2, 1);
        Set(layer.weight!, [[0.1f, 1.0f]]);
        var sgd = optim.SGD(layer.parameters(), 0);

        // γ huge: iteration 0 updates (probability 1), later ones almost never, so a pruned weight that grows is not spliced.
        var rare = new DynamicNetworkSurgery(layer, new DnsOptions { C = 0, Gamma = 1e12, Seed = 1 });
        Step(rare, sgd, layer);
        Set(layer.weight!, [[5.0f, 1.0f]]);
        for (var i = 0; i < 5; i++)
        {
            Step(rare, sgd, layer);
        }

        Assert.Equal(0, rare.Spliced);

        // γ = 0: every iteration updates, so the same growth is spliced at the next one.
        Set(layer.weight!, [[0.1f, 1.0f]]);
        var every = new DynamicNetworkSurgery(layer, new DnsOptions { C = 0, Gamma = 0 });
        Step(every, sgd, layer);
        Set(layer.weight!, [[5.0f, 1.0f]]);
        Step(every, sgd, layer);
        Assert.Equal(1, every.Spliced);

        // From the stop iteration on, never.
        var stopped = new DynamicNetworkSurgery(layer, new DnsOptions { C = 0, Gamma = 0, StopIteration = 0 });
        Step(stopped, sgd, layer);
        Assert.Equal(0, stopped.Pruned);
        Assert.Equal(0, stopped.Sparsity);
    }

    [Fact]
    public void Units_left_without_inputs_are_removed_by_a_plan_that_keeps_the_sparse_models_outputs()
    {
        torch.manual_seed(32);
        var model = new PruneMlp();
        model.eval();
        using (no_grad())
        {
            model.state_dict()["fc1.weight"][2].mul_(1e-4); // nothing left of unit 2's inputs after pruning
        }

        var dns = new DynamicNetworkSurgery(model, new DnsOptions { C = 0.2, Gamma = 0 }, ["fc1.weight", "fc2.weight"]);
        var sgd = optim.SGD(model.parameters(), 0);
        Step(dns, sgd, model);
        dns.Finish();
        var dead = dns.FullyMaskedRows("fc1.weight");
        Assert.Contains(2L, dead);

        var removal = UnitRemoval.Plan(ModelSide.Trace(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", dead);
        var x = randn(30, 5);
        var plan = LiveMeanReplacement.Plan(removal, model, LiveMeanReplacement.MeasureInputMeans(model, removal, () => model.call(x).Dispose()));
        var smaller = new PruneMlp(hidden: 16 - dead.Length);
        smaller.eval();
        LiveSurgery.Apply(plan, model, smaller);
        var other = randn(20, 5);
        Assert.True((model.call(other) - smaller.call(other)).abs().max().item<float>() <= 1e-6);
        Assert.Contains("'fc9'", Assert.Throws<ArgumentException>(() => new DynamicNetworkSurgery(model, new DnsOptions(), ["fc9"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_layer_takes_its_own_c_and_an_unknown_layer_in_LayerC_is_refused_by_name()
    {
        torch.manual_seed(33);
        var model = new PruneMlp();
        var magnitudes = new[] { "fc1.weight", "fc2.weight" }.ToDictionary(n => n, n => model.state_dict()[n].abs());
        var dns = new DynamicNetworkSurgery(model, new DnsOptions { C = 0.5, LayerC = new Dictionary<string, double> { ["fc2.weight"] = -0.4 }, Gamma = 0 }, ["fc1.weight", "fc2.weight"]);
        var sgd = optim.SGD(model.parameters(), 0);
        Step(dns, sgd, model);
        foreach (var (name, c) in new[] { ("fc1.weight", 0.5), ("fc2.weight", -0.4) })
        {
            var m = magnitudes[name];
            var t = Math.Max(m.mean().item<float>() + (c * m.std(unbiased: false).item<float>()), 0);
            Assert.Equal(0.9 * t, dns.Thresholds[name].Low, 1e-5);
            Assert.Equal(1.1 * t, dns.Thresholds[name].High, 1e-5);
            Assert.Equal(m.le(0.9 * t).sum().item<long>(), dns.Masks[name].logical_not().sum().item<long>());
        }

        var error = Assert.Throws<ArgumentException>(() => new DynamicNetworkSurgery(model, new DnsOptions { LayerC = new Dictionary<string, double> { ["fc3.weight"] = 1 } }, ["fc1.weight", "fc2.weight"]));
        Assert.Contains("LayerC names 'fc3.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'fc1.weight', 'fc2.weight'", error.Message, StringComparison.Ordinal);
    }

    private static void Step(DynamicNetworkSurgery dns, OptimizerHelper optimizer, nn.Module model)
    {
        dns.BeginStep();
        optimizer.zero_grad();
        var input = randn(2, model.parameters().First().shape[^1]);
        ((nn.Module<Tensor, Tensor>)model).call(input).sum().backward();
        dns.EndStep(optimizer);
    }

    private static bool[] Mask(DynamicNetworkSurgery dns) => dns.Masks["weight"].reshape(-1).data<bool>().ToArray();

    private static void Set(Tensor parameter, float[][] rows)
    {
        using var noGrad = no_grad();
        parameter.copy_(torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]));
    }
}
