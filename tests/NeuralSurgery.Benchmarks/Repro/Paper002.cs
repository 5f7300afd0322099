using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.TorchSharp;
using NeuralSurgery.TorchSharp.Pruning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>
/// Paper 002 section 4.2 on Fashion-MNIST: the small CNN trained with SGD (lr 0.01, batch 32, no momentum or weight
/// decay, thesis §4.1) for N epochs, once unpruned and once pruned by MRS with bias propagation. The schedule is the
/// thesis's Table 4.2: after epochs 2, 3, 4 and 5, every prunable layer (conv1, conv2, fc1; not the output) keeps
/// ⌈(1 − f)·n⌉ of its original n units, f = 0.1, 0.2, 0.4, 0.6 (⌊f·n⌋ removed, as §4.1 counts a pruning factor), the units with the lowest MRS
/// (definition 3.1.2) on 1000 random training samples; the removed units' means on the same samples are folded into
/// the consumers' biases (§3.1, eqs. 1.5-1.6). Each removal is a real narrowing (UnitRemoval plan → LiveSurgery into a
/// narrower PaperCnn → OptimizerCarry), where the thesis masked. At each removal the loss on a fixed 10,000-sample
/// training subset is measured before, after mean replacement, and after zero replacement (the plain plan).
/// </summary>
internal static class Paper002
{
    private static readonly (int Epoch, double Fraction)[] Schedule = [(2, 0.1), (3, 0.2), (4, 0.4), (5, 0.6)];
    private static readonly string[] Prunable = ["conv1", "conv2", "fc1"];

    private sealed record Removal(int Epoch, double Fraction, string Layer, int Removed, long Width, double Before, double Mean, double Zero);

    public static bool Run(FashionData data, int epochs, int seed, long hidden)
    {
        const int batch = 32;
        const double lr = 0.01;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## Paper 002: unit pruning by MRS with bias propagation (CNN 1→8→16 conv k5, fc 256→{hidden}→10; SGD lr {lr}, batch {batch}, {epochs} epochs, seed {seed})"));
        Console.WriteLine();
        var sw = Stopwatch.StartNew();
        var (baseline, baselineCurve) = Train(data, epochs, seed, hidden, batch, lr, prune: false, out _);
        var baselineSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var (pruned, prunedCurve) = Train(data, epochs, seed, hidden, batch, lr, prune: true, out var removals);
        var prunedSeconds = sw.Elapsed.TotalSeconds;

        Console.WriteLine("| epoch | unpruned: train loss | test acc. | pruned: train loss | test acc. | widths (conv1, conv2, fc1) | parameters |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | --- | ---: |");
        for (var e = 0; e < epochs; e++)
        {
            var (bl, ba, _) = baselineCurve[e];
            var (pl, pa, w) = prunedCurve[e];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {e + 1} | {bl:F4} | {ba:F2} % | {pl:F4} | {pa:F2} % | {w.C1}, {w.C2}, {w.Hidden} | {PaperCnn.Parameters(w.C1, w.C2, w.Hidden):N0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Loss jump at each removal (mean cross-entropy on a fixed 10,000-sample training subset, right before and right after; mean replacement is what training continues from):");
        Console.WriteLine();
        Console.WriteLine("| after epoch | f | layer | removed | width | loss before | Δ mean replacement | Δ zero replacement | mean smaller |");
        Console.WriteLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in removals)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Epoch} | {r.Fraction:F1} | {r.Layer} | {r.Removed} | {r.Width} | {r.Before:F4} | {Signed(r.Mean - r.Before)} | {Signed(r.Zero - r.Before)} | {Compare(r)} |"));
        }

