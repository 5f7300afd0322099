using System;
using System.Collections.Generic;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tests.Reference;

public class OptimizerHookTests
{
    [Fact]
    public void StepCompleted_runs_once_per_step_after_every_parameter_was_updated()
    {
        var parameters = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["a"] = Tensor.Zeros(2),
            ["b"] = Tensor.Zeros(3),
        };
        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["a"] = new Tensor([1f, 1f], 2),
            ["b"] = new Tensor([1f, 1f, 1f], 3),
        };
        var sgd = new Sgd(parameters, 0.5);
        var log = new Recorder();
        sgd.Hooks.Add(log);
        sgd.Step(gradients);
        sgd.Step(gradients);
        Assert.Equal(["after a", "after b", "step 1", "after a", "after b", "step 2"], log.Events);
    }

    [Fact]
    public void A_hook_without_StepCompleted_still_compiles_and_runs()
    {
        var parameters = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["a"] = Tensor.Zeros(1) };
        var sgd = new Sgd(parameters, 1);
        sgd.Hooks.Add(new PerParameterOnly());
        sgd.Step(new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["a"] = new Tensor([2f], 1) });
        Assert.Equal(-2f, parameters["a"].Data[0]);
    }

    private sealed class Recorder : IOptimizerHook
    {
        public List<string> Events { get; } = [];

        public void BeforeStep(string name, Tensor parameter, Tensor gradient)
        {
        }

        public void AfterStep(string name, Tensor parameter) => Events.Add("after " + name);

        public void StepCompleted(long step) => Events.Add("step " + step.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private sealed class PerParameterOnly : IOptimizerHook
    {
        public void BeforeStep(string name, Tensor parameter, Tensor gradient)
        {
        }

        public void AfterStep(string name, Tensor parameter)
        {
        }
    }
}
