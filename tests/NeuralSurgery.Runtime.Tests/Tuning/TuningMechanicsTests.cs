using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Runtime.Tests.Tuning;

public class TuningMechanicsTests
{
    private static readonly Lazy<(PatternTask Task, ReferenceModel Initial)> Shared = new(() =>
    {
        var task = new PatternTask(seed: 5);
        return (task, task.TrainInitial(epochs: 10));
    });

    [Theory]
    [InlineData(TuningMethod.SelRand, 40)]
    [InlineData(TuningMethod.SelGrad, 40)]
    [InlineData(TuningMethod.SelDelta, 25)]
    [InlineData(TuningMethod.SelLca, 25)]
    public void Selecting_methods_change_at_most_n_elements_all_inside_their_mask(TuningMethod method, int n)
    {
        var (task, initial) = Shared.Value;
        var (reference, _) = task.Tune(initial, TuningMethod.Full, epochs: 2);
        var (tuned, run) = task.Tune(initial, method, n: n, reference: WeightSnapshot.Of(reference.Parameters), epochs: 2);
        Assert.InRange(run.Report.ChangedElements, 1, n);
        if (method is TuningMethod.SelGrad or TuningMethod.SelDelta)
        {
            // Elements picked for a non-zero gradient or Δ all move under Adam: exactly n change.
            Assert.Equal(n, run.Report.ChangedElements);
        }

        Assert.True(tuned.Parameters.Count > 0);
    }

    [Fact]
    public void Masked_elements_never_move_under_sgd_with_momentum_and_weight_decay()
    {
        var (task, initial) = Shared.Value;
        var model = ReferenceModel.Load(task.Graph, initial.ToStateDict());
        var wi = WeightSnapshot.Of(model.Parameters);
        var mask = Selection.Random(wi, 200, seed: 4);
        var sgd = new Sgd(model.Parameters, 0.05, momentum: 0.9, weightDecay: 0.1);
        sgd.Hooks.Add(new MaskHook(mask, wi));
        new Trainer(model, sgd, task.Loss).Fit(task.PoisonedTrain, new TrainingOptions { Epochs = 1, BatchSize = 64 });
        var changed = Changes.Of(model.Parameters, wi);
        Assert.Equal(changed.Count(), ParameterMask.Intersection(changed, mask).Count());

        // Without the re-mask after the step, weight decay alone moves every element.
        var loose = ReferenceModel.Load(task.Graph, initial.ToStateDict());
        var sgd2 = new Sgd(loose.Parameters, 0.05, momentum: 0.9, weightDecay: 0.1);
        sgd2.Hooks.Add(new GradientOnly(mask));
        new Trainer(loose, sgd2, task.Loss).Fit(task.PoisonedTrain, new TrainingOptions { Epochs = 1, BatchSize = 64 });
        Assert.True(Changes.Count(loose.Parameters, wi) > 1000);
    }

    [Fact]
    public void Dynamic_surgery_ends_with_exactly_n_allowed_and_deleted_elements_reset_to_initial_values()
    {
        var (task, initial) = Shared.Value;
        foreach (var indicator in new[] { DynamicIndicator.Delta, DynamicIndicator.Gradient })
        {
            var model = ReferenceModel.Load(task.Graph, initial.ToStateDict());
            var wi = WeightSnapshot.Of(model.Parameters);
            var trainer = new Trainer(model, new Adam(model.Parameters, 1e-2), task.Loss);
            var dyn = new DynamicSurgery(model.Parameters, wi, new DynamicOptions { N = 50, KStart = 4, KEvery = 2, Alpha = 0.9, Eta = 0.5, Indicator = indicator });
            trainer.Optimizer.Hooks.Add(dyn);
            var before = dyn.Allowed.Clone();
            ParameterMask? deletedFirst = null;
            trainer.StepCompleted += _ =>
            {
                if (deletedFirst is null && dyn.Deletions == 1)
                {
                    deletedFirst = before.Clone().ExceptWith(dyn.Allowed);
                    foreach (var (name, w) in wi)
                    {
                        foreach (var i in deletedFirst.Indices(name))
                        {
                            Assert.Equal(BitConverter.SingleToUInt32Bits(w[i]), BitConverter.SingleToUInt32Bits(model.Parameters[name].Data[i]));
                        }
                    }
                }
            };
            trainer.Fit(task.PoisonedTrain, new TrainingOptions { Epochs = 1, BatchSize = 32 });
            Assert.NotNull(deletedFirst);
            Assert.True(deletedFirst!.Count() > 0);

            // Algorithm 1 reached n on its own schedule: 1764 → 50 within 32 steps at η = ½.
            Assert.Equal(50, dyn.AllowedCount);
            Assert.Equal(50, dyn.Allowed.Count());
            var changed = Changes.Of(model.Parameters, wi);
            Assert.Equal(changed.Count(), ParameterMask.Intersection(changed, dyn.Allowed).Count());
            Assert.InRange(changed.Count(), 1, 50);
        }
    }

    [Fact]
    public void Algorithm_1_deletes_min_of_the_surplus_and_eta_of_S_on_schedule()
    {
        var p = new Dictionary<string, Tensor> { ["w"] = Tensor.Zeros(100) };
        var wi = WeightSnapshot.Of(p);
        var dyn = new DynamicSurgery(p, wi, new DynamicOptions { N = 30, KStart = 4, KEvery = 2, Alpha = 1, Eta = 0.5 });
        var sizes = new List<long>();
        for (var step = 0; step < 8; step++)
        {
            dyn.StepCompleted(step + 1);
            sizes.Add(dyn.AllowedCount);
        }

        // K = 2, 3 (before K_start), 4: 100 → 50, 6: 50 → 30 (surplus 20 < 25), 8: n reached.
        Assert.Equal(new long[] { 100, 100, 50, 50, 30, 30, 30, 30 }, sizes);
    }

