using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Oracle;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Tests.Support;
using Xunit.Abstractions;

namespace NeuralSurgery.Oracle.Tests;

/// <summary>
/// The C# reference executor against PyTorch (issue 5, "checks against PyTorch"): the same graph JSON, weights and
/// inputs (safetensors) go to <c>ReferenceModel</c> and to tests/oracle/torch_oracle.py, which builds the model with
/// torch.nn; forward outputs, every parameter and input gradient (same random output seeds) and the state_dict
/// after one Adam step (same hyper-parameters, weight decay included) must agree within 1e-5 relative
/// (<see cref="ExecutorComparison"/> explains the mixed criterion). Each graph runs twice: eval mode (dropout is the
/// identity, BatchNorm uses its randomised running statistics) and train mode (batch statistics and running-stat
/// updates; dropout with our mask handed to torch explicitly, since the two cannot share a random stream).
/// PyTorch is the oracle: a disagreement is our bug until shown otherwise.
/// </summary>
public sealed class ExecutorOracleTests(ITestOutputHelper output)
{
    private const int RandomGraphCount = 30;

    private void RunAndAssert(IReadOnlyList<ExecutorRun> runs)
    {
        var watch = Stopwatch.StartNew();
        var results = TorchOracle.Run(runs.Select(r => r.Request()).ToList(), TimeSpan.FromMinutes(3));
        var oracleSeconds = watch.Elapsed.TotalSeconds;
        var failures = new List<string>();
        var tensors = 0;
        for (var i = 0; i < runs.Count; i++)
        {
            if (!results[i].Ok)
            {
                failures.Add($"{runs[i].Name} ({(runs[i].Training ? "train" : "eval")}): the oracle refused it: {results[i].Error}");
                continue;
            }

            var bad = ExecutorComparison.Compare(runs[i], results[i].RequireTensors(), out var compared);
            tensors += compared;
            if (bad.Count > 0)
            {
                failures.Add(ExecutorComparison.Describe(runs[i], bad));
            }
        }

        output.WriteLine($"{runs.Count} runs, {tensors} tensors compared; oracle {oracleSeconds:F1} s");
        Assert.True(failures.Count == 0, $"{failures.Count} of {runs.Count} runs disagree with PyTorch:\n" + string.Join("\n", failures) + "\n" + TorchOracle.LastStderr);
    }

    private static IEnumerable<ExecutorRun> BothModes(string name, ModelGraph graph, int seed)
    {
        yield return ExecutorComparison.Run(name, graph, training: false, seed);
        yield return ExecutorComparison.Run(name, graph, training: true, seed + 1);
    }

