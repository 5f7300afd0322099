using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.TorchSharp;
using NeuralSurgery.TorchSharp.Tuning;
using PolicyEvolution;
using PolicyEvolution.Models;
using Spectre.Console;
using TorchSharp;

// The whole job of a training repository that keeps changing its model, end to end:
//   1. train PolicyV1 on the game task in TorchSharp (its own forward, Adam) and save it with TorchSharp's Module.save;
//   2. move it to PolicyV2 (new hero features, a new hero) and PolicyV3 (wider LSTM, a new action) with the
//      generated surgery maps, load each result with TorchSharp's strict Module.load, and verify with both models'
//      own forward that each step computes what the previous model did (paper 001 eq. 1);
//   3. teach v3 the new action by tuning only the elements that read the new features (paper 000, on the reference
//      executor), and show the outputs of every old state stay exactly as they were.
// Everything is seeded and TorchSharp runs on one thread: two runs print the same numbers and write the same bytes.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 120; // logs and CI: tables as wide as a terminal would show them
}

var output = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "run");
Directory.CreateDirectory(output);
const int Seed = 20261122;

AnsiConsole.Write(new Rule("[bold]NeuralSurgery sample: PolicyEvolution[/]").LeftJustified());
AnsiConsole.MarkupLine($"Checkpoints go to [grey]{Markup.Escape(output)}[/]");
TorchSharpNative.EnsureLoaded(); // a clear message if libtorch cannot load on this machine
torch.set_num_threads(1);        // libtorch's parallel reductions would make the bytes differ from run to run
torch.manual_seed(Seed);

// 1. Train v1 in TorchSharp.
var task = new GameTask(Seed);
var v1Train = task.Sample(6000, heroWidth: 5, newFeatures: false, castRule: false);
var v1Test = task.Sample(2000, heroWidth: 5, newFeatures: false, castRule: false);
var v1 = new PolicyV1();
AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
{
    var bar = ctx.AddTask("training PolicyV1 (TorchSharp)", maxValue: 40);
    TorchTraining.Fit(v1, v1Train, epochs: 40, batchSize: 64, learningRate: 3e-3, Seed, () => bar.Increment(1));
});
AnsiConsole.MarkupLine($"PolicyV1: test accuracy [bold]{Percent(TorchTraining.Accuracy(v1, v1Test))}[/] (train {Percent(TorchTraining.Accuracy(v1, v1Train))})");
var v1Checkpoint = Path.Combine(output, "policy.v1.dat");
v1.save(v1Checkpoint);

// 2. Surgery v1 → v2 → v3 on the checkpoint files, each loaded into its class and verified on 1,000 random world states.
var v2Checkpoint = Path.Combine(output, "policy.v2.dat");
var v3Checkpoint = Path.Combine(output, "policy.v3.dat");
AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn()).Start(ctx =>
{
    var step = ctx.AddTask("applying v1 → v2 → v3", maxValue: 2);
    PolicyV2.SurgeryFromPolicyV1.Apply(v1Checkpoint, v2Checkpoint, new ApplyOptions { Seed = Seed, Overwrite = true, Format = CheckpointFormat.TorchSharp });
    step.Increment(1);
    PolicyV3.SurgeryFromPolicyV2.Apply(v2Checkpoint, v3Checkpoint, new ApplyOptions { Seed = Seed, Overwrite = true, Format = CheckpointFormat.TorchSharp });
    step.Increment(1);
});

var v2 = new PolicyV2();
v2.load(v2Checkpoint); // TorchSharp's strict load: every name, dtype and shape of v2 is in the surgered file
var v3 = new PolicyV3();
v3.load(v3Checkpoint);

// New features get random values (eq. 1 holds for any); the new action's logit is not part of the old outputs.
var verify = new ModuleVerificationOptions { Samples = 1000, Seed = Seed };
var v12 = PolicyV2.SurgeryFromPolicyV1.Verify(v1, v2, verify);
var v23 = PolicyV3.SurgeryFromPolicyV2.Verify(v2, v3, verify);

