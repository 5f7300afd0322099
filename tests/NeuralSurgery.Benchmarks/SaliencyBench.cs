using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.TorchSharp;
using NeuralSurgery.TorchSharp.Pruning;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Issue 15's cost figure: MRS of every unit of a layer (paper 002 definition 3.1.2, one forward and a backward to
/// the layer) against one forward and backward pass of the training loss, same model, same batch, as a ratio (goal
/// ≤ 2). Alongside, the costs the thesis quotes relative to back-propagation: MRP (a forward per unit) and the
/// second-order Taylor scorer (Table 2.1, a Hessian-vector product; the thesis measured 6-7×).
/// </summary>
public static class SaliencyBench
{
    public static int Run(string[] args)
    {
        var batch = Option(args, "--batch", 1000);
        var runs = Option(args, "--runs", 20);
        var hidden = Option(args, "--hidden", 512);
        TorchSharpNative.EnsureLoaded();
        torch.manual_seed(1);
        // paper 002's MNIST-sized MLP: 784 → hidden → 256 → 10, a validation set of 1000.
        var fc1 = nn.Linear(784, hidden);
        var fc2 = nn.Linear(hidden, 256);
        var fc3 = nn.Linear(256, 10);
        var model = nn.Sequential(("fc1", fc1), ("relu1", nn.ReLU()), ("fc2", fc2), ("relu2", nn.ReLU()), ("fc3", fc3));
        var x = randn(batch, 784);
        var labels = randint(0, 10, [batch]);
        Tensor PerSample() => nn.functional.cross_entropy(model.call(x), labels, reduction: nn.Reduction.None);

        void Backward()
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            PerSample().mean().backward();
        }

        void Mrs()
        {
            using var scope = NewDisposeScope();
            _ = UnitSaliency.Measure(fc2, PerSample);
        }

        void Taylor2()
        {
            using var scope = NewDisposeScope();
            _ = Saliency.Parameters(model, SaliencyKind.Taylor2, () => PerSample().mean());
        }

        foreach (var a in new Action[] { Backward, Mrs, Taylor2 })
        {
            Measure.WarmUp(a, 3, 500);
        }

        // Interleaved so a shared machine's load falls on every side alike.
        var times = new Dictionary<string, List<double>> { ["backward"] = [], ["mrs"] = [], ["taylor2"] = [] };
        for (var r = 0; r < runs; r++)
        {
            times["backward"].Add(Measure.Once(Backward));
            times["mrs"].Add(Measure.Once(Mrs));
            times["taylor2"].Add(Measure.Once(Taylor2));
        }

        var mrp = Measure.Once(() =>
        {
            using var scope = NewDisposeScope();
            _ = UnitSaliency.Mrp(fc2, PerSample);
        });
        var b = Measure.Median(times["backward"]);
        var m = Measure.Median(times["mrs"]);
        var t = Measure.Median(times["taylor2"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TorchSharp {typeof(torch).Assembly.GetName().Version}, CPU, {torch.get_num_threads()} threads; MLP 784-{hidden}-256-10, batch {batch}, scoring fc2's 256 units, median of {runs}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  forward + backward (training loss)     {b,9:F2} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  MRS, every unit (UnitSaliency.Measure) {m,9:F2} ms   ratio {m / b:F2}   (goal <= 2)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  Taylor2, every parameter (HVP)         {t,9:F2} ms   ratio {t / b:F2}   (thesis: 6-7)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  MRP, every unit (one run)              {mrp,9:F2} ms   ratio {mrp / b:F2}   (a forward per unit)"));
        return 0;
    }

    private static int Option(string[] args, string name, int fallback) => Measure.IntOption(args, name, fallback);
}