        var baseParams = PaperCnn.Parameters(8, 16, hidden);
        var prunedParams = PaperCnn.Parameters(pruned.C1, pruned.C2, pruned.Hidden);
        var ratio = (double)baseParams / prunedParams;
        var baseAcc = baselineCurve[^1].Accuracy;
        var prunedAcc = prunedCurve[^1].Accuracy;
        var smaller = removals.Count(r => Compare(r) == "yes");
        var equal = removals.Count(r => Compare(r) == "equal");
        Console.WriteLine();
        Console.WriteLine("| run | parameters | test accuracy | time |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| unpruned | {baseParams:N0} | {baseAcc:F2} % | {baselineSeconds:F0} s |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| pruned (MRS + mean replacement) | {prunedParams:N0} | {prunedAcc:F2} % | {prunedSeconds:F0} s |"));
        Console.WriteLine();
        var fewer = ratio >= 5;
        var close = baseAcc - prunedAcc <= 0.5;
        var jumps = smaller + equal == removals.Count && smaller > 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal ≥ 5× fewer parameters: {ratio:F2}× — {(fewer ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal within 0.5 points of the unpruned run: {prunedAcc - baseAcc:+0.00;-0.00} points — {(close ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal loss jump smaller with mean than with zero replacement: smaller at {smaller} of {removals.Count} removals, equal at {equal} (units whose consumers read a zero mean: dead ReLUs, where both replacements are the same), larger at {removals.Count - smaller - equal} — {(jumps ? "met" : "NOT met")}"));
        Console.WriteLine();
        baseline.Dispose();
        pruned.Dispose();
        return fewer && close && jumps;
    }

    private static string Signed(double v) => (v >= 0 ? "+" : string.Empty) + v.ToString("F5", CultureInfo.InvariantCulture);

    /// <summary>"equal" when both replacements give the same loss (to 1e-7: the removed units' consumer inputs have mean 0).</summary>
    private static string Compare(Removal r) => Math.Abs(r.Mean - r.Zero) <= 1e-7 ? "equal" : r.Mean < r.Zero ? "yes" : "NO";

    private static (PaperCnn Model, List<(double Loss, double Accuracy, (long C1, long C2, long Hidden) Widths)> Curve) Train(FashionData data, int epochs, int seed, long hidden, int batch, double lr, bool prune, out List<Removal> removals)
    {
        removals = [];
        torch.manual_seed(seed);
        var model = new PaperCnn(hidden: hidden);
        OptimizerHelper optimizer = optim.SGD(model.parameters(), lr);
        using var order = new torch.Generator((ulong)seed + 1);     // the same batches in the same order for both runs
        using var sampling = new torch.Generator((ulong)seed + 2);  // scoring subsets
        using var lossSampling = new torch.Generator((ulong)seed + 3);
        var (lossX, lossY) = data.TrainSubset(10_000, lossSampling);
        var curve = new List<(double, double, (long, long, long))>();
        var label = prune ? "pruned" : "unpruned";
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            var current = model;
            var currentOptimizer = optimizer;
            var loss = data.Epoch(batch, order, (x, y) =>
            {
                var l = nn.functional.cross_entropy(current.call(x), y);
                currentOptimizer.zero_grad();
                l.backward();
                currentOptimizer.step();
                return l.detach();
            }, $"{label} epoch {epoch}/{epochs}");

            if (prune && Schedule.FirstOrDefault(s => s.Epoch == epoch) is { Fraction: > 0 } round)
            {
                foreach (var layer in Prunable)
                {
                    var (next, nextOptimizer, removal) = RemoveUnits(model, optimizer, lr, hidden, layer, round.Fraction, data, sampling, lossX, lossY);
                    if (removal is not null)
                    {
                        removals.Add(removal with { Epoch = epoch });
                        model.Dispose();
                        (model, optimizer) = (next, nextOptimizer);
                    }
                }
            }

            var accuracy = data.TestAccuracy(model);
            curve.Add((loss, accuracy, (model.C1, model.C2, model.Hidden)));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label} epoch {epoch}/{epochs}: train loss {loss:F4}, test accuracy {accuracy:F2} %, widths {model.C1}/{model.C2}/{model.Hidden}"));
        }

        lossX.Dispose();
        lossY.Dispose();
        return (model, curve);
    }

    /// <summary>One layer's share of a pruning round: MRS, the removal plan, mean replacement, the narrower model.</summary>
    private static (PaperCnn Model, OptimizerHelper Optimizer, Removal? Removal) RemoveUnits(PaperCnn model, OptimizerHelper optimizer, double lr, long hidden, string layer, double fraction, FashionData data, torch.Generator sampling, Tensor lossX, Tensor lossY)
    {
        var original = layer switch { "conv1" => 8L, "conv2" => 16L, _ => hidden };
        var width = layer switch { "conv1" => model.C1, "conv2" => model.C2, _ => model.Hidden };
        var target = original - (long)Math.Floor(fraction * original);
        var count = (int)(width - target);
        if (count <= 0)
        {
            return (model, optimizer, null);
        }

        // Thesis §4.2: MRS on a random subset of the training data (1000 samples, §4.1), one batch.
        var (x, y) = data.TrainSubset(1000, sampling);
        var statistics = UnitSaliency.Measure(model.Layer(layer), () => nn.functional.cross_entropy(model.call(x), y, reduction: nn.Reduction.None));
        var units = statistics.Mrs.Select((s, i) => (s, i: (long)i)).OrderBy(p => p.s).Take(count).Select(p => p.i).Order().ToArray();

        var side = ModelSide.Trace(PaperCnn.Graph(model.C1, model.C2, model.Hidden), null);
        var removal = UnitRemoval.Plan(side, layer, units);
        var means = LiveMeanReplacement.MeasureInputMeans(model, removal, () =>
        {
            using var noGrad = torch.no_grad();
            model.call(x).Dispose();
        });
        var plan = LiveMeanReplacement.Plan(removal, model, means);
        x.Dispose();
        y.Dispose();

        long Width(string parameter) => removal.Narrowed.FindParameter(parameter)!.Shape[0].Value;
        PaperCnn Narrower() => new(Width("conv1.weight"), Width("conv2.weight"), Width("fc1.weight"));
        var pruned = Narrower();
        LiveSurgery.Apply(plan, model, pruned);
        var zero = Narrower();
        LiveSurgery.Apply(removal.Plan, model, zero);

        var before = FashionData.Loss(model, lossX, lossY);
        var mean = FashionData.Loss(pruned, lossX, lossY);
        var zeroLoss = FashionData.Loss(zero, lossX, lossY);
        zero.Dispose();

        var next = optim.SGD(pruned.parameters(), lr);
        OptimizerCarry.Carry(plan, model, optimizer, pruned, next);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  removed {count} of {width} units of {layer} (lowest MRS): loss {before:F4} → {mean:F4} with mean replacement, {zeroLoss:F4} with zero replacement"));
        return (pruned, next, new Removal(0, fraction, layer, count, target, before, mean, zeroLoss));
    }
}
