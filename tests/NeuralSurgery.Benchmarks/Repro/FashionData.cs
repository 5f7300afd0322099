using System;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>Fashion-MNIST as CPU tensors (images [N, 1, 28, 28] standardised by the training set's mean and std, labels int64), and the loops every reproduction shares.</summary>
internal sealed class FashionData : IDisposable
{
    private FashionData(Tensor trainX, Tensor trainY, Tensor testX, Tensor testY) => (TrainX, TrainY, TestX, TestY) = (trainX, trainY, testX, testY);

    public Tensor TrainX { get; }

    public Tensor TrainY { get; }

    public Tensor TestX { get; }

    public Tensor TestY { get; }

    public long TrainCount => TrainX.shape[0];

    public static FashionData Load(string folder)
    {
        var set = MnistSet.Load(folder);
        static Tensor Images(IdxArray a) => torch.tensor(a.Values, [a.Dimensions[0], 1, 28, 28]).to_type(ScalarType.Float32).div_(255);
        static Tensor Labels(IdxArray a) => torch.tensor(a.Values, [a.Dimensions[0]]).to_type(ScalarType.Int64);
        var trainX = Images(set.TrainImages);
        var testX = Images(set.TestImages);
        var mean = trainX.mean().item<float>();
        var std = trainX.std().item<float>();
        trainX.sub_(mean).div_(std);
        testX.sub_(mean).div_(std);
        return new FashionData(trainX, Labels(set.TrainLabels), testX, Labels(set.TestLabels));
    }

    /// <summary>A fixed random subset of the training set (seeded), e.g. the thesis's 1000 scoring samples.</summary>
    public (Tensor X, Tensor Y) TrainSubset(int count, torch.Generator generator)
    {
        using var perm = torch.randperm(TrainCount, generator: generator);
        using var idx = perm.narrow(0, 0, count);
        return (TrainX.index_select(0, idx), TrainY.index_select(0, idx));
    }

    /// <summary>
    /// One epoch of mini-batches in a seeded random order; <paramref name="step"/> gets each batch (already inside a
    /// dispose scope) and returns its loss for the running mean that progress lines show.
    /// </summary>
    public double Epoch(int batch, torch.Generator order, Func<Tensor, Tensor, Tensor> step, string label)
    {
        using var perm = torch.randperm(TrainCount, generator: order);
        var batches = (TrainCount + batch - 1) / batch;
        double sum = 0;
        var sw = Stopwatch.StartNew();
        for (long b = 0; b < batches; b++)
        {
            using var scope = torch.NewDisposeScope();
            var idx = perm.narrow(0, b * batch, Math.Min(batch, TrainCount - (b * batch)));
            var loss = step(TrainX.index_select(0, idx), TrainY.index_select(0, idx));
            sum += loss.item<float>();
            if ((b + 1) % 500 == 0)
            {
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r  {label}: step {b + 1}/{batches}, mean loss {sum / (b + 1):F4}, {sw.Elapsed.TotalSeconds:F0} s   "));
            }
        }

        Console.Error.Write("\r" + new string(' ', 90) + "\r");
        return sum / batches;
    }

    /// <summary>Test accuracy in percent (no gradients, chunks of 2000).</summary>
    public double TestAccuracy(nn.Module<Tensor, Tensor> model) => Accuracy(model, TestX, TestY);

    public static double Accuracy(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y) =>
        100.0 * Sum(model, x, y, (logits, labels) => logits.argmax(1).eq(labels).sum().item<long>()) / x.shape[0];

    /// <summary>Mean cross-entropy of <paramref name="model"/> on (x, y), no gradients, chunks of 2000.</summary>
    public static double Loss(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y) =>
        Sum(model, x, y, (logits, labels) => nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>()) / x.shape[0];

    /// <summary>Σ over chunks of 2000 samples of <paramref name="term"/>(logits, labels), without gradients.</summary>
    private static double Sum(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, Func<Tensor, Tensor, double> term)
    {
        using var noGrad = torch.no_grad();
        double sum = 0;
        for (long i = 0; i < x.shape[0]; i += 2000)
        {
            using var scope = torch.NewDisposeScope();
            var n = Math.Min(2000, x.shape[0] - i);
            sum += term(model.call(x.narrow(0, i, n)), y.narrow(0, i, n));
        }

        return sum;
    }

    public void Dispose()
    {
        TrainX.Dispose();
        TrainY.Dispose();
        TestX.Dispose();
        TestY.Dispose();
    }
}
