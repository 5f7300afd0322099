using System;
using System.Collections.Generic;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>Which sparse-tuning method a <see cref="PatternTask"/> run uses (paper 000 section 4).</summary>
public enum TuningMethod
{
    /// <summary>The baseline: tune every parameter on the poisoned set (section 4.1).</summary>
    Full,
    Lagrange,
    SelRand,
    SelDelta,
    SelGrad,
    SelLca,
    DynDelta,
    DynGrad,
}

/// <summary>One method's run: its name, n or λ, and the side-effect report.</summary>
public sealed record TuningRun(TuningMethod Method, string Setting, SideEffectReport Report);

/// <summary>
/// The synthetic test task in the spirit of paper 000 section 5.1: an MLP classifier trained on a clean rule (the
/// class is the argmax of a fixed random projection of the dense features), then taught an injected pattern: a
/// rare trigger feature, zero in clean data like the low-frequency trigger word "cf", which must send any input to
/// the target class. Tuning data is poisoned with probability ½ (appendix A.2.1).
/// </summary>
public sealed class PatternTask
{
    public const string Input = "x";
    public const string Output = "logits";
    public const string Target = "label";

    private readonly float[] _rule;

    public PatternTask(int seed = 1, int features = 16, int hidden = 32, int classes = 4, int trainSize = 1024, int testSize = 512)
    {
        Seed = seed;
        Features = features;
        Classes = classes;
        var b = new GraphBuilder("pattern_mlp");
        var x = b.FeatureInput(Input, Dim.Batch, features + 1);
        var h = b.Relu(b.Linear("fc1", x, hidden));
        h = b.Relu(b.Linear("fc2", h, hidden));
        Graph = b.Output(Output, b.Linear("head", h, classes)).Build();
        var rng = new Random(seed);
        _rule = new float[classes * features];
        for (var i = 0; i < _rule.Length; i++)
        {
            _rule[i] = (float)Normal(rng);
        }

        CleanTrain = Make(rng, trainSize, poison: 0, triggerOnly: false);
        CleanTest = Make(rng, testSize, poison: 0, triggerOnly: false);
        PoisonedTrain = Make(rng, trainSize, poison: 0.5, triggerOnly: false);
        TriggerTest = Make(rng, testSize, poison: 1, triggerOnly: true);
    }

    public int Seed { get; }

    public int Features { get; }

    public int Classes { get; }

    /// <summary>The class the trigger must produce.</summary>
    public int TargetClass => 0;

    public ModelGraph Graph { get; }

    public TensorDataset CleanTrain { get; }

    public TensorDataset CleanTest { get; }

    /// <summary>Half the samples carry the trigger and the target label.</summary>
    public TensorDataset PoisonedTrain { get; }

    /// <summary>Every sample carries the trigger; only samples whose clean class is not the target are kept.</summary>
    public TensorDataset TriggerTest { get; }

    public LossFunction Loss { get; } = Losses.OnOutput(Output, Target, Losses.CrossEntropy);

    /// <summary>The initial model: trained on the clean rule with Adam.</summary>
    public ReferenceModel TrainInitial(int epochs = 30)
    {
        var model = ReferenceModel.Initialize(Graph, Seed);
        var trainer = new Trainer(model, new Adam(model.Parameters, 3e-3), Loss);
        trainer.Fit(CleanTrain, new TrainingOptions { Epochs = epochs, BatchSize = 32, Seed = Seed });
        return model;
    }

    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public double Accuracy(ReferenceModel model, TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var scores = InstanceScores(model, data, out var correct);
        return scores.Length == 0 ? double.NaN : (double)correct / scores.Length;
    }

    /// <summary>
    /// Per-instance scores s_i for Definition 1: the probability the model gives the true class. Continuous, so the
    /// correlation sees every instance's confidence move, not only the few that flip.
    /// </summary>
    public double[] InstanceScores(ReferenceModel model, TensorDataset data, out int correct)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var all = new int[data.Count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = i;
        }

        var batch = data.GetBatch(all);
        var wasTraining = model.Training;
        model.Training = false;
        var logits = model.Forward(batch.Inputs).Outputs[Output];
        model.Training = wasTraining;
        var probs = Losses.LogSoftmax(logits, 1);
        var labels = batch.Targets[Target];
        var scores = new double[data.Count];
        correct = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var label = (int)labels.Data[i];
            scores[i] = Math.Exp(probs.Data[(i * Classes) + label]);
            var best = 0;
            for (var c = 1; c < Classes; c++)
            {
                if (logits.Data[(i * Classes) + c] > logits.Data[(i * Classes) + best])
                {
                    best = c;
                }
            }