    [Fact]
    public void Every_op_and_layer_kind_matches_PyTorch_in_eval_and_train_mode()
    {
        var cases = ExecutorComparison.OpCases();
        var runs = cases.SelectMany((c, i) => BothModes(c.Name, c.Graph, 100 + (7 * i))).ToList();

        // Coverage: every op kind and layer kind of the IR appears in the list.
        // Modules are looked up in their own case: several cases name theirs "conv" or "bn".
        var ops = cases.SelectMany(c => c.Graph.Nodes.Select(n => n.Op is CallOp call ? "call " + c.Graph.FindModule(call.Module)!.Spec.Kind : n.Op.GetType().Name)).ToHashSet();
        output.WriteLine("ops and layers covered: " + string.Join(", ", ops.Order()));
        foreach (var layer in new[] { "Linear", "Embedding", "EmbeddingBag", "Conv1d", "Conv2d", "LSTM", "GRU", "LayerNorm", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "AttentionProjection", "ConvTranspose1d", "ConvTranspose2d", "Tensor" })
        {
            Assert.Contains("call " + layer, ops);
        }

        foreach (var op in typeof(NodeOp).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(NodeOp)) && !t.IsAbstract && t != typeof(CallOp)))
        {
            Assert.Contains(op.Name, ops);
        }

        RunAndAssert(runs);
    }

    [Fact]
    public void The_OpenAI_Five_shaped_graphs_match_PyTorch()
    {
        var runs = new List<ExecutorRun>();
        foreach (var version in new[] { 1, 2 })
        {
            var (g, _) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, version);
            runs.AddRange(BothModes("OpenAI Five small v" + version, g, 11 * version));
        }

        var (gn, _) = OpenAiFiveGraphs.BuildWithNewGroup(OpenAiFiveGraphs.Small);
        runs.AddRange(BothModes("OpenAI Five small, new group", gn, 5));
        RunAndAssert(runs);
    }

    [Fact]
    public void Random_graphs_match_PyTorch()
    {
        var runs = Enumerable.Range(0, RandomGraphCount).SelectMany(seed => BothModes("random seed " + seed, RandomGraphs.Generate(seed), 1000 + seed)).ToList();
        RunAndAssert(runs);
    }

    /// <summary>
    /// The comparisons can fail: a change of a few tolerances on our side is caught in outputs, gradients and
    /// the Adam step, and so is a change on the oracle's side (another learning rate, one weight moved).
    /// </summary>
    [Fact]
    public void The_comparison_fails_when_either_side_is_perturbed()
    {
        var cases = ExecutorComparison.OpCases().ToDictionary(c => c.Name, c => c.Graph);
        var lstm = ExecutorComparison.Run("lstm_two_layers_bidirectional", cases["lstm_two_layers_bidirectional"], training: false, 3);
        var bn = ExecutorComparison.Run("batch_norm", cases["batch_norm"], training: true, 4);
        var movedWeights = StateDict.From(lstm.Weights);
        movedWeights.Float32("lstm.weight_hh_l1_reverse")[3] += 1e-3f;
        var requests = new List<OracleRequest>
        {
            lstm.Request(),
            bn.Request(),
            lstm.Request(lstm.Adam with { Lr = lstm.Adam.Lr * 1.01 }),
            new(lstm.Graph, "adam_step") { Weights = movedWeights, Inputs = lstm.OracleInputs, Options = lstm.Request().Options },
        };
        var results = TorchOracle.Run(requests, TimeSpan.FromMinutes(2));
        Assert.All(results, r => Assert.True(r.Ok, r.Error));
        Assert.Empty(ExecutorComparison.Compare(lstm, results[0].RequireTensors(), out _));
        Assert.Empty(ExecutorComparison.Compare(bn, results[1].RequireTensors(), out _));

        // Our side: one element moved by ten tolerances in each kind of tensor is reported, and nothing else.
        void Perturbed(ExecutorRun run, StateDict torch, Action bump, Action restore, string expected)
        {
            bump();
            var bad = ExecutorComparison.Compare(run, torch, out _);
            restore();
            Assert.True(bad.Count == 1 && bad[0].Tensor == expected && bad[0].Failing == 1, $"expected only '{expected}' to fail; got {ExecutorComparison.Describe(run, bad)}");
        }

        void Bump(float[] data, int i, double by) => data[i] += (float)by;
        var t0 = results[0].RequireTensors();
        var y = lstm.Outputs["y"];
        Perturbed(lstm, t0, () => Bump(y, 5, 10 * Tol(y)), () => Bump(y, 5, -10 * Tol(y)), "output y");
        var g = lstm.ParameterGradients["lstm.weight_ih_l0"];
        Perturbed(lstm, t0, () => Bump(g, 7, 10 * Tol(g)), () => Bump(g, 7, -10 * Tol(g)), "gradient lstm.weight_ih_l0");
        var lstmAfter = lstm.AfterAdam!;
        var a = lstmAfter.Float32("lstm.bias_hh_l1").ToArray();
        Perturbed(
            lstm,
            t0,
            () => lstmAfter.Float32("lstm.bias_hh_l1")[2] += (float)(10 * Tol(a)),
            () => lstmAfter.Float32("lstm.bias_hh_l1")[2] = a[2],
            "after Adam lstm.bias_hh_l1");
        var t1 = results[1].RequireTensors();
        var bnAfter = bn.AfterAdam!;
        var mean = bnAfter.Float32("bn.running_mean").ToArray();
        Perturbed(
            bn,
            t1,
            () => bnAfter.Float32("bn.running_mean")[1] += (float)(10 * Tol(mean)),
            () => bnAfter.Float32("bn.running_mean")[1] = mean[1],
            "after Adam bn.running_mean");

        // The oracle's side: a 1 % larger learning rate moves every stepped weight; one weight moved by 1e-3
        // changes the outputs.
        var lr = ExecutorComparison.Compare(lstm, results[2].RequireTensors(), out _);
        Assert.Contains(lr, d => d.Tensor.StartsWith("after Adam lstm.weight", StringComparison.Ordinal));
        Assert.DoesNotContain(lr, d => d.Tensor.StartsWith("output", StringComparison.Ordinal) || d.Tensor.StartsWith("gradient", StringComparison.Ordinal));
        var moved = ExecutorComparison.Compare(lstm, results[3].RequireTensors(), out _);
        Assert.Contains(moved, d => d.Tensor == "output y");
        Assert.Contains(moved, d => d.Tensor == "gradient lstm.weight_ih_l0");
    }

    private static double Tol(float[] data) => (ExecutorComparison.RelativeTolerance * data.Max(v => Math.Abs((double)v))) + ExecutorComparison.Floor;
}
