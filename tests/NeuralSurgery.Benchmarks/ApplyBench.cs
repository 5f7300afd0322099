using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Plan executor throughput against File.Copy of the same checkpoint on the same disk, in the same run, and peak
/// working set against the largest tensor (issue 4: at least 0.7 of copy throughput, peak under twice the
/// largest tensor plus 64 MiB).
/// </summary>
internal static class ApplyBench
{
    public static int Run(string[] args)
    {
        var dir = Arg(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "ns-apply-bench");
        var runs = int.Parse(Arg(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        Directory.CreateDirectory(dir);
        try
        {
            // The Large policy with a wider LSTM: about 1 GiB of float32, the size issue 4 names.
            var c = OpenAiFiveGraphs.Large with { Lstm = 5632 };
            var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
            var (g2, s2) = OpenAiFiveGraphs.Build(c, 2);
            var (g3, s3) = OpenAiFiveGraphs.Build(c with { Lstm = c.Lstm + 8 }, 1);
            var v1 = ModelSide.Trace(g1, s1);
            var scenarios = new (string Name, SurgeryPlan Plan)[]
            {
                ("v1 -> v2 (+12 hero features)", SurgeryDiffer.Diff(v1, ModelSide.Trace(g2, s2))),
                ($"LSTM {c.Lstm} -> {c.Lstm + 8} (every LSTM tensor gathered)", SurgeryDiffer.Diff(v1, ModelSide.Trace(g3, s3))),
            };

            var source = Path.Combine(dir, "v1.dat");
            Console.Error.WriteLine($".. writing a {g1.ParameterElementCount:N0}-parameter float32 checkpoint to {source}");
            WriteRandomCheckpoint(g1, source);
            var size = new FileInfo(source).Length;
            Console.WriteLine("NeuralSurgery apply bench: PlanExecutor.Apply against File.Copy of the same checkpoint, same disk, same run");
            Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}; checkpoint {source} ({size / (1024.0 * 1024 * 1024):F2} GiB, TorchSharp format, page cache warm for both)");
            Console.WriteLine();
            Console.WriteLine($"{"scenario",-48} {"copy s",8} {"copy+fsync s",13} {"apply s",8} {"vs copy",8} {"vs copy+fsync",14} {"peak MiB",9} {"largest MiB",12} {"budget MiB",11}");

            File.Copy(source, Path.Combine(dir, "warm.dat"), overwrite: true);
            File.Delete(Path.Combine(dir, "warm.dat"));
            foreach (var (name, plan) in scenarios)
            {
                var copyTimes = new List<double>();
                var syncedTimes = new List<double>();
                var applyTimes = new List<double>();
                long peak = 0;
                for (var r = 0; r < runs; r++)
                {
                    var copy = Path.Combine(dir, "copy.dat");
                    var sw = Stopwatch.StartNew();
                    File.Copy(source, copy, overwrite: true);
                    copyTimes.Add(sw.Elapsed.TotalSeconds);
                    File.Delete(copy);

                    // The executor flushes its output to disk before renaming it into place; so does this baseline.
                    sw.Restart();
                    File.Copy(source, copy, overwrite: true);
                    using (var synced = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
                    {
                        synced.Flush(flushToDisk: true);
                    }

                    syncedTimes.Add(sw.Elapsed.TotalSeconds);
                    File.Delete(copy);

                    var target = Path.Combine(dir, "target.dat");
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    var baseline = Process.GetCurrentProcess().WorkingSet64;
                    using var sampler = new PeakSampler();
                    sw.Restart();
                    PlanExecutor.Apply(plan, source, target, new ApplyOptions { Seed = 1, Overwrite = true });
                    applyTimes.Add(sw.Elapsed.TotalSeconds);
                    peak = Math.Max(peak, sampler.Stop() - baseline);
                    File.Delete(target);
                    Console.Error.WriteLine($".. {name}: run {r + 1}: copy {copyTimes[^1]:F2} s, apply {applyTimes[^1]:F2} s");
                }

                var largest = plan.Tensors.Max(t => t.TotalElements) * 4;
                var budget = (2 * largest) + (64L << 20);
                var ratio = Median(copyTimes) / Median(applyTimes);
                var syncedRatio = Median(syncedTimes) / Median(applyTimes);
                Console.WriteLine($"{name,-48} {Median(copyTimes),8:F2} {Median(syncedTimes),13:F2} {Median(applyTimes),8:F2} {ratio,7:F2}x {syncedRatio,13:F2}x {peak / 1048576.0,9:F0} {largest / 1048576.0,12:F0} {budget / 1048576.0,11:F0}");
                Console.WriteLine($"  goals: throughput >= 0.7 of copy: {(ratio >= 0.7 ? "met" : "MISSED")} (of copy+fsync: {(syncedRatio >= 0.7 ? "met" : "MISSED")}); peak working set growth < 2 x largest + 64 MiB: {(peak < budget ? "met" : "MISSED")}");
            }

            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void WriteRandomCheckpoint(ModelGraph graph, string path)
    {
        var layout = graph.Parameters.Select(p => TensorInfo.Create(p.Name, DTypes.FromIrName(p.Declaration.DType), p.Shape.Dims.Select(d => d.Value).ToArray())).ToList();
        var block = new byte[1 << 20];
        var values = new float[block.Length / 4];
        var rng = new Random(42);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        Buffer.BlockCopy(values, 0, block, 0, block.Length);
        using var writer = CheckpointWriter.Create(path, CheckpointFormat.TorchSharp, layout, overwrite: true);
        foreach (var t in layout)
        {
            writer.BeginTensor(t.Name);
            for (long done = 0; done < t.ByteLength; done += block.Length)
            {
                writer.Write(block.AsSpan(0, (int)Math.Min(block.Length, t.ByteLength - done)));
            }

            writer.EndTensor();
        }

        writer.Commit();
    }

    private static double Median(List<double> xs) => xs.OrderBy(x => x).ElementAt(xs.Count / 2);

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Samples the process working set every 5 ms until stopped; returns the largest sample.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public PeakSampler()
        {
            _thread = new Thread(() =>
            {
                using var process = Process.GetCurrentProcess();
                while (!_stop)
                {
                    process.Refresh();
                    _peak = Math.Max(_peak, process.WorkingSet64);
                    Thread.Sleep(5);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Stop()
        {
            _stop = true;
            _thread.Join();
            return _peak;
        }

        public void Dispose() => Stop();
    }
}