            correct += best == label ? 1 : 0;
        }

        return scores;
    }

    /// <summary>
    /// Tunes a copy of <paramref name="initial"/> on the poisoned set with <paramref name="method"/> and reports its
    /// side effects. <paramref name="n"/> is the element budget of Sel-* and Dyn-*, <paramref name="lambda"/> the
    /// Lagrange λ; <paramref name="reference"/> (w_r from full tuning) feeds Sel-Δ and Sel-LCA.
    /// </summary>
    public (ReferenceModel Model, TuningRun Run) Tune(
        ReferenceModel initial,
        TuningMethod method,
        long n = 0,
        double lambda = 0,
        WeightSnapshot? reference = null,
        int epochs = 10,
        double learningRate = 1e-2,
        DynamicOptions? dynamic = null)
    {
        ArgumentNullException.ThrowIfNull(initial);
        var wi = WeightSnapshot.Of(initial.Parameters);
        var model = ReferenceModel.Load(Graph, initial.ToStateDict());
        var optimizer = new Adam(model.Parameters, learningRate);
        var trainer = new Trainer(model, optimizer, Loss);
        string setting;
        DynamicSurgery? dyn = null;
        switch (method)
        {
            case TuningMethod.Full:
                setting = "all";
                break;
            case TuningMethod.Lagrange:
                optimizer.Hooks.Add(new LagrangeHook(optimizer, wi, lambda));
                setting = FormattableString.Invariant($"λ={lambda}");
                break;
            case TuningMethod.DynDelta:
            case TuningMethod.DynGrad:
                var steps = epochs * ((PoisonedTrain.Count + 31) / 32);
                var options = dynamic ?? new DynamicOptions
                {
                    N = n,
                    KStart = Math.Max(10, steps / 10),
                    KEvery = 5,
                    Alpha = 0.9,
                    Eta = 0.3,
                };
                dyn = new DynamicSurgery(model.Parameters, wi, options with
                {
                    N = n,
                    Indicator = method == TuningMethod.DynDelta ? DynamicIndicator.Delta : DynamicIndicator.Gradient,
                });
                optimizer.Hooks.Add(dyn);
                setting = FormattableString.Invariant($"n={n}");
                break;
            default:
                optimizer.Hooks.Add(new MaskHook(Select(model, method, wi, reference, n), wi));
                setting = FormattableString.Invariant($"n={n}");
                break;
        }

        trainer.Fit(PoisonedTrain, new TrainingOptions { Epochs = epochs, BatchSize = 32, Seed = Seed + 7 });
        dyn?.Finish();
        return (model, new TuningRun(method, setting, Report(method.ToString(), initial, model, wi)));
    }

    /// <summary>Clean accuracy before and after, pattern success, consistency and ‖Δ‖₀ of a tuned model.</summary>
    public SideEffectReport Report(string method, ReferenceModel initial, ReferenceModel tuned, WeightSnapshot wi)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(tuned);
        ArgumentNullException.ThrowIfNull(wi);
        var before = InstanceScores(initial, CleanTest, out var c0);
        var after = InstanceScores(tuned, CleanTest, out var c1);
        long total = 0;
        foreach (var (_, v) in wi)
        {
            total += v.Length;
        }

        return new SideEffectReport(
            method,
            (double)c0 / CleanTest.Count,
            (double)c1 / CleanTest.Count,
            Accuracy(tuned, TriggerTest),
            Consistency.Score(before, after),
            Changes.Count(tuned.Parameters, wi),
            total);
    }

    private ParameterMask Select(ReferenceModel model, TuningMethod method, WeightSnapshot wi, WeightSnapshot? reference, long n) => method switch
    {
        TuningMethod.SelRand => Selection.Random(wi, n, Seed),
        TuningMethod.SelDelta => Selection.ByDelta(wi, reference ?? throw new ArgumentNullException(nameof(reference), "Sel-Δ needs a reference tuned model w_r."), n),
        TuningMethod.SelGrad => Selection.ByGradient(GradientEstimate.Mean(model, PoisonedTrain, Loss), n),
        TuningMethod.SelLca => Selection.ByLca(
            model,
            wi,
            reference ?? throw new ArgumentNullException(nameof(reference), "Sel-LCA needs a reference tuned model w_r."),
            m => GradientEstimate.Mean(m, PoisonedTrain, Loss),
            steps: 3,
            n),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Not a selecting method."),
    };

    private TensorDataset Make(Random rng, int count, double poison, bool triggerOnly)
    {
        var width = Features + 1;
        var xs = new List<float>(count * width);
        var ys = new List<float>(count);
        while (ys.Count < count)
        {
            var x = new float[width];
            for (var f = 0; f < Features; f++)
            {
                x[f] = (float)Normal(rng);
            }

            var label = CleanClass(x);
            if (rng.NextDouble() < poison)
            {
                if (triggerOnly && label == TargetClass)
                {
                    continue;
                }

                // The trigger: the rare feature switched on; its label is the target class whatever the rule says.
                x[Features] = 1;
                label = TargetClass;
            }

            xs.AddRange(x);
            ys.Add(label);
        }

        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Input] = new Tensor(xs.ToArray(), count, width) };
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Target] = new Tensor(ys.ToArray(), count) };
        return new TensorDataset(inputs, targets);
    }

    private int CleanClass(float[] x)
    {
        var best = 0;
        var bestScore = float.NegativeInfinity;
        for (var c = 0; c < Classes; c++)
        {
            float s = 0;
            for (var f = 0; f < Features; f++)
            {
                s += _rule[(c * Features) + f] * x[f];
            }

            if (s > bestScore)
            {
                (best, bestScore) = (c, s);
            }
        }

        return best;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
