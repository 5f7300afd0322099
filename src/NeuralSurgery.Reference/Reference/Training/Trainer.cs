using System;
using System.Threading;

namespace NeuralSurgery.Runtime.Reference.Training;

public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 1;

    public int BatchSize { get; init; } = 32;

    /// <summary>Reshuffle the sample order every epoch (seeded by <see cref="Seed"/> and the epoch).</summary>
    public bool Shuffle { get; init; } = true;

    public int Seed { get; init; }

    /// <summary>Skip a last batch smaller than <see cref="BatchSize"/> (BatchNorm in train mode needs more than one sample).</summary>
    public bool DropLast { get; init; }
}

/// <summary>One optimiser step: the epoch (from 0), the step within it, the global step, the batch size and the loss.</summary>
public sealed record TrainingStep(int Epoch, int Step, long GlobalStep, int BatchSize, double Loss);

/// <summary>An epoch: the sample-weighted mean training loss.</summary>
public sealed record EpochResult(int Epoch, double MeanLoss, int Steps);

/// <summary>Where a fit is, for progress bars.</summary>
public sealed record TrainingProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss);

/// <summary>
/// A minibatch training loop over a <see cref="ReferenceModel"/>: per step forward (train mode), loss, backward,
/// optimiser step (its hooks included); callbacks per step and per epoch, <see cref="IProgress{T}"/> reporting and
/// cancellation between steps.
/// </summary>
public sealed class Trainer
{
    public Trainer(ReferenceModel model, Optimizer optimizer, LossFunction loss)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        Model = model;
        Optimizer = optimizer;
        Loss = loss;
    }

    public ReferenceModel Model { get; }

    public Optimizer Optimizer { get; }

    public LossFunction Loss { get; }

    /// <summary>Called after every optimiser step.</summary>
    public Action<TrainingStep>? StepCompleted { get; set; }

    /// <summary>Called after every epoch.</summary>
    public Action<EpochResult>? EpochCompleted { get; set; }

    /// <summary>One step on <paramref name="batch"/> in train mode; returns the loss before the update.</summary>
    public double TrainStep(TrainingBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var wasTraining = Model.Training;
        Model.Training = true;
        try
        {
            var pass = Model.Forward(batch.Inputs);
            var loss = Loss(pass.Outputs, batch);
            var grads = Model.Backward(pass, loss.OutputGradients);
            Optimizer.Step(grads.Parameters);
            return loss.Value;
        }
        finally
        {
            Model.Training = wasTraining;
        }
    }

    /// <summary>Trains for <see cref="TrainingOptions.Epochs"/> epochs; returns the last epoch's result.</summary>
    public EpochResult Fit(ITrainingData data, TrainingOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 1 || options.Epochs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be >= 1 and Epochs >= 0; got {options.BatchSize} and {options.Epochs}.");
        }

        var order = new int[data.Count];
        var stepsPerEpoch = options.DropLast ? data.Count / options.BatchSize : (data.Count + options.BatchSize - 1) / options.BatchSize;
        var result = new EpochResult(-1, double.NaN, 0);
        long global = 0;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            if (options.Shuffle)
            {
                new Random(Seeds.Mix((ulong)(uint)options.Seed, (ulong)epoch)).Shuffle(order);
            }

            double sum = 0;
            long samples = 0;
            for (var step = 0; step < stepsPerEpoch; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = step * options.BatchSize;
                var size = Math.Min(options.BatchSize, order.Length - start);
                var loss = TrainStep(data.GetBatch(order.AsSpan(start, size)));
                sum += loss * size;
                samples += size;
                StepCompleted?.Invoke(new TrainingStep(epoch, step, global++, size, loss));
                progress?.Report(new TrainingProgress(epoch, options.Epochs, step + 1, stepsPerEpoch, loss));
            }

            result = new EpochResult(epoch, samples > 0 ? sum / samples : double.NaN, stepsPerEpoch);
            EpochCompleted?.Invoke(result);
        }

        return result;
    }

    /// <summary>The sample-weighted mean loss over <paramref name="data"/> in eval mode, without updates.</summary>
    public double Evaluate(ITrainingData data, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var wasTraining = Model.Training;
        Model.Training = false;
        try
        {
            var order = new int[data.Count];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            double sum = 0;
            for (var start = 0; start < order.Length; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var size = Math.Min(batchSize, order.Length - start);
                var batch = data.GetBatch(order.AsSpan(start, size));
                sum += Loss(Model.Forward(batch.Inputs).Outputs, batch).Value * size;
            }

            return order.Length > 0 ? sum / order.Length : double.NaN;
        }
        finally
        {
            Model.Training = wasTraining;
        }
    }
}
