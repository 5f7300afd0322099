using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.TorchSharp.Pruning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>
/// Paper 003 (dynamic network surgery) on LeNet-300-100 and Fashion-MNIST. As in the paper, surgery starts
/// from a trained dense reference: the network is trained dense for P epochs, then three runs continue from those
/// same weights for D epochs each, on the same batches in the same order (SGD lr 0.01, momentum 0.9, weight decay
/// 5e-4, batch 64, as Caffe's LeNet solver the paper's code used; the decay also keeps the growing weights from
/// splicing back most of what was pruned under the fixed thresholds): the dense baseline; DNS (masks in the forward pass, full weights learning,
/// per-layer thresholds t = max(μ + c·σ, 0) of |W|, prune at ≤ 0.9·t, splice at &gt; 1.1·t, mask updates with
/// probability (1 + γ·iter)^−power until the stop iteration, then the masks are fixed for the rest); and the control,
/// one-shot magnitude pruning of the reference to DNS's final per-layer sparsity, then the same D epochs with the mask
/// fixed (gradients and weights masked every step). Compression counts weights and biases: all parameters over the
/// non-zero ones.
/// </summary>
internal static class Paper003
{
    private static readonly string[] Weights = ["fc1.weight", "fc2.weight", "fc3.weight"];

    public static bool Run(FashionData data, int pretrainEpochs, int epochs, int seed, IReadOnlyDictionary<string, double> c, double gamma, double power, double stopShare, double decay)
    {
        const int batch = 64;
        const double lr = 0.01;
        const double momentum = 0.9;
        var steps = (data.TrainCount + batch - 1) / batch;
        var stop = (long)(stopShare * epochs * steps);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## Paper 003: dynamic network surgery on LeNet-300-100 (SGD lr {lr}, momentum {momentum}, weight decay {decay}, batch {batch}; dense reference {pretrainEpochs} epochs, then {epochs} epochs per run; seed {seed})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DNS: c = {string.Join(", ", Weights.Select(w => $"{w} {c[w]}"))}; γ = {gamma}, power = {power}; mask updates stop at iteration {stop} of {epochs * steps}"));
        Console.WriteLine();

        var sw = Stopwatch.StartNew();
        torch.manual_seed(seed);
        var reference = new LeNet300();
        using (var order = new torch.Generator((ulong)seed + 1))
        {
            var sgd = optim.SGD(reference.parameters(), lr, momentum, weight_decay: decay);
            for (var e = 1; e <= pretrainEpochs; e++)
            {
                var l = data.Epoch(batch, order, (x, y) => Step(reference, sgd, x, y), $"reference epoch {e}/{pretrainEpochs}");
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  reference epoch {e}/{pretrainEpochs}: train loss {l:F4}, test accuracy {data.TestAccuracy(reference):F2} %"));
            }
        }

        var referenceAccuracy = data.TestAccuracy(reference);
        var referenceSeconds = sw.Elapsed.TotalSeconds;

        // Dense baseline: the same D epochs without pruning.
        sw.Restart();
        var dense = CopyOf(reference);
        Continue(data, dense, epochs, seed, batch, "dense", (m, o, x, y) => Step(m, o, x, y), lr, momentum, decay);
        var denseAccuracy = data.TestAccuracy(dense);
        var denseSeconds = sw.Elapsed.TotalSeconds;

        // DNS.
        sw.Restart();
        var surgery = CopyOf(reference);
        var dns = new DynamicNetworkSurgery(surgery, new DnsOptions { C = 0, LayerC = c, Gamma = gamma, Power = power, StopIteration = stop, Seed = seed }, Weights);
        Continue(data, surgery, epochs, seed, batch, "DNS", (m, o, x, y) =>
        {
            dns.BeginStep();
            var l = nn.functional.cross_entropy(m.call(x), y);
            o.zero_grad();
            l.backward();
            dns.EndStep(o);
            return l.detach();
        }, lr, momentum, decay, () => string.Create(CultureInfo.InvariantCulture, $", sparsity {dns.Sparsity:P2}, pruned {dns.Pruned}, spliced {dns.Spliced}"));
        dns.Finish();
        var dnsAccuracy = data.TestAccuracy(surgery);
        var dnsSeconds = sw.Elapsed.TotalSeconds;
        var kept = Weights.ToDictionary(w => w, w => dns.Masks[w].sum().item<long>());

        // Control: one-shot magnitude pruning of the reference to the same per-layer sparsity, same step budget.
        sw.Restart();
        var oneShot = CopyOf(reference);
        var masks = MagnitudeMasks(oneShot, kept);
        Continue(data, oneShot, epochs, seed, batch, "one-shot", (m, o, x, y) =>
        {
            var l = nn.functional.cross_entropy(m.call(x), y);
            o.zero_grad();
            l.backward();
            using (torch.no_grad())
            {
                foreach (var (name, p) in m.named_parameters().Where(p => masks.ContainsKey(p.name)))
                {
                    p.grad!.mul_(masks[name]);
                }
            }

            o.step();
            ApplyMasks(m, masks); // momentum still moves pruned weights; they stay removed
            return l.detach();
        }, lr, momentum, decay);
        var oneShotAccuracy = data.TestAccuracy(oneShot);
        var oneShotSeconds = sw.Elapsed.TotalSeconds;

        var total = Count(reference, _ => true);
        var biases = Count(reference, n => !Weights.Contains(n));
        var dnsNonZero = NonZero(surgery);
        var oneShotNonZero = NonZero(oneShot);
        var compression = (double)total / dnsNonZero;

        Console.WriteLine("| layer | weights | kept by DNS | kept share |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var w in Weights)
        {
            var n = dns.Masks[w].NumberOfElements;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {w} | {n:N0} | {kept[w]:N0} | {100.0 * kept[w] / n:F2} % |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| biases (not pruned) | {biases:N0} | {biases:N0} | 100.00 % |"));
        Console.WriteLine();
        Console.WriteLine("| run | non-zero parameters | compression | test accuracy | time |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| dense reference ({pretrainEpochs} epochs) | {NonZero(reference):N0} | 1.00× | {referenceAccuracy:F2} % | {referenceSeconds:F0} s |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| dense baseline (+{epochs} epochs) | {NonZero(dense):N0} | 1.00× | {denseAccuracy:F2} % | {denseSeconds:F0} s |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| DNS (+{epochs} epochs) | {dnsNonZero:N0} | {compression:F2}× | {dnsAccuracy:F2} % | {dnsSeconds:F0} s |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| one-shot magnitude, same sparsity (+{epochs} epochs) | {oneShotNonZero:N0} | {(double)total / oneShotNonZero:F2}× | {oneShotAccuracy:F2} % | {oneShotSeconds:F0} s |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"DNS mask updates: {dns.Pruned:N0} weights pruned, {dns.Spliced:N0} spliced back, over {dns.Iteration:N0} iterations"));
        var compressed = compression >= 10;
        var close = denseAccuracy - dnsAccuracy <= 1;
        var spliced = dns.Spliced > 0;
        var better = dnsAccuracy > oneShotAccuracy;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal ≥ 10× compression: {compression:F2}× — {(compressed ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal within 1 point of the dense baseline: {dnsAccuracy - denseAccuracy:+0.00;-0.00} points — {(close ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal nonzero splice count: {dns.Spliced:N0} — {(spliced ? "met" : "NOT met")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"goal better than one-shot magnitude pruning at the same sparsity and steps: {dnsAccuracy - oneShotAccuracy:+0.00;-0.00} points — {(better ? "met" : "NOT met")}"));
        Console.WriteLine();
        foreach (var m in new[] { reference, dense, surgery, oneShot })
        {
            m.Dispose();
        }

        return compressed && close && spliced && better;
    }

    private static Tensor Step(LeNet300 model, OptimizerHelper optimizer, Tensor x, Tensor y)
    {
        var l = nn.functional.cross_entropy(model.call(x), y);
        optimizer.zero_grad();
        l.backward();
        optimizer.step();
        return l.detach();
    }

    /// <summary>D epochs from the reference, each run with a fresh optimizer and the same batch order (seed + 2).</summary>
    private static void Continue(FashionData data, LeNet300 model, int epochs, int seed, int batch, string label, Func<LeNet300, OptimizerHelper, Tensor, Tensor, Tensor> step, double lr, double momentum, double decay, Func<string>? extra = null)
    {
        var optimizer = optim.SGD(model.parameters(), lr, momentum, weight_decay: decay);
        using var order = new torch.Generator((ulong)seed + 2);
        for (var e = 1; e <= epochs; e++)
        {
            var l = data.Epoch(batch, order, (x, y) => step(model, optimizer, x, y), $"{label} epoch {e}/{epochs}");
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label} epoch {e}/{epochs}: train loss {l:F4}{extra?.Invoke()}"));
        }
    }

    private static LeNet300 CopyOf(LeNet300 source)
    {
        var copy = new LeNet300();
        using var noGrad = torch.no_grad();
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in copy.named_parameters())
        {
            p.copy_(from[name]);
        }

        return copy;
    }

    /// <summary>Per weight, a mask keeping its <paramref name="kept"/> largest magnitudes (the one-shot control); applied at once.</summary>
    private static Dictionary<string, Tensor> MagnitudeMasks(LeNet300 model, IReadOnlyDictionary<string, long> kept)
    {
        var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (name, p) in model.named_parameters().Where(p => kept.ContainsKey(p.name)))
            {
                var flat = p.abs().flatten();
                var mask = torch.zeros_like(flat);
                if (kept[name] > 0)
                {
                    var top = flat.topk((int)kept[name]).indexes;
                    mask.index_fill_(0, top, 1);
                }

                masks[name] = mask.reshape(p.shape);
            }
        }

        ApplyMasks(model, masks);
        return masks;
    }

    private static void ApplyMasks(LeNet300 model, Dictionary<string, Tensor> masks)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.named_parameters().Where(p => masks.ContainsKey(p.name)))
        {
            p.mul_(masks[name]);
        }
    }

    private static long Count(LeNet300 model, Func<string, bool> which) => model.named_parameters().Where(p => which(p.name)).Sum(p => p.parameter.NumberOfElements);

    private static long NonZero(LeNet300 model) => model.parameters().Sum(p => p.count_nonzero().item<long>());
}
