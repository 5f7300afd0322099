using System;
using System.Collections.Generic;
using System.Threading;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tests.Reference;

public class TrainingTests
{
    private static Dictionary<string, Tensor> One(string name, params float[] values) => new() { [name] = Tensor.FromValues(values, values.Length) };

    [Fact]
    public void Adam_two_steps_match_pytorch_formulas()
    {
        var p = One("w", 1f);
        var adam = new Adam(p, learningRate: 0.1, weightDecay: 0.1);
        double w = 1, m = 0, v = 0;
        for (var t = 1; t <= 2; t++)
        {
            adam.Step(One("w", 0.5f));
            var d = 0.5 + (0.1 * w);
            m = (0.9 * m) + (0.1 * d);
            v = (0.999 * v) + (0.001 * d * d);
            var denom = (Math.Sqrt(v) / Math.Sqrt(1 - Math.Pow(0.999, t))) + 1e-8;
            w -= 0.1 / (1 - Math.Pow(0.9, t)) * m / denom;
            Assert.Equal(w, p["w"].Data[0], 6);
        }

        Assert.Equal(0.9, 1 - (0.1 / (1 - 0.9) * 0.06 / 0.6), 6);
        Assert.Equal(0.80005, p["w"].Data[0], 4);
    }

    [Fact]
    public void Sgd_momentum_weight_decay_and_nesterov_match_hand_values()
    {
        var p = One("w", 1f);
        var sgd = new Sgd(p, 0.1, momentum: 0.9, weightDecay: 0.01);
        sgd.Step(One("w", 0.5f));
        Assert.Equal(0.949, p["w"].Data[0], 6);
        sgd.Step(One("w", 0.5f));
        Assert.Equal(0.852151, p["w"].Data[0], 6);

        var q = One("w", 1f);
        new Sgd(q, 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true).Step(One("w", 0.5f));
        Assert.Equal(1 - (0.1 * (0.51 + (0.9 * 0.51))), q["w"].Data[0], 6);

        var plain = One("w", 1f, 2f);
        new Sgd(plain, 0.5).Step(One("w", 1f, -1f));
        Assert.Equal([0.5f, 2.5f], plain["w"].Data);
    }

    private sealed class MaskHook(int masked) : IOptimizerHook
    {
        public int Before { get; private set; }

        public void BeforeStep(string name, Tensor parameter, Tensor gradient)
        {
            Before++;
            gradient.Data[masked] = 0;
        }

        public void AfterStep(string name, Tensor parameter) => parameter.Data[masked] = 0;
    }

    [Fact]
    public void Hooks_mask_gradients_before_and_weights_after_each_step()
    {
        var p = One("w", 0f, 1f);
        var hook = new MaskHook(0);
        var adam = new Adam(p, 0.1, weightDecay: 0.5);
        adam.Hooks.Add(hook);
        for (var i = 0; i < 3; i++)
        {
            adam.Step(One("w", 1f, 1f));
        }

        Assert.Equal(3, hook.Before);
        Assert.Equal(0f, p["w"].Data[0]);
        Assert.NotEqual(1f, p["w"].Data[1]);
        Assert.Equal(3, adam.Steps);
    }

    [Fact]
    public void Losses_match_hand_values()
    {
        var mse = Losses.MeanSquaredError(Tensor.FromValues([1, 2], 2), Tensor.FromValues([0, 4], 2));
        Assert.Equal(2.5, mse.Value, 6);
        Assert.Equal([1f, -2f], mse.Gradient.Data);

        var ce = Losses.CrossEntropy(Tensor.FromValues([1, 2, 3, 0, 0, 0], 2, 3), Tensor.FromValues([2, 0], 2));
        Assert.Equal((0.40760596444438 + Math.Log(3)) / 2, ce.Value, 5);
        Assert.Equal((0.66524096 - 1) / 2, ce.Gradient.Data[2], 5);
        Assert.Equal((1 / 3.0) / 2, ce.Gradient.Data[4], 5);

        var lp = Losses.LogSoftmax(Tensor.FromValues([1, 2, 3], 3));
        var nll = Losses.NllLoss(lp, Tensor.FromValues([1], []));
        Assert.Equal(-lp.Data[1], nll.Value, 6);
        Assert.Equal([0f, -1f, 0f], nll.Gradient.Data);

        var ex = Assert.Throws<ReferenceExecutionException>(() => Losses.CrossEntropy(Tensor.Zeros(2, 3), Tensor.FromValues([0, 3], 2)));
        Assert.Contains("target 3 at element 1; expected a class index in [0, 3)", ex.Message);
    }

