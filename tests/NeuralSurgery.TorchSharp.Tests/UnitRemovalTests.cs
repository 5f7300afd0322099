using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Pruning;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.TorchSharp.Pruning;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using RefTensor = NeuralSurgery.Runtime.Reference.Tensor;
using Tensor = TorchSharp.torch.Tensor;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Unit removal as a plan (issue 15 part 1): removing a unit whose output is constant, with mean replacement folded
/// into the next bias, keeps the outputs (paper 001 eq. 1, ≤ 1e-6) on an MLP with BatchNorm, a concat of encoders
/// over a set, an LSTM and a GRU; zero replacement (the plain removal) fails the same check. Coupled slices are held
/// against the same units sliced by hand.
/// </summary>
public sealed class UnitRemovalTests : IDisposable
{
    private const double Eq1 = 1e-6;

    private readonly string _dir = Directory.CreateTempSubdirectory("ns-prune-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MLP_with_BatchNorm_a_constant_unit_is_removed_exactly_by_mean_replacement_and_not_by_zero_replacement()
    {
        torch.manual_seed(11);
        var old = new PruneMlp();
        RandomizeBatchNorm(old, "norm");
        old.eval();
        MakeConstant(old, "fc1", 3, 0.8);
        var removal = UnitRemoval.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", [3]);
        Assert.Equal([15L, 5], removal.Narrowed.FindParameter("fc1.weight")!.Shape.Dims.Select(d => d.Value));
        Assert.Equal([12L, 15], removal.Narrowed.FindParameter("fc2.weight")!.Shape.Dims.Select(d => d.Value));
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal(("fc2", "fc2.weight", "fc2.bias"), (consumer.Module, consumer.Weight, consumer.Bias));
        Assert.Equal([3L], consumer.Columns);

        var x = randn(64, 5);
        var means = LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(x).Dispose());
        Assert.Equal(Math.Tanh(0.8), means["fc2"][3], 1e-6);
        var plan = LiveMeanReplacement.Plan(removal, old, means);
        Assert.Equal(1, plan.Tensors.Count(t => t.Add.Count > 0));

        var pruned = Eval(new PruneMlp(hidden: 15));
        LiveSurgery.Apply(plan, old, pruned);
        var other = randn(32, 5); // a constant unit is constant on any data, not just the measured set
        Assert.True(MaxDiff(old.call(other), pruned.call(other)) <= Eq1);

        var zero = Eval(new PruneMlp(hidden: 15));
        LiveSurgery.Apply(removal.Plan, old, zero);
        Assert.True(MaxDiff(old.call(other), zero.call(other)) > 1e-3);

        // The reference executor measures the same means; the file executor writes the live executor's bits.
        var reference = InputMeans.Measure(ReferenceModel.Load(PruneMlp.Mirror.Graph, LiveStateDict.Of(old)), removal, [Batch("x", x)]);
        Assert.Equal(means["fc2"], reference["fc2"], (a, b) => Math.Abs(a - b) < 1e-5);
        var path = Path.Combine(_dir, "pruned.dat");
        PlanExecutor.Apply(plan, LiveStateDict.Of(old), path, new ApplyOptions { Format = CheckpointFormat.TorchSharp });
        Assert.Equal(File.ReadAllBytes(path), Bytes(pruned));
    }

    [Fact]
    public void MLP_removing_a_BatchNorm_layers_units_drops_their_channels_and_running_statistics()
    {
        torch.manual_seed(12);
        var old = new PruneMlp();
        RandomizeBatchNorm(old, "norm");
        old.eval();
        var removal = UnitRemoval.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc2", [0, 7, 11]);
        var kept = Enumerable.Range(0, 12).Where(i => i is not (0 or 7 or 11)).Select(i => (long)i).ToArray();
        var pruned = Eval(new PruneMlp(inner: 9));
        LiveSurgery.Apply(removal.Plan, old, pruned);
        var o = old.state_dict();
        var p = pruned.state_dict();
        using var rows = torch.tensor(kept);
        foreach (var name in new[] { "fc2.weight", "fc2.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var" })
        {
            Assert.True(Same(o[name].index_select(0, rows), p[name]), name);
        }

        Assert.True(Same(o["fc3.weight"].index_select(1, rows), p["fc3.weight"]));
        Assert.True(Same(o["norm.num_batches_tracked"], p["norm.num_batches_tracked"]));
    }

