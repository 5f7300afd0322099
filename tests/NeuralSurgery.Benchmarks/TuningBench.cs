using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Paper 000 on the synthetic pattern task (section 5.1 in spirit): full tuning, Lagrange, Sel-*, Dyn-Δ and Dyn-Grad
/// at several n, with clean accuracy, pattern success, consistency (Definition 1), changed elements and patch size
/// (section 6.4); then Dyn-Δ's per-step bookkeeping on --params parameters against a plain SGD step, as a ratio.
/// </summary>
internal static class TuningBench
{
    public static int Run(string[] args)
    {
        var seed = Option(args, "--seed", 3);
        var parameters = Option(args, "--params", 100_000_000);
        var steps = Option(args, "--steps", 10);
        if (!args.Contains("--skip-table"))
        {
            Table(seed);
        }

        if (parameters > 0)
        {
            Bookkeeping(parameters, steps);
        }

        return 0;
    }

    private static void Table(int seed)
    {
        var task = new PatternTask(seed);
        var clock = Stopwatch.StartNew();
        var initial = task.TrainInitial();
        var total = initial.Parameters.Values.Sum(p => (long)p.Length);
        Console.WriteLine($"pattern task seed {seed}: {total} parameters, initial clean accuracy {task.Accuracy(initial, task.CleanTest):P1}, trained in {clock.Elapsed.TotalSeconds:F1} s");
        var (reference, fullRun) = task.Tune(initial, TuningMethod.Full);
        var wr = WeightSnapshot.Of(reference.Parameters);
        var runs = new List<(TuningRun Run, long PatchBytes)> { (fullRun, PatchBytes(initial, reference)) };
        void Add(TuningMethod method, long n = 0, double lambda = 0)
        {
            var (model, run) = task.Tune(initial, method, n: n, lambda: lambda, reference: wr);
            runs.Add((run, PatchBytes(initial, model)));
        }

        foreach (var lambda in new[] { 0.05, 0.2, 0.5 })
        {
            Add(TuningMethod.Lagrange, lambda: lambda);
        }

        foreach (var n in new long[] { 30, 100, 300 })
        {
            foreach (var method in new[] { TuningMethod.SelRand, TuningMethod.SelDelta, TuningMethod.SelGrad, TuningMethod.SelLca, TuningMethod.DynDelta, TuningMethod.DynGrad })
            {
                Add(method, n);
            }
        }

        var checkpointBytes = initial.ToStateDict().Tensors.Sum(t => t.ByteLength);
        Console.WriteLine();
        Console.WriteLine($"{"method",-9} {"setting",-9} {"clean before",12} {"clean after",12} {"pattern",8} {"consistency",12} {"changed",8} {"patch B",8}");
        foreach (var (run, bytes) in runs)
        {
            var r = run.Report;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Method,-9} {run.Setting,-9} {r.CleanBefore,12:P1} {r.CleanAfter,12:P1} {r.Target,8:P1} {r.Consistency,12:F3} {r.ChangedElements,8} {bytes,8}"));
        }

        Console.WriteLine($"checkpoint tensor data: {checkpointBytes} B; table took {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static long PatchBytes(ReferenceModel initial, ReferenceModel tuned) =>
        SparsePatch.Create(initial.ToStateDict(), tuned.ToStateDict()).ToBytes().LongLength;

    /// <summary>
    /// Per step: a plain SGD step over the tensors, then the same step with Algorithm 1's bookkeeping (gradient mask,
    /// reset of non-members, I_p update, and a deletion by top-n selection every K_every = --steps steps).
    /// </summary>
    private static void Bookkeeping(long count, int kEvery)
    {
        const int Tensors = 4;
        var per = (int)(count / Tensors);
        var rng = new Random(1);
        var parameters = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var t = 0; t < Tensors; t++)
        {
            var p = new float[per];
            var g = new float[per];
            for (var i = 0; i < per; i++)
            {
                p[i] = rng.NextSingle() - 0.5f;
                g[i] = rng.NextSingle() - 0.5f;
            }

            parameters.Add("w" + t, new Tensor(p, per));
            gradients.Add("w" + t, new Tensor(g, per));
        }

        var plain = new Sgd(parameters, 1e-3);
        plain.Step(gradients); // warm-up
        var clock = Stopwatch.StartNew();
        for (var s = 0; s < kEvery; s++)
        {
            plain.Step(gradients);
        }

        var plainMs = clock.Elapsed.TotalMilliseconds / kEvery;

        var wi = WeightSnapshot.Of(parameters);
        var dyn = new DynamicSurgery(parameters, wi, new DynamicOptions { N = 1000, KStart = 0, KEvery = kEvery, Alpha = 0.95, Eta = 0.1 });
        var sgd = new Sgd(parameters, 1e-3);
        sgd.Hooks.Add(dyn);
        var masked = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, g) in gradients)
        {
            masked[name] = g.Clone();
        }

        // The hook masks gradients in place; refresh them outside the timed region.
        void Refresh()
        {
            foreach (var (name, g) in gradients)
            {
                g.Data.CopyTo(masked[name].Data, 0);
            }
        }

        Refresh();
        sgd.Step(masked); // warm-up; the optimiser calls the hook's StepCompleted itself
        double dynMs = 0;
        double deletingMs = 0;
        var deleting = 0;
        for (var s = 0; s < kEvery; s++)
        {
            Refresh();
            var deletions = dyn.Deletions;
            clock.Restart();
            sgd.Step(masked);
            var all = clock.Elapsed.TotalMilliseconds;
            dynMs += all;
            if (dyn.Deletions > deletions)
            {
                deletingMs += all;
                deleting++;
            }
        }

        // The deletion runs inside the step now, so its cost is a deleting step less the mean of the others.
        var deleteMs = deleting == 0 ? 0 : (deletingMs / deleting) - ((dynMs - deletingMs) / Math.Max(kEvery - deleting, 1));
        dynMs /= kEvery;
        var bookkeeping = dynMs - plainMs;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Dyn-Δ bookkeeping on {(long)per * Tensors:N0} parameters ({Tensors} tensors, {Environment.ProcessorCount} cores), averaged over K_every = {kEvery} steps with one deletion:"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  plain SGD step        {plainMs,9:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  SGD step + Dyn-Δ      {dynMs,9:F1} ms  (deletion by top-n selection: {deleteMs:F1} ms once per {kEvery} steps; |S| now {dyn.AllowedCount:N0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  bookkeeping / plain   {bookkeeping / plainMs,9:F2}x   (total / plain {dynMs / plainMs:F2}x)"));
    }

    private static int Option(string[] args, string name, int fallback) => Measure.IntOption(args, name, fallback);
}
