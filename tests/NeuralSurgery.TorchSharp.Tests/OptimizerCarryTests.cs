using System;
using System.Linq;
using NeuralSurgery.Plan;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Optimizer state across a surgery: after moving a model that trained with Adam (or AdamW, or SGD with momentum) and
/// carrying the optimizer's state, one step of the new model changes its old elements exactly as one step of the old
/// model would have; the new elements' moments start at zero.
/// </summary>
public sealed class OptimizerCarryTests
{
    public static TheoryData<string> Optimizers => new() { "adam", "adamw", "sgd" };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void One_step_after_surgery_is_the_step_the_old_model_would_have_taken_on_the_policy(string kind) =>
        Check(kind, new PolicyV1(), new PolicyV2(), PolicyV2.SurgeryFromPolicyV1.Plan, Policy);

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void One_step_after_surgery_is_the_step_the_old_model_would_have_taken_on_widened_LSTM_and_GRU(string kind) =>
        Check(kind, new TrackerV1(), new TrackerV2(), TrackerV2.SurgeryFromTrackerV1.Plan, Tracker);

    [Fact]
    public void The_generated_CarryOptimizerState_carries_Adam_moments()
    {
        torch.manual_seed(2);
        var (v1, v2) = (new PolicyV1(), new PolicyV2());
        var adam = optim.Adam(v1.parameters(), 1e-2);
        adam.zero_grad();
        Policy(v1, 1, false).backward();
        adam.step();
        PolicyV2.SurgeryFromPolicyV1.Apply(v1, v2);
        var next = optim.Adam(v2.parameters(), 1e-2);
        Assert.True(PolicyV2.SurgeryFromPolicyV1.CarryOptimizerState(v1, adam, v2, next) >= 6);
        var moment = ((Adam.State)next.state_dict().State[0]).exp_avg;
        var old = ((Adam.State)adam.state_dict().State[0]).exp_avg;
        Assert.Equal(old.abs().sum().item<float>(), moment.abs().sum().item<float>(), 6);
        Assert.Equal(1, ((Adam.State)next.state_dict().State[0]).step);
    }

    [Fact]
    public void Optimizers_of_different_kinds_and_parameters_it_does_not_optimize_are_refused()
    {
        var (v1, v2) = (new PolicyV1(), new PolicyV2());
        var kinds = Assert.Throws<ArgumentException>(() => OptimizerCarry.Carry(PolicyV2.SurgeryFromPolicyV1.Plan, v1, optim.Adam(v1.parameters()), v2, optim.SGD(v2.parameters(), 0.1)));
        Assert.Contains("the old optimizer is Adam and the new one SGD", kinds.Message, StringComparison.Ordinal);

        var partial = Assert.Throws<Runtime.Execution.PlanApplicationException>(() => OptimizerCarry.Carry(
            PolicyV2.SurgeryFromPolicyV1.Plan, v1, optim.Adam(v1.parameters()), v2, optim.Adam(v2.parameters().Take(2))));
        Assert.Contains("'head.weight' of the new module is not optimized by the new optimizer", partial.Message, StringComparison.Ordinal);
    }

    // Losses on the old outputs only: a new head action would change a softmax over all actions.
    private static Tensor Policy(nn.Module model, int seed, bool isNew)
    {
        var g = new global::TorchSharp.torch.Generator((ulong)seed);
        var hero = randn(new long[] { 16, 4 }, generator: g);
        var ids = randint(0, 3, new long[] { 16 }, generator: g);
        if (isNew)
        {
            hero = torch.cat([hero, zeros(16, 1)], 1); // the new feature, mana, at zero: the old world states
        }

        var logits = ((nn.Module<Tensor, Tensor, Tensor>)model).forward(hero, ids).narrow(1, 0, 3);
        return logits.pow(2).mean() + logits.narrow(1, 0, 1).mean();
    }

    private static Tensor Tracker(nn.Module model, int seed, bool isNew)
    {
        var g = new global::TorchSharp.torch.Generator((ulong)seed);
        var track = randn(new long[] { 8, 5, 3 }, generator: g);
        if (isNew)
        {
            track = torch.cat([track, zeros(8, 5, 1)], 2);
        }

        var turn = ((nn.Module<Tensor, Tensor>)model).forward(track);
        return turn.pow(2).mean() + turn.narrow(1, 0, 1).mean();
    }

