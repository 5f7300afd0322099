using System.Text.Json;

namespace NeuralSurgery.Cli.Tests;

public sealed class SchemaCheckTests : System.IDisposable
{
    private const string Valid = """
        model: Policy
        version: 2
        inputs:
          hero:
            features: [hp, { name: pos, width: 2 }]
          hero_id:
            categorical: [axe, bane, crystal_maiden]
          units:
            set: true
            features: [health, x, y]
        outputs:
          logits:
            features: [noop, move]
        renames:
          health_points: hp
        """;

    private const string Invalid = """
        model: Policy
        version: 1
        inputs:
          hero:
            features: [hp, hp]
            bogus: 1
        outputs:
          logits:
            features: [noop]
        """;

    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void A_valid_schema_is_OK_with_a_summary()
    {
        var path = _h.Write("policy.v2.features.yaml", Valid);
        var result = CliHarness.Run("schema", "check", path);
        CliHarness.AssertOk(result);
        Assert.StartsWith($"{path}: OK: model Policy v2: 3 inputs (2 dense, 1 categorical; 9 slots), 1 output (2 slots), 1 rename\n", result.Out);
        Assert.Contains("| hero_id      | categorical | no  |        3 |     3 |", result.Out);
        Assert.Contains("| units        | dense       | yes |        3 |     3 |", result.Out);
        Assert.Contains("rename: health_points -> hp", result.Out);
    }

    [Fact]
    public void A_valid_schema_as_json()
    {
        var path = _h.Write("policy.v2.features.yaml", Valid);
        var result = CliHarness.Run("schema", "check", path, "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.True(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(9, doc.RootElement.GetProperty("slots").GetInt32());
        Assert.Equal(3, doc.RootElement.GetProperty("inputs").GetArrayLength());
    }

    [Fact]
    public void Every_error_is_printed_with_its_line_and_column()
    {
        var path = _h.Write("bad.features.yaml", Invalid);
        var result = CliHarness.Run("schema", "check", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            [
                $"{path}(5,20): error NS0003: feature 'hp' in input 'hero' is declared more than once (first at line 5, column 16); expected unique feature names",
                $"{path}(6,5): error NS0002: unknown key 'bogus' in input 'hero'; expected one of: features, categorical, set, axes",
            ],
            result.OutLines);
        Assert.Equal([$"error: {path}: 2 errors in the feature schema"], result.ErrLines);
    }

    [Fact]
    public void Errors_as_json_carry_positions()
    {
        var path = _h.Write("bad.features.yaml", Invalid);
        var result = CliHarness.Run("schema", "check", path, "--json");
        Assert.Equal(1, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Out);
        var diagnostics = doc.RootElement.GetProperty("diagnostics");
        Assert.Equal(2, diagnostics.GetArrayLength());
        Assert.Equal("NS0002", diagnostics[1].GetProperty("id").GetString());
        Assert.Equal(6, diagnostics[1].GetProperty("line").GetInt32());
        Assert.Equal(5, diagnostics[1].GetProperty("column").GetInt32());
    }

    [Fact]
    public void A_yaml_syntax_error_has_a_position()
    {
        var path = _h.Write("broken.features.yaml", "model: Policy\nversion: 1\ninputs:\n  hero:\n    features: [hp, x\n");
        var result = CliHarness.Run("schema", "check", path);
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"^.*broken\.features\.yaml\(\d+,\d+\): error NS\d{4}: ", result.OutLines[0]);
    }

    [Fact]
    public void A_missing_file_is_one_error_line()
    {
        var path = _h.PathOf("nope.features.yaml");
        CliHarness.AssertUserError(CliHarness.Run("schema", "check", path), path, "does not exist");
    }
}
