using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Kernels;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.Tests.Support;
using Tensor = NeuralSurgery.Runtime.Reference.Tensor;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The <c>exec</c> command: the reference executor's kernels (DESIGN.md section 10). A 1024×1024×1024 matrix
/// multiply by the blocked SIMD kernel against a TensorPrimitives.Dot baseline (B transposed once, one dot per
/// element) and a naive triple loop, in the same run; then one training step (forward, backward, Adam) of the
/// OpenAI-Five-shaped policy at batch 64, with its parts timed apart; then both workloads on TorchSharp CPU in the
/// same process, the baseline (<see cref="TorchExecBench"/>).
/// </summary>
internal static class ExecBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<string> args)
    {
        var size = 1024;
        var runs = 10;
        var config = "Medium";
        var units = 16;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--size" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var s) && s > 0:
                    size = s;
                    i++;
                    break;
                case "--runs" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var n) && n > 0:
                    runs = n;
                    i++;
                    break;
                case "--config" when i + 1 < args.Count && OpenAiFiveGraphs.Configs.Any(c => string.Equals(c.Name, args[i + 1], StringComparison.OrdinalIgnoreCase)):
                    config = OpenAiFiveGraphs.Configs.First(c => string.Equals(c.Name, args[i + 1], StringComparison.OrdinalIgnoreCase)).Name;
                    i++;
                    break;
                case "--units" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var u) && u > 0:
                    units = u;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"exec: unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine("usage: exec [--size N (matmul, default 1024)] [--runs N (default 10)] [--config small|medium|large (default medium)] [--units N (allies and enemies, default 16)]");
                    return 2;
            }
        }

        Console.WriteLine("NeuralSurgery exec bench: reference executor kernels against TorchSharp CPU, same process, same run");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}, Vector256 {(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "accelerated" : "software")}, FMA {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
        Console.WriteLine();
        var ok = MatMulTable(size, runs);
        Console.WriteLine();
        var step = TrainingStepTable(config, units, runs);
        Console.WriteLine();
        var ours = new ExecTimes(_matMul.Ms, step.Ms.F, step.Ms.B, step.Ms.A, step.Ms.Step);
        var torchAgrees = TorchExecBench.Compare(size, runs, _matMul.A, _matMul.B, _matMul.C, ours, step.Graph, step.Weights, step.Inputs, step.Heads, 1e-4);
        return ok && torchAgrees ? 0 : 1;
    }

    private static bool MatMulTable(int n, int runs)
    {
        var rng = new Random(1);
        var a = RandomArray(rng, n * n);
        var b = RandomArray(rng, n * n);
        var c = new float[n * n];
        var flops = 2.0 * n * n * n;

        Measure.WarmUp(() => MatMul.Multiply(a, b, c, n, n, n), 3, 500);
        var (ours, oursRuns) = Measure.Repeat(() => MatMul.Multiply(a, b, c, n, n, n), runs, 2000, 100);
        var (oursNt, _) = Measure.Repeat(() => MatMul.Multiply(a, b, c, n, n, n, transposeB: true), runs, 2000, 100);
        var (oursTn, _) = Measure.Repeat(() => MatMul.Multiply(a, b, c, n, n, n, transposeA: true), runs, 2000, 100);

        var dot = new float[n * n];
        var (dotMs, dotRuns) = Measure.Repeat(() => DotBaseline(a, b, dot, n), 2, 3000, 5);
        var naive = new float[n * n];
        var naiveMs = Measure.Once(() => Naive(a, b, naive, n));

        // c holds Aᵀ·B from the last timed variant; recompute A·B for the agreement check.
        MatMul.Multiply(a, b, c, n, n, n);
        var worst = 0.0;
        for (var i = 0; i < c.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(c[i] - naive[i]) / (1 + Math.Abs(naive[i])));
        }

        Console.WriteLine($"matrix multiply {n}x{n}x{n} (float32, {flops / 1e9:F2} GFLOP), medians [runs]");
        Console.WriteLine($"{"kernel",-44} {"ms",10} {"GFLOP/s",9} {"vs ours",8}");
        Row("MatMul.Multiply  C = A·B", ours, oursRuns, flops, ours);
        Row("MatMul.Multiply  C = A·Bᵀ", oursNt, runs, flops, ours);
        Row("MatMul.Multiply  C = Aᵀ·B", oursTn, runs, flops, ours);
        Row("TensorPrimitives.Dot per element (Bᵀ)", dotMs, dotRuns, flops, ours);
        Row("naive i-j-k triple loop", naiveMs, 1, flops, ours);
        _matMul = (ours, a, b, c);
        var agree = worst < 1e-4;
        Console.WriteLine($"agreement with the naive loop: max relative difference {worst:E2} ({(agree ? "agree" : "DIFFER")})");
        return agree;
    }

    private static void Row(string name, double ms, int runs, double flops, double reference) =>
        Console.WriteLine($"{name,-44} {ms.ToString("F1", Inv),7} [{runs}] {(flops / (ms / 1000) / 1e9).ToString("F1", Inv),9} {(ms / reference).ToString("F2", Inv),7}x");

    /// <summary>The C = A·B median and its operands and product, for the TorchSharp comparison.</summary>
    private static (double Ms, float[] A, float[] B, float[] C) _matMul;

    private static (ModelGraph Graph, StateDict Weights, Dictionary<string, Tensor> Inputs, List<string> Heads, (double F, double B, double A, double Step) Ms) TrainingStepTable(string configName, int units, int runs)
    {
        var config = OpenAiFiveGraphs.Configs.First(c => c.Name == configName).Config;
        var (graph, _) = OpenAiFiveGraphs.Build(config, 2);
        const int batch = 64;
        var model = ReferenceModel.Initialize(graph, 1);
        var initial = model.ToStateDict();
        model.Training = true;
        var rng = new Random(2);
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var shape = input.Shape.Evaluate(s => s == Dim.BatchSymbol ? batch : units).Select(d => (int)d).ToArray();
            var t = Tensor.Zeros(shape);
            var vocab = input.Name == "hero_id" ? config.HeroVocabulary : config.UnitTypes;
            for (var i = 0; i < t.Length; i++)
            {
                t.Data[i] = input.Role == InputRole.Categorical ? rng.Next(vocab) : (float)((rng.NextDouble() * 2) - 1);
            }

            inputs[input.Name] = t;
        }

        var targets = graph.Outputs.Where(o => o.SchemaOutput is not null).ToDictionary(o => o.Name, o => o.Name);
        var adam = new Adam(model.Parameters, 1e-4);
        LossResult Loss(IReadOnlyDictionary<string, Tensor> outputs)
        {
            // Cross-entropy on every head with class 0 as target: a stand-in for the policy loss.
            double total = 0;
            var grads = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var head in targets.Keys)
            {
                var l = Losses.CrossEntropy(outputs[head], Tensor.Zeros(batch));
                total += l.Value;
                grads[head] = l.Gradient;
            }

            return new LossResult(total, grads);
        }

        double forwardMs = 0, backwardMs = 0, adamMs = 0;
        void Step()
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var pass = model.Forward(inputs);
            var loss = Loss(pass.Outputs);
            forwardMs = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var grads = model.Backward(pass, loss.OutputGradients);
            backwardMs = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            adam.Step(grads.Parameters);
            adamMs = sw.Elapsed.TotalMilliseconds;
        }

        Measure.WarmUp(Step, 3, 1000);
        var parts = new List<(double F, double B, double A)>();
        var (stepMs, stepRuns) = Measure.Repeat(
            () =>
            {
                Step();
                parts.Add((forwardMs, backwardMs, adamMs));
            },
            runs,
            3000,
            200);

        Console.WriteLine($"one training step of the OpenAI-Five-shaped policy ({configName}, v2: {graph.ParameterElementCount:N0} parameters, LSTM {config.Lstm}), batch {batch}, {units} allies and {units} enemies; Adam, cross-entropy on {targets.Count} heads");
        Console.WriteLine($"{"part",-44} {"ms (median)",12}");
        Console.WriteLine($"{"forward + loss",-44} {Measure.Median(parts.Select(p => p.F).ToList()).ToString("F1", Inv),12}");
        Console.WriteLine($"{"backward",-44} {Measure.Median(parts.Select(p => p.B).ToList()).ToString("F1", Inv),12}");
        Console.WriteLine($"{"Adam step",-44} {Measure.Median(parts.Select(p => p.A).ToList()).ToString("F1", Inv),12}");
        Console.WriteLine($"{"training step (all three)",-44} {stepMs.ToString("F1", Inv),12} [{stepRuns}]");
        var ms = (Measure.Median(parts.Select(p => p.F).ToList()), Measure.Median(parts.Select(p => p.B).ToList()), Measure.Median(parts.Select(p => p.A).ToList()), stepMs);
        return (graph, initial, inputs, targets.Keys.ToList(), ms);
    }

    /// <summary>Bᵀ once, then one vectorised dot product per output element.</summary>
    private static void DotBaseline(float[] a, float[] b, float[] c, int n)
    {
        var bt = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                bt[(j * n) + i] = b[(i * n) + j];
            }
        }

        System.Threading.Tasks.Parallel.For(0, n, i =>
        {
            var row = a.AsSpan(i * n, n);
            for (var j = 0; j < n; j++)
            {
                c[(i * n) + j] = TensorPrimitives.Dot(row, bt.AsSpan(j * n, n));
            }
        });
    }

    private static void Naive(float[] a, float[] b, float[] c, int n)
    {
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var sum = 0f;
                for (var k = 0; k < n; k++)
                {
                    sum += a[(i * n) + k] * b[(k * n) + j];
                }

                c[(i * n) + j] = sum;
            }
        }
    }

    private static float[] RandomArray(Random rng, int count)
    {
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return data;
    }
}
