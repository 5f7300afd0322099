using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.TorchSharp;
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

// 3. Teach v3 to cast, two ways, from the same surgered checkpoint (on the reference executor, through the mirror graph).
var loss = Losses.OnOutput("action", "action", Losses.CrossEntropy);
var tuneTrain = task.Sample(6000, heroWidth: 8, newFeatures: true, castRule: true);
var tuneTest = task.Sample(2000, heroWidth: 8, newFeatures: true, castRule: true);
var v3Weights = StateDict.Load(v3Checkpoint);
// The states v1 knew, as v3 reads them: the new hero features are zero and the hero is one of the first three.
var oldStates = task.Sample(2000, heroWidth: 8, newFeatures: false, castRule: false);
var v3Reference = ReferenceModel.Load(PolicyV3.Mirror.Graph, v3Weights);
var oldLogits = GameTask.Logits(v3Reference, oldStates);

var sparse = ReferenceModel.Load(PolicyV3.Mirror.Graph, v3Weights);
var mask = NewFeatureMask.For(sparse);
var rows = new List<TuningRow>
{
    Tune("sparse (new features)", sparse, mask),
    Tune("full", ReferenceModel.Load(PolicyV3.Mirror.Graph, v3Weights), mask: null),
};
Report.Tuning(rows, mask.Count(), mask.TotalElements);
sparse.ToStateDict().Save(Path.Combine(output, "policy.v3.tuned.dat"), CheckpointFormat.TorchSharp, overwrite: true);

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

TuningRow Tune(string name, ReferenceModel model, ParameterMask? mask)
{
    var initial = WeightSnapshot.Of(model.Parameters);
    var optimizer = new Adam(model.Parameters, 1e-2);
    if (mask is not null)
    {
        // Gradients are masked before the step and frozen weights restored after it (Adam's moments still move them).
        optimizer.Hooks.Add(new MaskHook(mask, initial));
    }

    var oldTaskBefore = GameTask.Accuracy(model, oldStates);
    var scoresBefore = GameTask.TrueClassProbabilities(model, oldStates);
    Train(model, tuneTrain, optimizer, loss, epochs: 20, "tuning PolicyV3 (" + name + ")");
    var scoresAfter = GameTask.TrueClassProbabilities(model, oldStates);
    var drift = GameTask.MaxDifference(oldLogits, GameTask.Logits(model, oldStates), columns: 3);
    return new TuningRow(
        name,
        oldTaskBefore,
        GameTask.Accuracy(model, oldStates),
        GameTask.Accuracy(model, tuneTest),
        GameTask.CastRecall(model, tuneTest),
        Consistency.Score(scoresBefore, scoresAfter),
        Changes.Count(model.Parameters, initial),
        drift);
}

static double Train(ReferenceModel model, TensorDataset data, Optimizer optimizer, LossFunction loss, int epochs, string title)
{
    model.Training = true;
    var trainer = new Trainer(model, optimizer, loss);
    AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn()).Start(ctx =>
    {
        var bar = ctx.AddTask(title, maxValue: epochs);
        trainer.EpochCompleted = _ => bar.Increment(1);
        trainer.Fit(data, new TrainingOptions { Epochs = epochs, BatchSize = 64, Seed = Seed });
    });
    model.Training = false;
    return GameTask.Accuracy(model, data);
}

static string Percent(double share) => (100 * share).ToString("0.0", CultureInfo.InvariantCulture) + " %";
