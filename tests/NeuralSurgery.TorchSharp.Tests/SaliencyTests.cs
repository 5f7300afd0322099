using System;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.TorchSharp.Pruning;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Saliency scorers (issue 15 part 2, paper 002 Table 2.1 and chapter 3) against closed forms: a least-squares loss,
/// whose Hessian is 2XᵀX/K, for the parameter scorers; a loss linear in the layer's output, where MRS (first order) is
/// MRP exactly; dead units made by hand in each of the thesis's three ways.
/// </summary>
public sealed class SaliencyTests
{
    [Fact]
    public void Table_2_1_scorers_match_the_closed_forms_of_a_least_squares_loss()
    {
        torch.manual_seed(21);
        var layer = nn.Linear(4, 1, hasBias: false);
        var x = randn(16, 4);
        var y = randn(16, 1);
        Tensor Loss() => (layer.call(x) - y).pow(2).mean();

        using var noGrad = no_grad();
        var w = layer.weight!.detach().clone();
        var residual = x.matmul(w.t()) - y;                 // [16, 1]
        var g = residual.t().matmul(x) * (2.0 / 16);        // ∇L = 2/K rᵀX
        var hessian = x.t().matmul(x) * (2.0 / 16);         // H = 2/K XᵀX
        var hw = w.matmul(hessian);                         // (H w)ᵀ, [1, 4]
        var expected = new (SaliencyKind Kind, Tensor Value)[]
        {
            (SaliencyKind.Magnitude, w.abs()),
            (SaliencyKind.Taylor1, -w * g),
            (SaliencyKind.Taylor1Abs, (-w * g).abs()),
            (SaliencyKind.Hessian, w * hw),                 // Δw·HΔw with Δw = −w
            (SaliencyKind.HessianAbs, (w * hw).abs()),
            (SaliencyKind.Taylor2, (-w * g) + (w * hw)),
            (SaliencyKind.Taylor2Abs, ((-w * g) + (w * hw)).abs()),
        };

        foreach (var (kind, value) in expected)
        {
            Tensor score;
            using (torch.enable_grad())
            {
                score = Saliency.Parameters(layer, kind, Loss)["weight"];
            }

            Assert.True(score.allclose(value, rtol: 1e-4, atol: 1e-6), $"{kind}: {string.Join(", ", score.data<float>().ToArray())} vs {string.Join(", ", value.data<float>().ToArray())}");
        }

        // Every scorer but magnitude needs the loss.
        Assert.Throws<ArgumentNullException>(() => Saliency.Parameters(layer, SaliencyKind.Taylor1));
    }

    [Fact]
    public void MRS_equals_MRP_when_the_loss_is_linear_in_the_layers_output_and_is_zero_for_a_constant_unit()
    {
        torch.manual_seed(22);
        var first = nn.Linear(3, 6);
        var second = nn.Linear(6, 2);
        using (no_grad())
        {
            first.weight![4].zero_(); // unit 4 outputs its bias: constant
        }

        var x = randn(50, 3);
        Tensor Losses() => second.call(first.call(x)).sum(1);

        var statistics = UnitSaliency.Measure(first, Losses);
        var mrp = UnitSaliency.Mrp(first, Losses);
        for (var i = 0; i < 6; i++)
        {
            Assert.True(Math.Abs(statistics.Mrs[i] - mrp[i]) <= 1e-4 * Math.Max(1, mrp[i]), $"unit {i}: MRS {statistics.Mrs[i]} vs MRP {mrp[i]}");
        }

        Assert.True(statistics.Mrs[4] < 1e-5 && mrp[4] < 1e-5);
        Assert.True(statistics.Mrs.Max() > 1e-2, "the live units are salient");
        Assert.True(first.weight!.grad is null || first.weight.grad.IsInvalid, "MRS must not touch parameter gradients");
    }

