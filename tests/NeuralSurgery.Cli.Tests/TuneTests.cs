using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Cli.Tests;

public sealed class TuneTests : IDisposable
{
    private const int Samples = 64;

    private readonly CliHarness _h = new();

    public TuneTests()
    {
        // x (6 features) -> fc1 (8, ReLU) -> head (3): small enough to train in a test, deep enough that Φ
        // restricts a feature to some elements of fc1 and leaves the rest out.
        var b = new GraphBuilder("tiny");
        var x = b.FeatureInput("x", Dim.Batch, 6);
        Graph = b.Output("y", b.Linear("head", b.Relu(b.Linear("fc1", x, 8)), 3)).Build();
        GraphPath = _h.Write("tiny.graph.json", GraphJson.Write(Graph));
        Checkpoint = _h.PathOf("tiny.safetensors");
        ReferenceModel.Initialize(Graph, 3).ToStateDict().Save(Checkpoint);
        Data = WriteData("data.safetensors", width: 6);
    }

    private ModelGraph Graph { get; }

    private string GraphPath { get; }

    private string Checkpoint { get; }

    private string Data { get; }

    public void Dispose() => _h.Dispose();

    private string WriteData(string name, int width, bool withX = true, bool withTarget = true)
    {
        var rng = new Random(11);
        var dict = new StateDict();
        if (withX)
        {
            dict.Add("x", Enumerable.Range(0, Samples * width).Select(_ => (rng.NextSingle() * 2) - 1).ToArray(), Samples, width);
        }

        if (withTarget)
        {
            dict.Add("target", Enumerable.Range(0, Samples * 3).Select(_ => rng.NextSingle()).ToArray(), Samples, 3);
        }

        var path = _h.PathOf(name);
        dict.Save(path);
        return path;
    }

    private string[] Args(string output, params string[] more) =>
        ["tune", "--model", GraphPath, "--checkpoint", Checkpoint, "--data", Data, "--out", output, "--epochs", "4", "--batch", "8", "--lr", "0.01", .. more];

    private static int Differing(StateDict a, StateDict b)
    {
        var count = 0;
        foreach (var t in a.Tensors)
        {
            var x = a.Float32(t.Name);
            var y = b.Float32(t.Name);
            for (var i = 0; i < x.Length; i++)
            {
                count += BitConverter.SingleToUInt32Bits(x[i]) != BitConverter.SingleToUInt32Bits(y[i]) ? 1 : 0;
            }
        }

        return count;
    }

    [Fact]
    public void Dyn_delta_with_n_20_changes_exactly_20_elements_and_the_patch_carries_them()
    {
        var tuned = _h.PathOf("tuned.safetensors");
        var patch = _h.PathOf("tuned.nspatch");
        var result = CliHarness.Run(Args(tuned, "--method", "dyn-delta", "-n", "20", "--patch", patch, "--json"));
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        var root = doc.RootElement;
        Assert.Equal(20, root.GetProperty("changedElements").GetInt64());
        Assert.Equal(20, root.GetProperty("allowedElements").GetInt64());
        Assert.Equal(0, root.GetProperty("changedOutsideAllowed").GetInt64());
        Assert.Equal(20, root.GetProperty("patchChangedElements").GetInt64());
        Assert.True(root.GetProperty("lossAfter").GetDouble() < root.GetProperty("lossBefore").GetDouble(), result.Out);
        Assert.Equal(20, Differing(StateDict.Load(Checkpoint), StateDict.Load(tuned)));

        // The patch applies to the input checkpoint and reproduces the tuned one.
        var applied = _h.PathOf("applied.safetensors");
        CliHarness.AssertOk(CliHarness.Run("patch", "apply", "--base", Checkpoint, "--patch", patch, "--out", applied));
        Assert.Equal(0, Differing(StateDict.Load(tuned), StateDict.Load(applied)));
    }

    [Fact]
    public void Only_features_leaves_every_element_outside_the_interaction_mask_unchanged()
    {
        var tuned = _h.PathOf("tuned.safetensors");
        var result = CliHarness.Run(Args(tuned, "--method", "full", "--only-features", "x.f5"));
        CliHarness.AssertOk(result);
        Assert.True(result.Out.Contains("tune: tune epoch 4/4, 8 steps", StringComparison.Ordinal), result.ToString());
        Assert.True(result.Out.Contains("| loss before ", StringComparison.Ordinal), result.ToString());
        Assert.True(result.Out.Contains($"wrote {tuned}", StringComparison.Ordinal), result.ToString());

        var map = ModelSide.Trace(Graph, null).Map;
        var before = StateDict.Load(Checkpoint);
        var after = StateDict.Load(tuned);
        var mask = MaskSources.FromFeatures(WeightSnapshot.Of(ReferenceModel.Load(Graph, before).Parameters).EmptyMask(), map, "x", "f5");
        Assert.True(mask.Count() > 0);
        Assert.True(mask.Count() < mask.TotalElements);
        var changedInside = 0;
        foreach (var name in mask.Names)
        {
            var a = before.Float32(name);
            var b = after.Float32(name);
            for (var i = 0; i < a.Length; i++)
            {
                if (mask[name, i])
                {
                    changedInside += a[i] != b[i] ? 1 : 0;
                }
                else
                {
                    Assert.True(BitConverter.SingleToUInt32Bits(a[i]) == BitConverter.SingleToUInt32Bits(b[i]), $"{name}[{i}] moved outside the mask of x.f5");
                }
            }
        }

        Assert.True(changedInside > 0);
        var frozen = mask.TotalElements - mask.Count();
        Assert.Matches($@"\| masked elements untouched +\| +{frozen} of {frozen} \|", result.Out);
        Assert.Matches($@"\| allowed to change +\| +{mask.Count()} \|", result.Out);
    }

