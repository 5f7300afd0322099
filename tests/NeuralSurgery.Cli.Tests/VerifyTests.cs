using System;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;

namespace NeuralSurgery.Cli.Tests;

public sealed class VerifyTests : IDisposable
{
    private readonly CliHarness _h = new();

    public VerifyTests()
    {
        (V1, S1, var g1) = _h.Five(1);
        (V2, S2, var g2) = _h.Five(2);
        Outputs = g2.Outputs.Count;
        var plan = _h.PathOf("plan.json");
        CliHarness.AssertOk(CliHarness.Run("plan", "--from", V1, "--to", V2, "--from-schema", S1, "--to-schema", S2, "--out", plan, "--json"));
        Old = _h.PathOf("v1.safetensors");
        ReferenceModel.Initialize(g1, 5).ToStateDict().Save(Old);
        New = _h.PathOf("v2.safetensors");
        CliHarness.AssertOk(CliHarness.Run("apply", "--plan", plan, "--in", Old, "--out", New, "--seed", "6", "--json"));
    }

    private string V1 { get; }

    private string S1 { get; }

    private string V2 { get; }

    private string S2 { get; }

    private int Outputs { get; }

    private string Old { get; }

    private string New { get; }

    public void Dispose() => _h.Dispose();

    private string[] Args(string oldCheckpoint, string newCheckpoint) =>
        ["verify", "--old-model", V1, "--old-schema", S1, "--old-checkpoint", oldCheckpoint, "--new-model", V2, "--new-schema", S2, "--new-checkpoint", newCheckpoint];

    [Fact]
    public void A_plan_applied_with_apply_verifies_within_1e_5_on_1000_states()
    {
        var result = CliHarness.Run([.. Args(Old, New), "--samples", "1000", "--tolerance", "1e-5"]);
        CliHarness.AssertOk(result);
        Assert.True(result.Out.Contains("on 1,000 random states, tolerance 1E-05", StringComparison.Ordinal), result.ToString());
        Assert.True(result.Out.Contains("| action_type ", StringComparison.Ordinal), result.ToString());
        Assert.DoesNotContain("FAIL", result.Out);
        Assert.True(result.Out.Contains($"ok: {Outputs} outputs within 1E-05 (max 0)", StringComparison.Ordinal), result.ToString());

        var json = CliHarness.Run([.. Args(Old, New), "--json"]);
        CliHarness.AssertOk(json);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
        var outputs = doc.RootElement.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(Outputs, outputs.Count);
        Assert.All(outputs, o => Assert.True(o.GetProperty("maxAbsDiff").GetDouble() <= 1e-5));
    }

    [Fact]
    public void A_perturbed_weight_fails_with_exit_3_naming_the_output()
    {
        var dict = StateDict.Load(New);
        dict.Float32("heads.action_type.bias")[0] += 0.5f;
        var broken = _h.PathOf("broken.safetensors");
        dict.Save(broken);
        var result = CliHarness.Run(Args(Old, broken));
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Empty(result.Err);
        Assert.True(result.Out.Contains("FAILED: action_type differs by more than 1E-05", StringComparison.Ordinal), result.ToString());
        Assert.Matches(@"\| action_type +\| +[0-9,]+ \| +0\.5 +\| FAIL", result.Out);
        Assert.True(result.Out.Contains("| move_x ", StringComparison.Ordinal), result.ToString());

        var json = CliHarness.Run([.. Args(Old, broken), "--json"]);
        Assert.Equal(3, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        var failing = doc.RootElement.GetProperty("outputs").EnumerateArray().Where(o => !o.GetProperty("pass").GetBoolean()).Select(o => o.GetProperty("name").GetString()).ToList();
        Assert.Equal(["action_type"], failing);
    }

    [Fact]
    public void A_missing_checkpoint_is_a_user_error_naming_the_file()
    {
        var missing = _h.PathOf("missing.safetensors");
        CliHarness.AssertUserError(CliHarness.Run(Args(Old, missing)), missing);
    }

    [Fact]
    public void The_old_checkpoint_given_for_the_new_graph_is_a_user_error_naming_the_file_and_tensor()
    {
        var result = CliHarness.Run(Args(Old, Old));
        CliHarness.AssertUserError(result, Old, "--new-model", "'hero_encoder.weight'", "[8, 22]");
    }

    [Fact]
    public void A_checkpoint_missing_a_tensor_is_a_user_error_naming_it()
    {
        var dict = StateDict.Load(New);
        dict.Remove("core.bias");
        var partial = _h.PathOf("partial.safetensors");
        dict.Save(partial);
        CliHarness.AssertUserError(CliHarness.Run(Args(Old, partial)), partial, "'core.bias'", "missing");
    }

    [Fact]
    public void A_bad_tolerance_is_a_user_error()
    {
        CliHarness.AssertUserError(CliHarness.Run([.. Args(Old, New), "--tolerance", "-1"]), "--tolerance");
    }

    [Fact]
    public void A_head_that_gained_an_action_is_compared_on_the_old_actions()
    {
        const string Model = """
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            public sealed class Policy : Module<Tensor, Tensor>
            {
                private readonly Linear encoder = Linear(3, 8);
                private readonly Linear head = Linear(8, ACTIONS);

                public Policy() : base(nameof(Policy)) => RegisterComponents();

                public override Tensor forward(Tensor hero) => head.forward(functional.relu(encoder.forward(hero)));
            }
            """;
        const string Schema = """
            model: Policy
            version: VERSION
            inputs:
              hero:
                features: [health, mana, level]
            outputs:
              action:
                features: [ACTIONLIST]
            """;
        var v1 = _h.Write("head.v1.cs", Model.Replace("ACTIONS", "2", StringComparison.Ordinal));
        var s1 = _h.Write("head.v1.features.yaml", Schema.Replace("VERSION", "1", StringComparison.Ordinal).Replace("ACTIONLIST", "move, attack", StringComparison.Ordinal));
        var v2 = _h.Write("head.v2.cs", Model.Replace("ACTIONS", "3", StringComparison.Ordinal));
        var s2 = _h.Write("head.v2.features.yaml", Schema.Replace("VERSION", "2", StringComparison.Ordinal).Replace("ACTIONLIST", "cast, move, attack", StringComparison.Ordinal));
        var torchSharp = typeof(global::TorchSharp.torch).Assembly.Location;
        var plan = _h.PathOf("head.plan.json");
        CliHarness.AssertOk(CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--torchsharp", torchSharp, "--out", plan));
        var graph = CliHarness.Run("graph", v1, "--schema", s1, "--torchsharp", torchSharp, "--json");
        CliHarness.AssertOk(graph);
        var old = _h.PathOf("head.v1.safetensors");
        ReferenceModel.Initialize(NeuralSurgery.Json.GraphJson.Read(graph.Out), 3).ToStateDict().Save(old);
        var @new = _h.PathOf("head.v2.safetensors");
        CliHarness.AssertOk(CliHarness.Run("apply", "--plan", plan, "--in", old, "--out", @new));

        // The new action sits first, so the old actions are compared by name (move and attack), not by position:
        // 1,000 states × 2 old actions.
        var result = CliHarness.Run(
            "verify", "--old-model", v1, "--old-schema", s1, "--old-checkpoint", old, "--new-model", v2, "--new-schema", s2, "--new-checkpoint", @new, "--torchsharp", torchSharp);
        CliHarness.AssertOk(result);
        Assert.DoesNotContain("not compared", result.Out, StringComparison.Ordinal);
        Assert.True(result.Out.Contains("| action |    2,000 |            0 | pass   |", StringComparison.Ordinal), result.ToString());
    }
}