    [Fact]
    public void Dead_units_constant_saturated_and_zero_fan_out_are_told_apart()
    {
        torch.manual_seed(23);
        var model = new PruneMlp();
        model.eval();
        var state = model.state_dict();
        using (no_grad())
        {
            state["fc1.weight"][3].zero_();                // constant output
            state["fc1.bias"][5].fill_(60);                // tanh(≈60): varies before tanh, no gradient through it
            state["fc2.weight"][TensorIndex.Colon, 7].zero_(); // nothing reads unit 7
        }

        var fc1 = (nn.Module<Tensor, Tensor>)model.named_modules().First(m => m.name == "fc1").module;
        var x = randn(40, 5);
        var statistics = UnitSaliency.Measure(fc1, () => model.call(x).pow(2).sum(1));
        var side = ModelSide.Trace(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema);
        var fanOut = UnitRemoval.FanOut(side, "fc1");
        Assert.Equal("fc2.weight", Assert.Single(fanOut).Weight);

        var dead = UnitSaliency.Detect(statistics, model, fanOut, tolerance: 1e-5);
        Assert.Equal([3L], dead.Constant);
        Assert.Equal([5L, 7], dead.Saturated); // a unit nobody reads gets no gradient either
        Assert.Equal([7L], dead.ZeroFanOut);
        Assert.Equal([3L, 5, 7], dead.All);
    }

    [Fact]
    public void Unit_scores_sum_the_parameter_scores_of_every_slice_a_removal_drops()
    {
        torch.manual_seed(24);
        var mlp = new PruneMlp();
        var magnitude = Saliency.Parameters(mlp, SaliencyKind.Magnitude);
        var units = Saliency.Units(magnitude, UnitRemoval.Slices(ModelSide.Trace(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1"));
        var s = mlp.state_dict();
        for (var u = 0; u < 16; u++)
        {
            var expected = s["fc1.weight"][u].abs().sum().item<float>() + s["fc1.bias"][u].abs().item<float>() + s["fc2.weight"][TensorIndex.Colon, u].abs().sum().item<float>();
            Assert.Equal(expected, units[u], 1e-3); // a tolerance: rounding to decimals fails on ties
        }

        // LSTM hidden unit j: row j of each of the four gate blocks of every weight and bias, column j of weight_hh
        // (its crossing with those rows counted once), column j of the head.
        var lstm = new PruneLstm();
        var scores = Saliency.Units(Saliency.Parameters(lstm, SaliencyKind.Magnitude), UnitRemoval.Slices(ModelSide.Trace(PruneLstm.Mirror.Graph, PruneLstm.Mirror.Schema), "lstm"));
        var l = lstm.state_dict();
        for (var j = 0; j < 8; j++)
        {
            using var rows = torch.tensor(Enumerable.Range(0, 4).Select(g => (long)((g * 8) + j)).ToArray());
            var hh = l["lstm.weight_hh_l0"].abs();
            var expected = l["lstm.weight_ih_l0"].index_select(0, rows).abs().sum().item<float>()
                + hh.index_select(0, rows).sum().item<float>() + hh[TensorIndex.Colon, j].sum().item<float>() - hh.index_select(0, rows)[TensorIndex.Colon, j].sum().item<float>()
                + l["lstm.bias_ih_l0"].index_select(0, rows).abs().sum().item<float>() + l["lstm.bias_hh_l0"].index_select(0, rows).abs().sum().item<float>()
                + l["head.weight"][TensorIndex.Colon, j].abs().sum().item<float>();
            Assert.Equal(expected, scores[j], 1e-3);
        }
    }

    [Fact]
    public void A_layer_called_other_than_once_or_losses_of_the_wrong_shape_are_errors_naming_it()
    {
        var layer = nn.Linear(3, 2);
        var x = randn(4, 3);
        var never = Assert.Throws<InvalidOperationException>(() => UnitSaliency.Measure(layer, () => layer.forward(x).sum(1)));
        Assert.Contains("was not called: invoke it with call()", never.Message, StringComparison.Ordinal);
        var twice = Assert.Throws<InvalidOperationException>(() => UnitSaliency.Measure(layer, () => (layer.call(x) + layer.call(x)).sum(1)));
        Assert.Contains("was called 2 times in one pass", twice.Message, StringComparison.Ordinal);
        var scalar = Assert.Throws<ArgumentException>(() => UnitSaliency.Measure(layer, () => layer.call(x).sum()));
        Assert.Contains("expected [4], one per sample", scalar.Message, StringComparison.Ordinal);
    }
}