    [Theory]
    [InlineData("sel-rand")]
    [InlineData("sel-grad")]
    [InlineData("sel-delta")]
    [InlineData("sel-lca")]
    [InlineData("dyn-grad")]
    public void Selecting_and_dynamic_methods_change_at_most_n_elements(string method)
    {
        var tuned = _h.PathOf(method + ".safetensors");
        var result = CliHarness.Run(Args(tuned, "--method", method, "-n", "15", "--json"));
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.InRange(doc.RootElement.GetProperty("changedElements").GetInt64(), 1, 15);
        Assert.Equal(0, doc.RootElement.GetProperty("changedOutsideAllowed").GetInt64());
        Assert.InRange(Differing(StateDict.Load(Checkpoint), StateDict.Load(tuned)), 1, 15);
    }

    [Fact]
    public void Lagrange_and_sgd_run_and_need_lambda()
    {
        CliHarness.AssertUserError(CliHarness.Run(Args(_h.PathOf("l.safetensors"), "--method", "lagrange")), "--lambda");
        var result = CliHarness.Run(Args(_h.PathOf("l.safetensors"), "--method", "lagrange", "--lambda", "0.5", "--optimizer", "sgd", "--json"));
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(0.5, doc.RootElement.GetProperty("lambda").GetDouble());
    }

    [Fact]
    public void A_missing_input_tensor_is_a_user_error_naming_it_and_its_shape()
    {
        var data = WriteData("no-x.safetensors", width: 6, withX: false);
        var output = _h.PathOf("t.safetensors");
        var result = CliHarness.Run(["tune", "--model", GraphPath, "--checkpoint", Checkpoint, "--data", data, "--out", output]);
        CliHarness.AssertUserError(result, data, "tensor 'x' is missing", "[B, 6]");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_wrong_width_is_a_user_error_naming_the_tensor_and_the_expected_shape()
    {
        var data = WriteData("narrow.safetensors", width: 5);
        var output = _h.PathOf("t.safetensors");
        var result = CliHarness.Run(["tune", "--model", GraphPath, "--checkpoint", Checkpoint, "--data", data, "--out", output]);
        CliHarness.AssertUserError(result, data, "tensor 'x' has shape [64, 5]; expected [B, 6] (axis 1 must be 6)");
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));
    }

    [Fact]
    public void A_missing_target_and_a_target_of_the_wrong_shape_are_user_errors()
    {
        var noTarget = WriteData("no-target.safetensors", width: 6, withTarget: false);
        CliHarness.AssertUserError(CliHarness.Run(["tune", "--model", GraphPath, "--checkpoint", Checkpoint, "--data", noTarget, "--out", _h.PathOf("t.safetensors")]),
            noTarget, "tensor 'target' is missing", "64 of them");

        // Class indices where MSE wants [64, 3]: the loss names the shapes.
        var dict = StateDict.Load(Data);
        dict.Remove("target");
        dict.Add("target", new long[Samples], Samples);
        var wrong = _h.PathOf("labels.safetensors");
        dict.Save(wrong);
        CliHarness.AssertUserError(CliHarness.Run(["tune", "--model", GraphPath, "--checkpoint", Checkpoint, "--data", wrong, "--out", _h.PathOf("t.safetensors")]),
            wrong, "'target'", "mse");
    }

    [Fact]
    public void Bad_options_are_user_errors()
    {
        CliHarness.AssertUserError(CliHarness.Run(Args(_h.PathOf("t.safetensors"), "--method", "dyn-delta")), "-n");
        CliHarness.AssertUserError(CliHarness.Run(Args(_h.PathOf("t.safetensors"), "--only-features", "x.nope")), "x.nope", "f5");
        CliHarness.AssertUserError(CliHarness.Run(Args(_h.PathOf("t.safetensors"), "--target", "z")), "--target z", "y");
        CliHarness.AssertUserError(CliHarness.Run(Args(_h.PathOf("t.safetensors"), "--method", "sel-rand", "-n", "100000")), "n must lie in");
        var existing = _h.Write("exists.safetensors", "precious");
        CliHarness.AssertUserError(CliHarness.Run(Args(existing)), existing, "--force");
        Assert.Equal("precious", File.ReadAllText(existing));
    }

    [Fact]
    public void A_checkpoint_of_another_graph_is_a_user_error_naming_the_file_and_tensor()
    {
        var other = _h.PathOf("other.safetensors");
        var dict = StateDict.Load(Checkpoint);
        dict.Remove("head.bias");
        dict.Save(other);
        var result = CliHarness.Run(["tune", "--model", GraphPath, "--checkpoint", other, "--data", Data, "--out", _h.PathOf("t.safetensors")]);
        CliHarness.AssertUserError(result, other, "'head.bias'");
    }
}
