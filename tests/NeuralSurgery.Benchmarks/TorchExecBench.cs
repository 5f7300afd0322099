using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Oracle;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The PyTorch CPU column of <c>exec</c> (issue 5: "side by side in one run"): tests/oracle/torch_bench.py times
/// torch.mm of the same size and one training step of the same graph with the same weights and inputs, with
/// torch.set_num_threads equal to our thread count; the table prints both and the ratio (goal: within 2×).
/// </summary>
internal static class TorchExecBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Compare(int size, int runs, double oursMatMulMs, ModelGraph graph, StateDict weights, IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyList<string> heads, double lr, (double F, double B, double A, double Step) ours)
    {
        var python = TorchOracle.FindPython();
        if (python is null)
        {
            Console.WriteLine("PyTorch column skipped: no python3 can import torch (scripts/install-torch.sh installs it)");
            return;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "oracle", "torch_bench.py");
        var dir = Path.Combine(Path.GetTempPath(), "ns-torch-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "graph.json"), GraphJson.Write(graph));
            weights.Save(Path.Combine(dir, "weights.safetensors"), CheckpointFormat.Safetensors);
            var sd = new StateDict();
            foreach (var input in graph.Inputs)
            {
                var t = inputs[input.Name];
                var shape = t.ShapeArray().Select(d => (long)d).ToArray();
                if (input.Role == InputRole.Categorical)
                {
                    sd.Add(input.Name, t.Data.Select(v => (long)v).ToArray(), shape);
                }
                else
                {
                    sd.Add(input.Name, (float[])t.Data.Clone(), shape);
                }
            }

            sd.Save(Path.Combine(dir, "inputs.safetensors"), CheckpointFormat.Safetensors);
            var request = new JsonObject
            {
                ["threads"] = Environment.ProcessorCount,
                ["matmul"] = size,
                ["runs"] = runs,
                ["graph"] = Path.Combine(dir, "graph.json"),
                ["weights"] = Path.Combine(dir, "weights.safetensors"),
                ["inputs"] = Path.Combine(dir, "inputs.safetensors"),
                ["heads"] = new JsonArray(heads.Select(h => (JsonNode)h!).ToArray()),
                ["lr"] = lr,
            };
            File.WriteAllText(Path.Combine(dir, "request.json"), request.ToJsonString());
            using var p = Process.Start(new ProcessStartInfo(python, [script, Path.Combine(dir, "request.json")]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                Console.WriteLine($"PyTorch column failed (exit {p.ExitCode}): {stderr.Result.Trim()}");
                return;
            }

            using var doc = JsonDocument.Parse(stdout);
            var r = doc.RootElement;
            double T(string name) => r.GetProperty(name).GetDouble();
            Console.WriteLine($"side by side with PyTorch {r.GetProperty("torch").GetString()} CPU ({r.GetProperty("threads").GetInt32()} threads, ours {Environment.ProcessorCount}), medians; ratio = ours / PyTorch (goal ≤ 2)");
            Console.WriteLine($"{"work",-44} {"ours ms",9} {"torch ms",9} {"ratio",7}");
            void Row(string name, double a, double b) => Console.WriteLine($"{name,-44} {a.ToString("F1", Inv),9} {b.ToString("F1", Inv),9} {(a / b).ToString("F2", Inv),6}x");
            Row($"matmul {size}x{size}x{size} float32", oursMatMulMs, T("matmul_ms"));
            Row("training step: forward + loss", ours.F, T("forward_ms"));
            Row("training step: backward", ours.B, T("backward_ms"));
            Row("training step: Adam", ours.A, T("adam_ms"));
            Row("training step (all three)", ours.Step, T("step_ms"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
