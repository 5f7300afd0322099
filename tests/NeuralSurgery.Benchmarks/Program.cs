using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using NeuralSurgery.Benchmarks;
using NeuralSurgery.Benchmarks.Repro;

// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- trace [options]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- apply [--dir FOLDER] [--runs N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- table3 [--config small|medium] [--seed N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- exec [--size N] [--runs N] [--config small|medium|large] [--units N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- tuning [--seed N] [--params N] [--steps K_EVERY] [--skip-table]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- generator [--runs N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- torchsharp [--params N] [--runs N] [--steps K_EVERY]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- saliency [--batch N] [--runs N] [--hidden N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- grow-repro [--seed N] [--steps N]
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- prune-repro [--paper 002|003|all] [--epochs N] [--seed N] [--data DIR] ...
// dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- bdn [BenchmarkDotNet arguments, e.g. --filter *]
var command = args.Length > 0 ? args[0] : string.Empty;
var rest = args.Skip(1).ToArray();
switch (command)
{
    case "trace":
        return TraceBench.Run(rest);
    case "apply":
        return ApplyBench.Run(rest);
    case "table3":
        return Table3Bench.Run(rest);
    case "exec":
        return ExecBench.Run(rest);
    case "tuning":
        return TuningBench.Run(rest);
    case "generator":
        return GeneratorBench.Run(rest);
    case "torchsharp":
        return TorchRuntimeBench.Run(rest);
    case "saliency":
        return SaliencyBench.Run(rest);
    case "grow-repro":
        return GrowBench.Run(rest);
    case "prune-repro":
        return PruneReproBench.Run(rest);
    case "bdn":
        // Artifacts (logs, reports) go next to the binaries unless --artifacts says otherwise, not into the working directory.
        var config = DefaultConfig.Instance.WithArtifactsPath(Path.Combine(AppContext.BaseDirectory, "BenchmarkDotNet.Artifacts"));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(TracerBenchmarks).Assembly).Run(rest, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    default:
        Console.Error.WriteLine("usage: NeuralSurgery.Benchmarks trace [--reference-limit SECONDS] [--runs N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks apply [--dir FOLDER] [--runs N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks table3 [--config small|medium] [--seed N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks exec [--size N] [--runs N] [--config small|medium|large] [--units N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks tuning [--seed N] [--params N] [--steps K_EVERY] [--skip-table]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks generator [--runs N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks torchsharp [--params N] [--runs N] [--steps K_EVERY]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks saliency [--batch N] [--runs N] [--hidden N]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks grow-repro [--seed N] [--steps N] [--every K] [--epsilon E] [--delta D]");
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks " + PruneReproBench.Usage);
        Console.Error.WriteLine("       NeuralSurgery.Benchmarks bdn [BenchmarkDotNet arguments, e.g. --filter *]");
        return command is "" or "-h" or "--help" or "help" ? 0 : 2;
}