    private static OptimizerHelper Create(string kind, nn.Module model) => kind switch
    {
        "adam" => optim.Adam(model.parameters(), 1e-2),
        "adamw" => optim.AdamW(model.parameters(), 1e-2, weight_decay: 0.1),
        _ => optim.SGD(model.parameters(), 1e-2, momentum: 0.9),
    };

    private static void Check(string kind, nn.Module v1, nn.Module v2, SurgeryPlan plan, Func<nn.Module, int, bool, Tensor> loss)
    {
        torch.manual_seed(41);
        var oldOptimizer = Create(kind, v1);
        for (var step = 0; step < 5; step++) // moments that are not zero
        {
            oldOptimizer.zero_grad();
            loss(v1, step, false).backward();
            oldOptimizer.step();
        }

        LiveSurgery.Apply(plan, v1, v2, seed: 5);
        var newOptimizer = Create(kind, v2);
        var carried = OptimizerCarry.Carry(plan, v1, oldOptimizer, v2, newOptimizer);
        Assert.True(carried >= plan.Tensors.Count(t => !t.IsBuffer && t.Source is not null), $"{carried} state tensors carried");
        NewElementsOfTheMomentsAreZero(kind, plan, v2, newOptimizer);

        // The step both would take next, from the same batch.
        oldOptimizer.zero_grad();
        loss(v1, 100, false).backward();
        oldOptimizer.step();
        newOptimizer.zero_grad();
        loss(v2, 100, true).backward();
        newOptimizer.step();

        var oldParameters = v1.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in v2.named_parameters())
        {
            var t = plan.FindTensor(name)!;
            if (t.Source is null)
            {
                continue;
            }

            var (newOld, oldOld) = MappedElements(t, parameter, oldParameters[t.Source]);
            var worst = (newOld - oldOld).abs().max().item<float>();
            Assert.True(worst <= 1e-6, $"{kind}: {name} differs from the old model's step by {worst} on its old elements");
        }

    }

    /// <summary>Right after the carry, every state tensor is zero where the plan initialises its parameter.</summary>
    private static void NewElementsOfTheMomentsAreZero(string kind, SurgeryPlan plan, nn.Module model, OptimizerHelper optimizer)
    {
        var states = optimizer.state_dict().State;
        var parameters = model.named_parameters().ToList();
        var checkedElements = 0L;
        for (var i = 0; i < parameters.Count; i++)
        {
            var t = plan.FindTensor(parameters[i].name)!;
            if (t.Source is null)
            {
                continue;
            }

            var (_, mask) = LiveSurgery.Gather(t, zeros(t.SourceShape.ToArray()), CPU, ScalarType.Float32);
            if (mask is null)
            {
                continue;
            }

            foreach (var field in states[i].GetType().GetFields().Where(f => f.FieldType == typeof(Tensor)))
            {
                if (field.GetValue(states[i]) is Tensor moment && moment.shape.SequenceEqual(parameters[i].parameter.shape))
                {
                    var outside = moment.masked_select(mask.logical_not().expand_as(moment));
                    Assert.True(outside.abs().sum().item<float>() == 0, $"{kind}: {field.Name} of {parameters[i].name} is not zero on new elements");
                    checkedElements += outside.NumberOfElements;
                }
            }
        }

        Assert.True(checkedElements > 0, "no new element was checked");
    }

    /// <summary>The new tensor's copied elements and the old tensor's elements they came from, in one order.</summary>
    private static (Tensor New, Tensor Old) MappedElements(TensorPlan t, Tensor newTensor, Tensor oldTensor)
    {
        var n = newTensor.detach();
        var o = oldTensor.detach();
        for (var a = 0; a < t.Axes.Count; a++)
        {
            var pairs = Enumerable.Range(0, (int)t.Axes[a].Length).Select(i => (New: (long)i, Old: t.Axes[a].SourceIndex(i))).Where(p => p.Old >= 0).ToArray();
            n = n.index_select(a, tensor(pairs.Select(p => p.New).ToArray()));
            o = o.index_select(a, tensor(pairs.Select(p => p.Old).ToArray()));
        }

        return (n, o);
    }
}