    [Fact]
    public void Concat_of_encoders_over_a_set_a_constant_unit_of_the_second_encoder_drops_its_offset_column()
    {
        torch.manual_seed(13);
        var old = new PruneEncoders();
        MakeConstant(old, "unit_encoder", 2, -0.6);
        var removal = UnitRemoval.Plan(Side(PruneEncoders.Mirror.Graph, PruneEncoders.Mirror.Schema), "unit_encoder", [2]);
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal(("head.weight", 8L), (consumer.Weight, Assert.Single(consumer.Columns))); // offset 6 (hero) + 2
        var (hero, units) = (randn(40, 3), randn(40, 7, 4));
        var means = LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(hero, units).Dispose());
        var pruned = new PruneEncoders(unitWidth: 4);
        LiveSurgery.Apply(LiveMeanReplacement.Plan(removal, old, means), old, pruned);
        var (h2, u2) = (randn(16, 3), randn(16, 5, 4));
        Assert.True(MaxDiff(old.call(h2, u2), pruned.call(h2, u2)) <= Eq1);

        var zero = new PruneEncoders(unitWidth: 4);
        LiveSurgery.Apply(removal.Plan, old, zero);
        Assert.True(MaxDiff(old.call(h2, u2), zero.call(h2, u2)) > 1e-3);
    }

    [Fact]
    public void A_live_unit_is_removed_with_the_least_squared_change_of_any_constant_replacement()
    {
        // The head reads the concat directly, so replacing column c by a constant k changes the outputs by
        // W[:, c](k − x_c): over the measured set the mean is the k with the least squared change (paper 002 section 3.1).
        torch.manual_seed(19);
        var old = new PruneEncoders();
        var removal = UnitRemoval.Plan(Side(PruneEncoders.Mirror.Graph, PruneEncoders.Mirror.Schema), "hero_encoder", [1]);
        var (hero, units) = (randn(200, 3), randn(200, 6, 4));
        var means = LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(hero, units).Dispose());
        Assert.True(means["head"][1] > 0.05, "the unit is live: relu of a random projection");
        double Change(double scale)
        {
            var scaled = means.ToDictionary(kv => kv.Key, kv => kv.Value.Select((v, i) => i == 1 ? v * scale : v).ToArray());
            var pruned = new PruneEncoders(heroWidth: 5);
            LiveSurgery.Apply(LiveMeanReplacement.Plan(removal, old, scaled), old, pruned);
            return (old.call(hero, units) - pruned.call(hero, units)).pow(2).mean().item<float>();
        }

        var mean = Change(1);
        Assert.True(mean > 1e-4, "a live unit cannot be removed for free");
        Assert.True(mean < Change(0), "zero replacement");
        Assert.True(mean < Change(0.9) && mean < Change(1.1), "other constants");
    }

    [Fact]
    public void LSTM_a_constant_encoder_unit_is_folded_into_bias_ih()
    {
        torch.manual_seed(14);
        var old = new PruneLstm();
        MakeConstant(old, "encoder", 1, 0.9);
        var removal = UnitRemoval.Plan(Side(PruneLstm.Mirror.Graph, PruneLstm.Mirror.Schema), "encoder", [1]);
        var consumer = Assert.Single(removal.Consumers);
        Assert.Equal(("lstm.weight_ih_l0", "lstm.bias_ih_l0"), (consumer.Weight, consumer.Bias));
        var hooks = Assert.Throws<NotSupportedException>(() => LiveMeanReplacement.MeasureInputMeans(old, removal, () => { }));
        Assert.Contains("module 'lstm' (LSTM) takes more than one input; measure its input means with the reference executor", hooks.Message, StringComparison.Ordinal);
        CheckConstantRemoval(old, new PruneLstm(encoded: 5), new PruneLstm(encoded: 5), removal, PruneLstm.Mirror.Graph);
    }

    [Fact]
    public void GRU_a_constant_encoder_unit_is_folded_into_bias_ih()
    {
        torch.manual_seed(15);
        var old = new PruneGru();
        MakeConstant(old, "encoder", 4, -0.7);
        var removal = UnitRemoval.Plan(Side(PruneGru.Mirror.Graph, PruneGru.Mirror.Schema), "encoder", [4]);
        Assert.Equal("gru.bias_ih_l0", Assert.Single(removal.Consumers).Bias);
        CheckConstantRemoval(old, new PruneGru(encoded: 5), new PruneGru(encoded: 5), removal, PruneGru.Mirror.Graph);
    }

    [Theory]
    [InlineData("lstm", 4)]
    [InlineData("gru", 3)]
    public void Recurrent_hidden_units_drop_every_gate_block_and_the_heads_columns_as_slicing_by_hand_does(string kind, int gates)
    {
        torch.manual_seed(16);
        var lstm = kind == "lstm";
        nn.Module<Tensor, Tensor> old = lstm ? new PruneLstm() : new PruneGru();
        var hidden = lstm ? 8 : 7;
        var graph = lstm ? PruneLstm.Mirror.Graph : PruneGru.Mirror.Graph;
        var removal = UnitRemoval.Plan(Side(graph, lstm ? PruneLstm.Mirror.Schema : PruneGru.Mirror.Schema), kind, [2, 5]);
        Assert.Equal(kind + ".l0", removal.Space);
        nn.Module<Tensor, Tensor> pruned = lstm ? new PruneLstm(hidden: 6) : new PruneGru(hidden: 5);
        LiveSurgery.Apply(removal.Plan, old, pruned);

        var kept = Enumerable.Range(0, hidden).Where(i => i is not (2 or 5)).ToArray();
        using var rows = torch.tensor(Enumerable.Range(0, gates).SelectMany(g => kept.Select(j => (long)((g * hidden) + j))).ToArray());
        using var columns = torch.tensor(kept.Select(j => (long)j).ToArray());
        var o = old.state_dict();
        var p = pruned.state_dict();
        foreach (var name in new[] { "weight_ih_l0", "bias_ih_l0", "bias_hh_l0" })
        {
            Assert.True(Same(o[kind + "." + name].index_select(0, rows), p[kind + "." + name]), name);
        }

        Assert.True(Same(o[kind + ".weight_hh_l0"].index_select(0, rows).index_select(1, columns), p[kind + ".weight_hh_l0"]));
        Assert.True(Same(o["head.weight"].index_select(1, columns), p["head.weight"]));
        Assert.Contains(removal.Plan.Notes, n => n.Contains(kind + ".weight_hh_l0", StringComparison.Ordinal) && n.Contains("not compensated", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void Optimizer_state_follows_the_removed_rows_and_columns(string kind)
    {
        torch.manual_seed(17);
        var old = new PruneMlp();
        var x = randn(32, 5);
        OptimizerHelper Make(nn.Module m) => kind == "adam" ? optim.Adam(m.parameters(), 1e-2) : optim.SGD(m.parameters(), 1e-2, momentum: 0.9);
        var optimizer = Make(old);
        optimizer.zero_grad();
        old.call(x).pow(2).mean().backward();
        optimizer.step();
        var removal = UnitRemoval.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", [0, 9]);
        var pruned = new PruneMlp(hidden: 14);
        LiveSurgery.Apply(removal.Plan, old, pruned);
        var next = Make(pruned);
        Assert.True(OptimizerCarry.Carry(removal.Plan, old, optimizer, pruned, next) >= 8); // a moment per parameter at least

        var fc2 = old.named_parameters().Select(p => p.name).ToList().IndexOf("fc2.weight");
        var fc1Bias = old.named_parameters().Select(p => p.name).ToList().IndexOf("fc1.bias");
        using var kept = torch.tensor(Enumerable.Range(0, 16).Where(i => i is not (0 or 9)).Select(i => (long)i).ToArray());
        Tensor Moment(OptimizerHelper o, int i) => kind == "adam" ? ((Adam.State)o.state_dict().State[i]).exp_avg : ((SGD.State)o.state_dict().State[i]).momentum_buffer;
        Assert.True(Same(Moment(optimizer, fc2).index_select(1, kept), Moment(next, fc2)));
        Assert.True(Same(Moment(optimizer, fc1Bias).index_select(0, kept), Moment(next, fc1Bias)));
    }

    [Fact]
    public void A_plan_with_additions_round_trips_through_JSON_and_a_plan_without_keeps_its_bytes()
    {
        torch.manual_seed(18);
        var old = new PruneMlp();
        MakeConstant(old, "fc1", 5, 0.3);
        var removal = UnitRemoval.Plan(Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema), "fc1", [5]);
        var x = randn(8, 5);
        var plan = LiveMeanReplacement.Plan(removal, old, LiveMeanReplacement.MeasureInputMeans(old, removal, () => old.call(x).Dispose()));
        var text = PlanJson.Write(plan);
        Assert.Contains("\"add\": [", text, StringComparison.Ordinal);
        Assert.Equal(plan, PlanJson.Read(text));
        Assert.DoesNotContain("\"add\"", PlanJson.Write(removal.Plan), StringComparison.Ordinal);

        var bad = text.Replace("\"add\": [", "\"add\": [1, ", StringComparison.Ordinal);
        var error = Assert.ThrowsAny<Exception>(() => PlanJson.Read(bad));
        Assert.Contains("add", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected 12 values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_requests_name_the_layer_and_what_was_expected()
    {
        var side = Side(PruneMlp.Mirror.Graph, PruneMlp.Mirror.Schema);
        Assert.Contains("no layer 'fc9' with units; expected one of 'fc1'", Assert.Throws<PlanException>(() => UnitRemoval.Plan(side, "fc9", [0])).Message, StringComparison.Ordinal);
        Assert.Contains("unit 16 of layer 'fc1' is out of range; expected 0 to 15", Assert.Throws<PlanException>(() => UnitRemoval.Plan(side, "fc1", [16])).Message, StringComparison.Ordinal);
        Assert.Contains("listed twice", Assert.Throws<PlanException>(() => UnitRemoval.Plan(side, "fc1", [2, 2])).Message, StringComparison.Ordinal);
        Assert.Contains("fewer than all", Assert.Throws<PlanException>(() => UnitRemoval.Plan(side, "fc1", Enumerable.Range(0, 16).Select(i => (long)i).ToArray())).Message, StringComparison.Ordinal);
        Assert.Contains("reach output 'y' directly", Assert.Throws<PlanException>(() => UnitRemoval.Plan(side, "fc3", [0])).Message, StringComparison.Ordinal);

        var removal = UnitRemoval.Plan(side, "fc1", [1]);
        var short_ = new Dictionary<string, double[]> { ["fc2"] = new double[15] };
        var width = Assert.Throws<PlanApplicationException>(() => LiveMeanReplacement.Plan(removal, new PruneMlp(), short_));
        Assert.Contains("input mean of module 'fc2' has 15 values; expected 16 finite values, the width of axis 1 of 'fc2.weight'", width.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<PlanApplicationException>(() => LiveMeanReplacement.Plan(removal, new PruneMlp(), new Dictionary<string, double[]>()));
        Assert.Contains("no input mean for module 'fc2'", missing.Message, StringComparison.Ordinal);
        var wrongModel = Assert.Throws<PlanApplicationException>(() => LiveSurgery.Apply(removal.Plan, new PruneMlp(), new PruneMlp(hidden: 14)));
        Assert.Contains("the plan makes 'fc1.weight' [15, 5] but the target module PruneMlp has [14, 5]", wrongModel.Message, StringComparison.Ordinal);
    }

    /// <summary>Removes a constant encoder unit feeding a recurrent layer: means by the reference executor (the LSTM/GRU is called with forward, which runs no hooks).</summary>
    private static void CheckConstantRemoval(nn.Module<Tensor, Tensor> old, nn.Module<Tensor, Tensor> pruned, nn.Module<Tensor, Tensor> zero, UnitRemovalPlan removal, ModelGraph graph)
    {
        var track = randn(12, 6, 3);
        var means = InputMeans.Measure(ReferenceModel.Load(graph, LiveStateDict.Of(old)), removal, [Batch("track", track)]);
        LiveSurgery.Apply(LiveMeanReplacement.Plan(removal, old, means), old, pruned);
        var other = randn(5, 9, 3);
        Assert.True(MaxDiff(old.call(other), pruned.call(other)) <= Eq1);
        LiveSurgery.Apply(removal.Plan, old, zero);
        Assert.True(MaxDiff(old.call(other), zero.call(other)) > 1e-3);
    }

    private static ModelSide Side(ModelGraph graph, Schema.FeatureSchema schema) => ModelSide.Trace(graph, schema);

    private static T Eval<T>(T module)
        where T : nn.Module
    {
        module.eval();
        return module;
    }

    /// <summary>Unit <paramref name="unit"/> of a Linear outputs <paramref name="bias"/> whatever its input: zero weights.</summary>
    private static void MakeConstant(nn.Module model, string layer, long unit, double bias)
    {
        using var noGrad = no_grad();
        var state = model.state_dict();
        state[layer + ".weight"][unit].zero_();
        state[layer + ".bias"][unit].fill_(bias);
    }

    private static void RandomizeBatchNorm(nn.Module model, string layer)
    {
        using var noGrad = no_grad();
        var state = model.state_dict();
        state[layer + ".running_mean"].copy_(randn(state[layer + ".running_mean"].shape));
        state[layer + ".running_var"].copy_(rand(state[layer + ".running_var"].shape) + 0.5);
        state[layer + ".weight"].copy_(randn(state[layer + ".weight"].shape));
        state[layer + ".bias"].copy_(randn(state[layer + ".bias"].shape));
    }

    /// <summary>One reference-executor batch: <paramref name="value"/> as input <paramref name="input"/>.</summary>
    internal static Dictionary<string, RefTensor> Batch(string input, Tensor value)
    {
        using var host = value.cpu().contiguous();
        return new Dictionary<string, RefTensor>(StringComparer.Ordinal) { [input] = new RefTensor(host.data<float>().ToArray(), host.shape.Select(d => (int)d).ToArray()) };
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    private static byte[] Bytes(nn.Module module)
    {
        using var stream = new MemoryStream();
        module.save(stream);
        return stream.ToArray();
    }
}
