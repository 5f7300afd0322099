using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace NeuralSurgery.Benchmarks;

/// <summary>Stopwatch timing with medians: the bench command's only measuring tool.</summary>
internal static class Measure
{
    /// <summary>Milliseconds of one call of <paramref name="action"/>, after a full collection so earlier garbage is not charged to it.</summary>
    public static double Once(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>
    /// Times <paramref name="action"/> at least <paramref name="minRuns"/> times and then until
    /// <paramref name="budgetMs"/> is spent (at most <paramref name="maxRuns"/>); returns the median and the run count.
    /// No collection between runs: the calls are short and their garbage is part of their cost.
    /// </summary>
    public static (double MedianMs, int Runs) Repeat(Action action, int minRuns, double budgetMs, int maxRuns)
    {
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < maxRuns && (times.Count < minRuns || total.Elapsed.TotalMilliseconds < budgetMs))
        {
            var sw = Stopwatch.StartNew();
            action();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        return (Median(times), times.Count);
    }

    /// <summary>Calls <paramref name="action"/> until both <paramref name="minRuns"/> and <paramref name="minMs"/> are reached, so tiered JIT settles.</summary>
    public static void WarmUp(Action action, int minRuns, double minMs)
    {
        var total = Stopwatch.StartNew();
        for (var i = 0; i < minRuns || total.Elapsed.TotalMilliseconds < minMs; i++)
        {
            action();
        }
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }

        var sorted = values.OrderBy(v => v).ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The integer after <paramref name="name"/> on a bench command line, or <paramref name="fallback"/>.</summary>
    public static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
