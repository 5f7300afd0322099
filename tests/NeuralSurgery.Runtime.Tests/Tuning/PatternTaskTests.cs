using System;
using System.Linq;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Tuning;
using Xunit.Abstractions;

namespace NeuralSurgery.Runtime.Tests.Tuning;

/// <summary>The paper 000 section 5.1-style test task, seeded: mechanics and the headline comparison.</summary>
public class PatternTaskTests(ITestOutputHelper output)
{
    private static readonly Lazy<(PatternTask Task, ReferenceModel Initial)> Shared = new(() =>
    {
        var task = new PatternTask(seed: 3);
        return (task, task.TrainInitial());
    });

    [Fact]
    public void Dyn_delta_learns_the_pattern_with_few_changes_and_beats_full_tuning_on_consistency()
    {
        var (task, initial) = Shared.Value;
        Assert.True(task.Accuracy(initial, task.CleanTest) > 0.85, "the initial model learns the clean rule");
        var (_, full) = task.Tune(initial, TuningMethod.Full);
        var (_, dyn) = task.Tune(initial, TuningMethod.DynDelta, n: 100);
        output.WriteLine(full.ToString());
        output.WriteLine(dyn.ToString());
        Assert.True(full.Report.Target > 0.9, $"full tuning learns the pattern: {full.Report}");
        Assert.True(dyn.Report.Target > 0.9, $"Dyn-Δ learns the pattern: {dyn.Report}");
        Assert.True(dyn.Report.ChangedElements <= 100);
        Assert.True(dyn.Report.Consistency > full.Report.Consistency, $"Dyn-Δ {dyn.Report.Consistency} against full {full.Report.Consistency}");
    }
}
