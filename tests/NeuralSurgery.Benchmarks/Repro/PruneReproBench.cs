using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using NeuralSurgery.TorchSharp;
using TorchSharp;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>
/// The Fashion-MNIST reproductions of issue 15: paper 002's unit pruning (MRS, mean replacement, the 10/20/40/60 %
/// schedule) and paper 003's dynamic network surgery on LeNet-300-100, each with its control in the same invocation,
/// TorchSharp on CPU, seeds fixed. <c>--epochs</c> is paper 002's training length (default 10, the thesis's) and
/// paper 003's length of each run after the dense reference (default 20; the reference trains <c>--pretrain</c>, 10).
/// Exit code 1 when a goal is not met, 2 on bad arguments.
/// </summary>
public static class PruneReproBench
{
    public const string Usage = "prune-repro [--paper 002|003|all] [--epochs N] [--pretrain N] [--seed N] [--data DIR] [--hidden 32|64] [--c fc1=C,fc2=C,fc3=C] [--gamma G] [--power P] [--stop SHARE] [--decay D] [--threads N]";

    public static int Run(string[] args)
    {
        var paper = Text(args, "--paper", "all");
        if (paper is not ("002" or "003" or "all"))
        {
            Console.Error.WriteLine($"--paper {paper}: expected 002, 003 or all");
            return 2;
        }

        var seed = Measure.IntOption(args, "--seed", 1);
        var folder = Text(args, "--data", "/usr/share/datasets/fashion-mnist");
        var c = ParseC(Text(args, "--c", "fc1.weight=3.0,fc2.weight=2.5,fc3.weight=1.0"));
        TorchSharpNative.EnsureLoaded();
        // One intra-op thread by default: these models are small, and on a shared 2-core machine libtorch's OpenMP
        // threads spin against other processes (measured: 10 ms per CNN step with 1 thread, 100 ms with 2 under load).
        torch.set_num_threads(Measure.IntOption(args, "--threads", 1));

        var sw = Stopwatch.StartNew();
        FashionData data;
        try
        {
            data = FashionData.Load(folder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"prune-repro: {e.Message}");
            return 2;
        }

        using var owned = data;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Fashion-MNIST from {folder}: {data.TrainCount:N0} training and {data.TestX.shape[0]:N0} test images; TorchSharp {typeof(torch).Assembly.GetName().Version}, CPU, {torch.get_num_threads()} threads"));
        Console.WriteLine();
        var ok = true;
        if (paper is "002" or "all")
        {
            // fc1 has 32 units in the thesis's appendix C.1 listing; --hidden 64 is the network its parameter count (20,522) describes.
            ok &= Paper002.Run(data, Measure.IntOption(args, "--epochs", 10), seed, Measure.IntOption(args, "--hidden", 32));
        }

        if (paper is "003" or "all")
        {
            ok &= Paper003.Run(
                data,
                Measure.IntOption(args, "--pretrain", 10),
                Measure.IntOption(args, "--epochs", 20),
                seed,
                c,
                Number(args, "--gamma", 1e-4),
                Number(args, "--power", 1),
                Number(args, "--stop", 0.75),
                Number(args, "--decay", 5e-4));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total time {sw.Elapsed.TotalMinutes:F1} min; {(ok ? "every goal met" : "some goal NOT met (see above)")}"));
        return ok ? 0 : 1;
    }

    private static string Text(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static double Number(string[] args, string name, double fallback) => double.Parse(Text(args, name, fallback.ToString("R", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    /// <summary>"fc1=3,fc2=2.5,fc3=1" (or full parameter names) → c per LeNet-300-100 weight.</summary>
    private static Dictionary<string, double> ParseC(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=');
            if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"--c: '{part}'; expected LAYER=NUMBER, e.g. fc1=3");
            }

            result[kv[0].EndsWith(".weight", StringComparison.Ordinal) ? kv[0] : kv[0] + ".weight"] = value;
        }

        foreach (var w in new[] { "fc1.weight", "fc2.weight", "fc3.weight" }.Where(w => !result.ContainsKey(w)))
        {
            throw new ArgumentException($"--c: no value for {w}; expected fc1=C,fc2=C,fc3=C");
        }

        return result;
    }
}
