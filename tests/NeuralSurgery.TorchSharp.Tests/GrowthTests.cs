using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.TorchSharp.Growth;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Growth (issue 15 part 4, paper 004): units added with zero fan-out keep the outputs (paper 001 eq. 1, ≤ 1e-6) on an
/// MLP, a concat of encoders, an LSTM and a GRU; the effective dimension against matrices of known rank; DYNO's
/// triggers on constructed φ sequences; pruning selection; NORTH-Select; bad input named by layer.
/// </summary>
public sealed class GrowthTests
{
    private const double Eq1 = 1e-6;

    [Fact]
    public void MLP_new_units_get_random_fan_in_and_zero_fan_out_and_the_outputs_do_not_change()
    {
        torch.manual_seed(21);
        var old = Eval(new PruneMlp());
        var growth = UnitGrowth.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", 4);
        Assert.Equal((16L, 20L, "fc1"), (growth.OldWidth, growth.NewWidth, growth.Space));
        Assert.Equal([12L, 20], growth.Widened.FindParameter("fc2.weight")!.Shape.Dims.Select(d => d.Value));
        var grown = Eval(new PruneMlp(hidden: 20));
        LiveSurgery.Apply(growth.Plan, old, grown, seed: 3);
        var x = randn(64, 5);
        Assert.True(MaxDiff(old.call(x), grown.call(x)) <= Eq1);
        var state = grown.state_dict();
        Assert.True(state["fc1.weight"].narrow(0, 16, 4).abs().sum().item<float>() > 0, "new rows are random");
        Assert.Equal(0, state["fc2.weight"].narrow(1, 16, 4).abs().sum().item<float>());
        Assert.True(Same(old.state_dict()["fc1.weight"], state["fc1.weight"].narrow(0, 0, 16)));
    }

