using System.IO;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Json;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Cli.Tests;

public sealed class PlanTests : System.IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Prints_a_row_per_tensor_the_shares_and_writes_the_plan()
    {
        var (v1, s1, _) = _h.Five(1);
        var (v2, s2, g2) = _h.Five(2);
        var planPath = _h.PathOf("plan.json");
        var result = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--out", planPath);
        CliHarness.AssertOk(result);
        Assert.StartsWith("plan: OpenAiFive v1 -> OpenAiFive v2\n", result.Out);
        foreach (var p in g2.Parameters)
        {
            Assert.Contains($"| {p.Name} ", result.Out);
        }

        // v2 appends 12 hero features: hero_encoder.weight [8, 22] copies 8 x 10 and zeroes the new columns.
        Assert.Matches(@"\| hero_encoder\.weight +\| hero_encoder\.weight +\| +80 / 176 \| +45\.45 % \| axis 1 \(input, 12 new\): zeros +\|", result.Out);
        var c = OpenAiFiveGraphs.Small;
        var copied = OpenAiFiveGraphs.ExpectedTransferredElements(c);
        Assert.Contains($"transferred: {copied:N0} of {OpenAiFiveGraphs.ParameterCount(c, 1):N0} source parameters (100.00 %); "
            + $"{copied:N0} of {OpenAiFiveGraphs.ParameterCount(c, 2):N0} target parameters", result.Out);
        Assert.Contains("dropped: nothing", result.Out);
        Assert.EndsWith($"wrote {planPath}\n", result.Out);
        var plan = PlanJson.Read(File.ReadAllText(planPath), planPath);
        Assert.Equal(copied, plan.Totals.CopiedElements);
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));
    }

    [Fact]
    public void Dropped_features_are_listed_with_the_parameters_they_take()
    {
        var (v1, s1, _) = _h.Five(1);
        var (v2, s2, _) = _h.Five(2);
        var result = CliHarness.Run("plan", "--from", v2, "--to", v1, "--from-schema", s2, "--to-schema", s1);
        CliHarness.AssertOk(result);
        Assert.Contains("dropped:\n| kind ", result.Out);
        Assert.Matches(@"\| feature +\| hero\.\w+ +\| +8 \| hero_encoder\.weight \(8\) +\|", result.Out);
        Assert.Contains("target parameters (100.00 %)", result.Out);
    }

    [Fact]
    public void New_tensors_show_their_init_rule_and_a_note()
    {
        var (v1, s1, _) = _h.Five(1);
        var c = OpenAiFiveGraphs.Small;
        var (g2, _) = OpenAiFiveGraphs.BuildWithNewGroup(c);
        var v2 = _h.Write("group.graph.json", GraphJson.Write(g2));
        var s2 = _h.Write("group.features.yaml", OpenAiFiveGraphs.SchemaYaml(c, 2, newGroup: true));
        var result = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2);
        CliHarness.AssertOk(result);
        Assert.Matches(@"\| hero_extra_encoder\.weight +\| \(new\) +\| +0 / 48 \| +0\.00 % \| all: ", result.Out);
        Assert.Contains("notes:\n  - 'hero_extra_encoder.weight' is new", result.Out);
    }

    [Fact]
    public void Json_prints_the_same_plan_as_the_file()
    {
        var (v1, s1, _) = _h.Five(1);
        var (v2, s2, _) = _h.Five(2);
        var planPath = _h.PathOf("plan.json");
        var result = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--out", planPath, "--json");
        CliHarness.AssertOk(result);
        Assert.Equal(File.ReadAllText(planPath), result.Out);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(PlanJson.FormatName, doc.RootElement.GetProperty("format").GetString());
    }

    [Fact]
    public void New_output_bias_reaches_the_plan_options()
    {
        var (v1, s1, _) = _h.Five(1);
        var (v2, s2, _) = _h.Five(2);
        var result = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--new-output-bias", "-20", "--json");
        CliHarness.AssertOk(result);
        Assert.Equal(-20, PlanJson.Read(result.Out).Options.NewOutputBias);
    }

    [Fact]
    public void Without_schemas_the_graphs_alone_are_diffed()
    {
        var (v1, _, _) = _h.Five(1);
        var result = CliHarness.Run("plan", "--from", v1, "--to", v1);
        CliHarness.AssertOk(result);
        Assert.Contains("(100.00 %); ", result.Out);
    }

    [Fact]
    public void Csharp_sources_without_a_model_class_are_refused()
    {
        var (v1, _, _) = _h.Five(1);
        var model = _h.Write("Policy.cs", "class Policy {}");
        var torchSharp = typeof(global::TorchSharp.torch).Assembly.Location;
        CliHarness.AssertUserError(
            CliHarness.Run("plan", "--from", v1, "--to", model, "--torchsharp", torchSharp),
            model, "no class derives from TorchSharp's torch.nn.Module");
    }

    [Fact]
    public void Other_extensions_are_refused()
    {
        var (v1, _, _) = _h.Five(1);
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", "model.onnx", "--to", v1), "model.onnx", "graph JSON");
    }

    [Fact]
    public void A_missing_graph_is_a_user_error()
    {
        var (v1, _, _) = _h.Five(1);
        var missing = _h.PathOf("missing.graph.json");
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", missing, "--to", v1), missing);
    }

    [Fact]
    public void Corrupt_graph_json_is_a_user_error_naming_the_file()
    {
        var (v1, _, _) = _h.Five(1);
        var bad = _h.Write("bad.graph.json", "{ \"format\": \"neuralsurgery.graph\", ");
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", bad, "--to", v1), bad);
    }

    [Fact]
    public void A_bad_schema_is_a_user_error_with_its_position()
    {
        var (v1, _, _) = _h.Five(1);
        var bad = _h.Write("bad.features.yaml", "model: X\nversion: 1\ninputs:\n  hero:\n    bogus: 1\n");
        var result = CliHarness.Run("plan", "--from", v1, "--to", v1, "--to-schema", bad);
        CliHarness.AssertUserError(result, bad + "(");
        Assert.Matches(@"\(\d+,\d+\): error NS\d{4}", result.Err);
    }

    [Fact]
    public void A_schema_that_does_not_fit_the_graph_is_a_user_error()
    {
        var (v1, s1, _) = _h.Five(1);
        var (v2, _, _) = _h.Five(2);
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s1), "hero");
    }

    [Fact]
    public void Renames_must_be_old_equals_new()
    {
        var (v1, _, _) = _h.Five(1);
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", v1, "--to", v1, "--rename", "core"), "--rename 'core'", "old=new");
    }

    [Fact]
    public void A_rename_of_an_unknown_module_is_a_user_error()
    {
        var (v1, _, _) = _h.Five(1);
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", v1, "--to", v1, "--rename", "nothing=core"), "nothing");
    }

    [Fact]
    public void The_plan_is_never_written_over_a_non_json_file()
    {
        var (v1, _, _) = _h.Five(1);
        var checkpoint = _h.Write("model.safetensors", "precious");
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", v1, "--to", v1, "--out", checkpoint), checkpoint);
        Assert.Equal("precious", File.ReadAllText(checkpoint));
    }

    [Fact]
    public void A_failed_plan_writes_nothing()
    {
        var (v1, _, _) = _h.Five(1);
        var planPath = _h.PathOf("plan.json");
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", v1, "--to", v1, "--rename", "nothing=core", "--out", planPath));
        Assert.Equal([], Directory.GetFiles(_h.Dir).Where(f => f.Contains("plan")).ToArray());
    }
}