    private static (ReferenceModel Model, TensorDataset Data) Regression()
    {
        var b = new GraphBuilder("reg");
        var graph = b.Output("y", b.Linear("fc", b.FeatureInput("x", Dim.Batch, 2), 1)).Build();
        var rng = new Random(3);
        var x = Tensor.Zeros(64, 2);
        var y = Tensor.Zeros(64, 1);
        for (var i = 0; i < 64; i++)
        {
            x.Data[2 * i] = (float)((rng.NextDouble() * 2) - 1);
            x.Data[(2 * i) + 1] = (float)((rng.NextDouble() * 2) - 1);
            y.Data[i] = (2 * x.Data[2 * i]) - (3 * x.Data[(2 * i) + 1]) + 1;
        }

        return (ReferenceModel.Initialize(graph, 1), new TensorDataset(new Dictionary<string, Tensor> { ["x"] = x }, new Dictionary<string, Tensor> { ["y"] = y }));
    }

    [Fact]
    public void Trainer_fits_a_regression_with_callbacks_progress_and_a_seeded_order()
    {
        var (model, data) = Regression();
        var trainer = new Trainer(model, new Adam(model.Parameters, 0.05), Losses.OnOutput("y", "y", Losses.MeanSquaredError));
        var steps = 0;
        var epochs = new List<double>();
        trainer.StepCompleted = _ => steps++;
        trainer.EpochCompleted = e => epochs.Add(e.MeanLoss);
        var reports = new List<TrainingProgress>();
        var last = trainer.Fit(data, new TrainingOptions { Epochs = 60, BatchSize = 10, Seed = 4 }, new SynchronousProgress(reports.Add));
        Assert.Equal(60 * 7, steps);
        Assert.Equal(steps, reports.Count);
        Assert.True(last.MeanLoss < 1e-2 && last.MeanLoss < epochs[0] / 100, $"loss went from {epochs[0]} to {last.MeanLoss}");
        Assert.Equal(2, model.Parameters["fc.weight"].Data[0], 1);
        Assert.Equal(-3, model.Parameters["fc.weight"].Data[1], 1);
        Assert.False(model.Training);
        Assert.True(trainer.Evaluate(data) < 1e-2);

        var (again, _) = Regression();
        new Trainer(again, new Adam(again.Parameters, 0.05), trainer.Loss).Fit(data, new TrainingOptions { Epochs = 60, BatchSize = 10, Seed = 4 });
        Assert.Equal(model.Parameters["fc.weight"].Data, again.Parameters["fc.weight"].Data);
    }

    [Fact]
    public void Trainer_stops_when_cancelled()
    {
        var (model, data) = Regression();
        using var cts = new CancellationTokenSource();
        var trainer = new Trainer(model, new Sgd(model.Parameters, 0.1), Losses.OnOutput("y", "y", Losses.MeanSquaredError));
        var steps = 0;
        trainer.StepCompleted = _ =>
        {
            if (++steps == 3)
            {
                cts.Cancel();
            }
        };
        Assert.Throws<OperationCanceledException>(() => trainer.Fit(data, new TrainingOptions { Epochs = 5, BatchSize = 8 }, cancellationToken: cts.Token));
        Assert.Equal(3, steps);
    }

    [Fact]
    public void Dataset_batches_along_each_tensors_batch_axis()
    {
        var data = new TensorDataset(
            new Dictionary<string, Tensor> { ["x"] = Tensor.FromValues([0, 1, 2, 3, 4, 5], 3, 2), ["h"] = Tensor.FromValues([0, 1, 2, 3, 4, 5], 1, 3, 2) },
            new Dictionary<string, Tensor> { ["y"] = Tensor.FromValues([7, 8, 9], 3) },
            new Dictionary<string, int> { ["h"] = 1 });
        var batch = data.GetBatch([2, 0]);
        Assert.Equal([4f, 5f, 0f, 1f], batch.Inputs["x"].Data);
        Assert.Equal([1, 2, 2], batch.Inputs["h"].ShapeArray());
        Assert.Equal([9f, 7f], batch.Targets["y"].Data);
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