Report.Surgery("PolicyV1 → PolicyV2", PolicyV2.SurgeryFromPolicyV1.Plan, v12);
Report.Surgery("PolicyV2 → PolicyV3", PolicyV3.SurgeryFromPolicyV2.Plan, v23);

// 3. Teach v3 to cast, two ways, from the same surgered checkpoint, in TorchSharp.
var tuneTrain = task.Sample(6000, heroWidth: 8, newFeatures: true, castRule: true);
var tuneTest = task.Sample(2000, heroWidth: 8, newFeatures: true, castRule: true);
// The states v1 knew, as v3 reads them: the new hero features are zero and the hero is one of the first three.
var oldStates = task.Sample(2000, heroWidth: 8, newFeatures: false, castRule: false);
var oldLogits = TorchTraining.Logits(v3, oldStates);

var sparse = Load(v3Checkpoint);
var mask = NewFeatureMask.For(sparse);
var rows = new List<TuningRow>
{
    Tune("sparse (new features)", sparse, DeviceMask.From(mask, sparse)),
    Tune("full", Load(v3Checkpoint), mask: null),
};
Report.Tuning(rows, mask.Count(), mask.TotalElements);
sparse.save(Path.Combine(output, "policy.v3.tuned.dat"));

// An output the verifier could not compare (a name or shape that differs) is a failure here: eq. 1 must be shown.
var uncompared = v12.Surgery.NotCompared.Concat(v23.Surgery.NotCompared).ToList();
foreach (var name in uncompared)
{
    AnsiConsole.MarkupLine($"[red]Output '{Markup.Escape(name)}' was not compared.[/]");
}

var worst = uncompared.Count > 0 ? double.PositiveInfinity : Math.Max(v12.MaxAbsDifference, v23.MaxAbsDifference);
foreach (var step in new[] { v12, v23 }.Where(r => !r.Passed))
{
    AnsiConsole.MarkupLine("[red]" + Markup.Escape(step.Diagnosis) + "[/]");
}

AnsiConsole.MarkupLine(worst <= 1e-5
    ? $"[green]Every surgery kept the outputs (max |ΔF| = {worst:0.###e+0} ≤ 1e-5).[/]"
    : $"[red]A surgery changed the outputs: max |ΔF| = {worst:0.###e+0} > 1e-5.[/]");
return worst <= 1e-5 ? 0 : 1;

TuningRow Tune(string name, PolicyV3 model, DeviceMask? mask)
{
    // Every element may change without a mask; the step still snapshots w_i, so changed elements can be counted.
    var step = new MaskedStep(model, mask ?? DeviceMask.All(model));
    var oldTaskBefore = TorchTraining.Accuracy(model, oldStates);
    var scoresBefore = GameTask.TrueClassProbabilities(TorchTraining.Logits(model, oldStates), oldStates);
    torch.manual_seed(Seed);
    AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
    {
        var bar = ctx.AddTask("tuning PolicyV3 (" + name + ", TorchSharp)", maxValue: 20);
        TorchTraining.Fit(model, tuneTrain, epochs: 20, batchSize: 64, learningRate: 1e-2, Seed, () => bar.Increment(1), mask is null ? null : step);
    });
    var oldLogitsAfter = TorchTraining.Logits(model, oldStates);
    var testLogits = TorchTraining.Logits(model, tuneTest);
    return new TuningRow(
        name,
        oldTaskBefore,
        GameTask.Accuracy(oldLogitsAfter, oldStates),
        GameTask.Accuracy(testLogits, tuneTest),
        GameTask.CastRecall(testLogits, tuneTest),
        Consistency.Score(scoresBefore, GameTask.TrueClassProbabilities(oldLogitsAfter, oldStates)),
        step.ChangedElements(),
        GameTask.MaxDifference(oldLogits, oldLogitsAfter, columns: 3));
}

static PolicyV3 Load(string checkpoint)
{
    var model = new PolicyV3();
    model.load(checkpoint);
    return model;
}

static string Percent(double share) => (100 * share).ToString("0.0", CultureInfo.InvariantCulture) + " %";