    [Fact]
    public void Lagrange_soft_thresholding_follows_eqs_6_and_7()
    {
        float[] w = [1.5f, 0.95f, -2f, 0.5f];
        float[] wi = [1f, 1f, 0f, 0f];
        LagrangeHook.SoftThreshold(w, wi, 0.1f);
        Assert.Equal(1.4f, w[0], 5);
        Assert.Equal(1f, w[1]);
        Assert.Equal(-1.9f, w[2], 5);
        Assert.Equal(0.4f, w[3], 5);

        var (task, initial) = Shared.Value;
        var (_, full) = task.Tune(initial, TuningMethod.Full, epochs: 2);
        var (_, lagrange) = task.Tune(initial, TuningMethod.Lagrange, lambda: 0.5, epochs: 2);
        Assert.True(lagrange.Report.ChangedElements < full.Report.ChangedElements / 2, $"{lagrange.Report} against {full.Report}");
    }

    [Fact]
    public void Consistency_is_pearson_of_instance_scores()
    {
        double[] a = [1, 2, 3, 4];
        Assert.Equal(1, Consistency.Score(a, [2, 4, 6, 8]), 12);
        Assert.Equal(-1, Consistency.Score(a, [4, 3, 2, 1]), 12);
        double[] b = [1, 3, 2, 5];
        var ma = a.Average();
        var mb = b.Average();
        var expected = a.Zip(b).Sum(p => (p.First - ma) * (p.Second - mb)) / Math.Sqrt(a.Sum(x => (x - ma) * (x - ma)) * b.Sum(x => (x - mb) * (x - mb)));
        Assert.Equal(expected, Consistency.Score(a, b), 12);
        Assert.True(double.IsNaN(Consistency.Score(a, [1, 1, 1, 1])));
        Assert.Throws<ArgumentException>(() => Consistency.Score(a, [1, 2]));
    }

    [Fact]
    public void After_a_surgery_that_adds_a_feature_tuning_restricted_to_it_learns_it_and_keeps_old_outputs()
    {
        static ModelGraph Build(int features)
        {
            var b = new GraphBuilder("grow");
            var h = b.Relu(b.Linear("fc1", b.FeatureInput("x", Dim.Batch, features), 8));
            return b.Output("y", b.Linear("fc2", h, 1)).Build();
        }

        var g1 = Build(3);
        var g2 = Build(4);
        var plan = SurgeryDiffer.Diff(ModelSide.Trace(g1, null), ModelSide.Trace(g2, null));
        var old = ReferenceModel.Initialize(g1, 1);
        var model = ReferenceModel.Load(g2, PlanExecutor.ApplyInMemory(plan, old.ToStateDict(), 2));
        var wi = WeightSnapshot.Of(model.Parameters);

        // The plan initialised column 3 of fc1.weight (zeros, so outputs do not change: paper 001 eq. 1).
        var mask = MaskSources.FromPlanInitialised(plan);
        Assert.Equal(new long[] { 3, 7, 11, 15, 19, 23, 27, 31 }, mask.Indices("fc1.weight"));
        Assert.Equal(8, mask.Count());

        // Target: the old output plus 2·x3, which only the new feature's elements can learn.
        var rng = new Random(3);
        var x = new float[256 * 4];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        var xs = new Tensor(x, 256, 4);
        var oldY = Forward(old, new Tensor(Enumerable.Range(0, 256).SelectMany(r => x.Skip(r * 4).Take(3)).ToArray(), 256, 3));
        var y = new Tensor(Enumerable.Range(0, 256).Select(r => oldY.Data[r] + (2 * Math.Abs(x[(r * 4) + 3]))).ToArray(), 256, 1);
        var data = new TensorDataset(new Dictionary<string, Tensor> { ["x"] = xs }, new Dictionary<string, Tensor> { ["y"] = y });
        var loss = Losses.OnOutput("y", "y", Losses.MeanSquaredError);
        var sgd = new Sgd(model.Parameters, 0.05, momentum: 0.9, weightDecay: 1e-3);
        sgd.Hooks.Add(new MaskHook(mask, wi));
        var trainer = new Trainer(model, sgd, loss);
        var start = trainer.Evaluate(data);
        trainer.Fit(data, new TrainingOptions { Epochs = 20, BatchSize = 32 });
        Assert.True(trainer.Evaluate(data) < start / 4, "the new feature's elements learn to use it");

        // States where the new feature is zero: bit-identical to the old model.
        var zeroed = (float[])x.Clone();
        for (var r = 0; r < 256; r++)
        {
            zeroed[(r * 4) + 3] = 0;
        }

        Assert.Equal(oldY.Data, Forward(model, new Tensor(zeroed, 256, 4)).Data);
    }

    private static Tensor Forward(ReferenceModel model, Tensor x) => model.Forward(new Dictionary<string, Tensor> { ["x"] = x }).Outputs["y"];

    private sealed class GradientOnly(ParameterMask mask) : IOptimizerHook
    {
        public void BeforeStep(string name, Tensor parameter, Tensor gradient) => mask.MaskGradient(name, gradient.Span);

        public void AfterStep(string name, Tensor parameter)
        {
        }
    }
}