    [Fact]
    public void MLP_chosen_fan_in_is_written_by_the_plan_and_round_trips_through_JSON()
    {
        torch.manual_seed(22);
        var old = Eval(new PruneMlp());
        var rows = new[] { new[] { 1.0, -2, 0.5, 0, 3 }, new[] { 0.25, 0.5, -1, 2, -0.75 } };
        var growth = UnitGrowth.WithFanIn(UnitGrowth.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", 2), "fc1.weight", "fc1.bias", rows, [0.1, -0.2]);
        Assert.Equal(growth.Plan, PlanJson.Read(PlanJson.Write(growth.Plan)));
        var grown = Eval(new PruneMlp(hidden: 18));
        LiveSurgery.Apply(growth.Plan, old, grown);
        var state = grown.state_dict();
        Assert.Equal(rows.SelectMany(r => r).Select(v => (float)v), state["fc1.weight"].narrow(0, 16, 2).data<float>().ToArray());
        Assert.Equal([0.1f, -0.2f], state["fc1.bias"].narrow(0, 16, 2).data<float>().ToArray());
        var x = randn(32, 5);
        Assert.True(MaxDiff(old.call(x), grown.call(x)) <= Eq1);
    }

    [Fact]
    public void Concat_of_encoders_growing_the_second_encoder_adds_zero_columns_at_its_offset()
    {
        torch.manual_seed(23);
        var old = new PruneEncoders();
        var growth = UnitGrowth.Plan(Side(PruneEncoders.Mirror.Graph, PruneEncoders.Mirror.Schema), "unit_encoder", 3);
        var grown = new PruneEncoders(unitWidth: 8);
        LiveSurgery.Apply(growth.Plan, old, grown, seed: 1);
        var (hero, units) = (randn(16, 3), randn(16, 5, 4));
        Assert.True(MaxDiff(old.call(hero, units), grown.call(hero, units)) <= Eq1);
        var head = grown.state_dict()["head.weight"];
        Assert.Equal(0, head.narrow(1, 11, 3).abs().sum().item<float>()); // hero 6 + unit 5: the new columns follow
        Assert.True(Same(old.state_dict()["head.weight"], head.narrow(1, 0, 11)));
    }

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void Recurrent_new_hidden_units_get_rows_in_every_gate_block_and_nobody_reads_them(string kind)
    {
        torch.manual_seed(24);
        var lstm = kind == "lstm";
        nn.Module<Tensor, Tensor> old = lstm ? new PruneLstm() : new PruneGru();
        var growth = UnitGrowth.Plan(Side(lstm ? PruneLstm.Mirror.Graph : PruneGru.Mirror.Graph, lstm ? PruneLstm.Mirror.Schema : PruneGru.Mirror.Schema), kind, 3);
        Assert.Equal(kind + ".l0", growth.Space);
        nn.Module<Tensor, Tensor> grown = lstm ? new PruneLstm(hidden: 11) : new PruneGru(hidden: 10);
        LiveSurgery.Apply(growth.Plan, old, grown, seed: 2);
        var track = randn(6, 9, 3);
        Assert.True(MaxDiff(old.call(track), grown.call(track)) <= Eq1);
        var hidden = lstm ? 11 : 10;
        var hh = grown.state_dict()[kind + ".weight_hh_l0"];
        Assert.Equal(0, hh.narrow(1, hidden - 3, 3).abs().sum().item<float>()); // old and new units read the new ones with zero
        Assert.True(grown.state_dict()[kind + ".weight_ih_l0"].narrow(0, hidden - 3, 3).abs().sum().item<float>() > 0); // first gate block's new rows
    }

    [Fact]
    public void Optimizer_state_of_new_elements_starts_at_zero()
    {
        torch.manual_seed(25);
        var old = new PruneMlp();
        var optimizer = optim.Adam(old.parameters(), 1e-2);
        optimizer.zero_grad();
        old.call(randn(32, 5)).pow(2).mean().backward();
        optimizer.step();
        var growth = UnitGrowth.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", 2);
        var grown = new PruneMlp(hidden: 18);
        LiveSurgery.Apply(growth.Plan, old, grown);
        var next = optim.Adam(grown.parameters(), 1e-2);
        OptimizerCarry.Carry(growth.Plan, old, optimizer, grown, next);
        var names = grown.named_parameters().Select(p => p.name).ToList();
        Tensor Moment(OptimizerHelper o, string name) => ((Adam.State)o.state_dict().State[names.IndexOf(name)]).exp_avg;
        Assert.Equal(0, Moment(next, "fc1.weight").narrow(0, 16, 2).abs().sum().item<float>());
        Assert.Equal(0, Moment(next, "fc2.weight").narrow(1, 16, 2).abs().sum().item<float>());
        Assert.True(Same(Moment(optimizer, "fc1.weight"), Moment(next, "fc1.weight").narrow(0, 0, 16)));
    }

    [Fact]
    public void Effective_dimension_counts_singular_values_of_H_over_root_n_above_epsilon()
    {
        torch.manual_seed(26);
        // A rank-4 matrix of 10 units: φ = 4/10.
        var low = randn(300, 4, dtype: ScalarType.Float64).matmul(randn(4, 10, dtype: ScalarType.Float64));
        var r = EffectiveDimension.Compute(low, 1e-6);
        Assert.Equal((4L, 10L, 300L), (r.Rank, r.Width, r.Samples));
        Assert.Equal(0.4, r.Phi, 12);

        // Known singular values: H = √n · Q · diag(s) with orthonormal Q has σ(H/√n) = s exactly.
        var n = 200;
        var q = linalg.qr(randn(n, 6, dtype: ScalarType.Float64)).Q;
        var s = new[] { 3.0, 1.0, 0.5, 0.02, 0.008, 0.001 };
        var h = q.matmul(diag(tensor(s))) * Math.Sqrt(n);
        Assert.Equal(4, EffectiveDimension.Compute(h, 1e-2).Rank); // 0.02 > ε = 0.01 > 0.008
        Assert.Equal(6, EffectiveDimension.Compute(h, 1e-4).Rank);
        Assert.Equal(0, EffectiveDimension.Compute(h, 10).Rank);
        Assert.Equal(linalg.svdvals(h / Math.Sqrt(n)).gt(0.4).sum().item<long>(), EffectiveDimension.Compute(h, 0.4).Rank);
    }

    [Fact]
    public void The_activation_buffer_keeps_the_last_samples_row_for_row_with_their_inputs()
    {
        torch.manual_seed(30);
        using var layer = nn.Linear(3, 2);
        using var buffer = new ActivationBuffer(layer, "fc", 2, 7, t => t.relu());
        var batches = Enumerable.Range(0, 3).Select(_ => randn(4, 3)).ToList();
        foreach (var b in batches.Take(1))
        {
            layer.call(b).Dispose();
        }

        Assert.Equal((4L, false), (buffer.Count, buffer.IsFull));
        foreach (var b in batches.Skip(1))
        {
            layer.call(b).Dispose();
        }

        Assert.True(buffer.IsFull);
        var inputs = buffer.Inputs();
        var held = new HashSet<string>(Enumerable.Range(0, 7).Select(i => string.Join(",", inputs[i].data<float>().ToArray())));
        var last = cat(batches, 0).narrow(0, 5, 7); // the 7 newest of 12 samples
        Assert.True(Enumerable.Range(0, 7).All(i => held.Contains(string.Join(",", last[i].data<float>().ToArray()))));
        using (no_grad())
        {
            Assert.True(MaxDiff(layer.forward(inputs).relu(), buffer.Activations()) <= 1e-6); // outputs sit beside their inputs
        }

        buffer.Capturing = false;
        layer.call(randn(4, 3)).Dispose();
        Assert.True(Same(inputs, buffer.Inputs()));
    }

    [Fact]
    public void Triggers_grow_and_prune_by_the_distance_from_the_moving_baseline()
    {
        var t = new DynoTrigger("fc1", 0.1);
        Assert.Equal((0L, 0L), Pair(t.Evaluate(0.5, 20))); // sets φ* = 0.5
        Assert.Equal(0.5, t.Baseline);
        Assert.Equal((0L, 0L), Pair(t.Evaluate(0.54, 20))); // inside [(1−δ)φ*, (1+δ)φ*] = [0.45, 0.55]
        Assert.Equal((0L, 3L), Pair(t.Evaluate(0.7, 20))); // ⌊20 (0.7 − 0.55)⌋
        Assert.Equal((3L, 0L), Pair(t.Evaluate(0.3, 20))); // ⌊20 (0.45 − 0.3)⌋
        Assert.Equal((9L, 0L), Pair(t.Evaluate(0, 20)));
        t.Rebase(0.9); // the layer changed: φ* is its φ right after
        Assert.Equal(0.9, t.Baseline);
        Assert.Equal((0L, 0L), Pair(t.Evaluate(0.98, 23))); // below (1+δ)φ* = 0.99
        Assert.Equal((2L, 0L), Pair(t.Evaluate(0.7, 23))); // ⌊23 (0.81 − 0.7)⌋
        static (long, long) Pair(DynoDecision d) => (d.Prune, d.Grow);
    }

    [Fact]
    public void Pruning_selects_dormant_units_first_then_the_most_cosine_similar()
    {
        torch.manual_seed(27);
        var basis = randn(400, 4, dtype: ScalarType.Float64);
        // Units: 0-3 independent, 4 dormant, 5 a scaled copy of 1, 6 close to 2 (cosine about 0.95).
        var h = cat([basis, zeros(400, 1, dtype: ScalarType.Float64), basis.narrow(1, 1, 1) * 3, basis.narrow(1, 2, 1) + (0.3 * randn(400, 1, dtype: ScalarType.Float64))], 1);
        Assert.Equal([4L], DynoSelection.Prune(h, 1, "fc"));
        var two = DynoSelection.Prune(h, 2, "fc");
        Assert.Contains(4L, two); // the result is sorted
        Assert.Single(two.Intersect(new long[] { 1, 5 })); // one of the exact pair
        var three = DynoSelection.Prune(h, 3, "fc");
        Assert.Equal(3, three.Intersect(new long[] { 4, 1, 5, 2, 6 }).Count());
        Assert.Single(three.Intersect(new long[] { 1, 5 }));
        Assert.Single(three.Intersect(new long[] { 2, 6 }));
    }

    [Fact]
    public void NORTH_select_keeps_candidates_that_raise_the_effective_rank()
    {
        torch.manual_seed(28);
        // Existing units read only inputs 0-1 of 6: their activations span little; a good candidate reads the rest.
        var x = randn(400, 6, dtype: ScalarType.Float64);
        var weight = zeros(5, 6, dtype: ScalarType.Float64);
        weight.narrow(1, 0, 2).copy_(randn(5, 2, dtype: ScalarType.Float64));
        var bias = zeros(5, dtype: ScalarType.Float64);
        var h = x.matmul(weight.t()); // identity activation: rank 2
        using var generator = new torch.Generator(5);
        var fan = DynoSelection.North(x, h, weight, bias, t => t.alias(), 3, 1e-3, "fc", generator, candidatesPerUnit: 20);
        Assert.Equal(60, fan.Candidates);
        Assert.Equal(3, fan.Weights.Length);
        var norm = weight.norm(1).mean().item<double>();
        foreach (var (w, b) in fan.Weights.Zip(fan.Biases))
        {
            Assert.Equal(norm, Math.Sqrt(w.Sum(v => v * v) + (b * b)), 9); // scaled to the existing fan-in norm
            var column = x.matmul(tensor(w).unsqueeze(1)) + b;
            Assert.Equal(3, EffectiveDimension.Compute(cat([h, column], 1), 1e-3).Rank);
        }
    }

    [Fact]
    public void DYNO_prunes_units_that_became_constant_and_mean_replacement_keeps_the_outputs()
    {
        torch.manual_seed(29);
        var start = Eval(new PruneMlp());
        var side = Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema);
        var data = randn(64, 5);
        var probe = randn(32, 5);
        using var dyno = new Dyno(
            side,
            start,
            optim.SGD(start.parameters(), 0.01),
            w => Eval(new PruneMlp(hidden: w["fc1"])),
            m => optim.SGD(m.parameters(), 0.01),
            [new DynoLayer("fc1", t => t.tanh())],
            new DynoOptions { Every = 1, BufferMinimum = 64, MeanData = m => ((nn.Module<Tensor, Tensor>)m).call(data).Dispose(), Probe = m => ((nn.Module<Tensor, Tensor>)m).call(probe) });
        Run(dyno, data);
        Assert.Empty(dyno.Step()); // sets φ* (16 independent tanh units)
        Assert.Equal(1.0, dyno.Trigger("fc1").Baseline);

        using (no_grad())
        {
            var state = dyno.Model.state_dict();
            state["fc1.weight"].narrow(0, 0, 8).zero_();
            state["fc1.bias"].narrow(0, 0, 8).fill_(0.5); // eight equal constant units: rank 16 → 9
        }

        Run(dyno, data);
        var e = Assert.Single(dyno.Step());
        Assert.False(e.Grew);
        Assert.Equal(9.0 / 16, e.Phi, 12); // eq. 3 asks for ⌊16 (0.97 − 9/16)⌋ = 6 units ...
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), e.Units); // ... and all dormant (constant) units go first
        Assert.True(e.MaxOutputChange <= Eq1, $"eq. 1: {e.MaxOutputChange}");
        Assert.Equal(e.To, dyno.Widths["fc1"]);
        Assert.Equal(1.0, dyno.Trigger("fc1").Baseline!.Value, 12); // φ* of the pruned layer: eight independent units
        Assert.Equal(e.To, dyno.Side.Graph.FindParameter("fc1.weight")!.Shape[0].Value);
    }

    [Fact]
    public void Bad_input_is_refused_with_a_message_naming_the_layer()
    {
        var side = Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema);
        Assert.Contains("no layer 'fc9' with units", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc9", 1)).Message, StringComparison.Ordinal);
        Assert.Contains("units of layer 'fc3' reach output 'y' directly", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc3", 2)).Message, StringComparison.Ordinal);
        Assert.Contains("adding 0 units to layer 'fc1'; expected at least 1", Assert.Throws<PlanException>(() => UnitGrowth.Plan(side, "fc1", 0)).Message, StringComparison.Ordinal);
        var growth = UnitGrowth.Plan(side, "fc1", 2);
        Assert.Contains("fan-in for layer 'fc1': 1 rows given; expected 2", Assert.Throws<PlanException>(() => UnitGrowth.WithFanIn(growth, "fc1.weight", null, [new double[5]], null)).Message, StringComparison.Ordinal);
        Assert.Contains("row 0 has 4 values; expected 5", Assert.Throws<PlanException>(() => UnitGrowth.WithFanIn(growth, "fc1.weight", null, [new double[4], new double[5]], null)).Message, StringComparison.Ordinal);

        Assert.Contains("layer 'fc1': ε is 0", Assert.Throws<ArgumentOutOfRangeException>(() => EffectiveDimension.Compute(randn(20, 4), 0, "fc1")).Message, StringComparison.Ordinal);
        Assert.Contains("layer 'fc1': 4 samples for 4 units", Assert.Throws<ArgumentException>(() => EffectiveDimension.Compute(randn(4, 4), 0.01, "fc1")).Message, StringComparison.Ordinal);
        using var linear = nn.Linear(3, 8);
        Assert.Contains("layer 'fc1': a buffer of 8 samples for 8 units", Assert.Throws<ArgumentOutOfRangeException>(() => new ActivationBuffer(linear, "fc1", 8, 8)).Message, StringComparison.Ordinal);
        Assert.Contains("layer 'fc1': δ is -0.1", Assert.Throws<ArgumentOutOfRangeException>(() => new DynoTrigger("fc1", -0.1)).Message, StringComparison.Ordinal);

        var model = new PruneMlp();
        Dyno Make(string layer) => new(side, model, optim.SGD(model.parameters(), 0.1), w => new PruneMlp(), m => optim.SGD(m.parameters(), 0.1), [new DynoLayer(layer)]);
        Assert.Contains("has no layer 'fc7'", Assert.Throws<PlanException>(() => Make("fc7")).Message, StringComparison.Ordinal);
        Assert.Contains("layer 'norm' is a BatchNorm", Assert.Throws<PlanException>(() => Make("norm")).Message, StringComparison.Ordinal);
        Assert.Contains("'fc3' reach output 'y' directly", Assert.Throws<PlanException>(() => Make("fc3")).Message, StringComparison.Ordinal);

        var lstm = Side(PruneLstm.Mirror.Graph, PruneLstm.Mirror.Schema);
        Assert.Contains("layer 'lstm' is a", Assert.Throws<PlanException>(() => new Dyno(lstm, new PruneLstm(), optim.SGD(new PruneLstm().parameters(), 0.1), w => new PruneLstm(), m => optim.SGD(m.parameters(), 0.1), [new DynoLayer("lstm")])).Message, StringComparison.Ordinal);
    }

    private static void Run(Dyno dyno, Tensor data)
    {
        using var noGrad = no_grad();
        ((nn.Module<Tensor, Tensor>)dyno.Model).call(data).Dispose();
    }

    private static ModelSide Side(ModelGraph graph, Schema.FeatureSchema schema) => ModelSide.Trace(graph, schema);

    private static T Eval<T>(T module)
        where T : nn.Module
    {
        module.eval();
        return module;
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
