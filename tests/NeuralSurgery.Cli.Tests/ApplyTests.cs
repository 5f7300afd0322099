using System.IO;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;

namespace NeuralSurgery.Cli.Tests;

public sealed class ApplyTests : System.IDisposable
{
    private readonly CliHarness _h = new();

    public ApplyTests()
    {
        var (v1, s1, g1) = _h.Five(1);
        var (v2, s2, _) = _h.Five(2);
        Old = g1;
        PlanPath = _h.PathOf("plan.json");
        CliHarness.AssertOk(CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--out", PlanPath, "--json"));
        Source = _h.PathOf("old.safetensors");
        CliHarness.CheckpointFor(g1).Save(Source);
    }

    private ModelGraph Old { get; }

    private string PlanPath { get; }

    private string Source { get; }

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("new.safetensors", null, CheckpointFormat.Safetensors)]
    [InlineData("new.bin", null, CheckpointFormat.TorchSharp)]
    [InlineData("new.ckpt", "safetensors", CheckpointFormat.Safetensors)]
    public void Writes_the_new_checkpoint_with_copied_weights_and_zero_new_columns(string name, string? format, CheckpointFormat expected)
    {
        var target = _h.PathOf(name);
        var args = new[] { "apply", "--plan", PlanPath, "--in", Source, "--out", target, "--seed", "7" };
        var result = CliHarness.Run(format is null ? args : [.. args, "--format", format]);
        CliHarness.AssertOk(result);
        Assert.Contains($"wrote {target} ({expected.Name()}, ", result.Out);
        // Off a terminal: the result line only, no progress lines.
        Assert.DoesNotContain("apply: ", result.Out);
        Assert.Single(result.OutLines);

        var source = StateDict.Load(Source);
        using var reader = CheckpointReader.Open(target, expected);
        var output = StateDict.From(reader);
        var oldWeight = source.Float32("hero_encoder.weight");
        var newWeight = output.Float32("hero_encoder.weight");
        Assert.Equal([8L, 22L], output.Find("hero_encoder.weight")!.Shape.ToArray());
        for (var r = 0; r < 8; r++)
        {
            for (var c = 0; c < 22; c++)
            {
                Assert.Equal(c < 10 ? oldWeight[(r * 10) + c] : 0f, newWeight[(r * 22) + c]);
            }
        }

        Assert.Equal(source.GetData("core.weight"), output.GetData("core.weight"));
        var plan = PlanJson.Read(File.ReadAllText(PlanPath), PlanPath);
        Assert.Equal(PlanExecutor.PlanHash(plan), reader.Metadata[PlanExecutor.PlanHashKey]);
        Assert.Equal("7", reader.Metadata[PlanExecutor.SeedKey]);
    }

    [Fact]
    public void The_output_is_stamped_and_applying_the_plan_again_to_it_is_refused_unless_told()
    {
        var first = _h.PathOf("v2.safetensors");
        CliHarness.AssertOk(CliHarness.Run("apply", "--plan", PlanPath, "--in", Source, "--out", first));
        var plan = PlanJson.Read(File.ReadAllText(PlanPath), PlanPath);
        using (var reader = CheckpointReader.Open(first))
        {
            Assert.Equal(PlanExecutor.TargetStamp(plan), CheckpointStamp.Read(reader.Metadata, first));
        }

        var inspect = CliHarness.Run("inspect", first);
        CliHarness.AssertOk(inspect);
        Assert.Contains($"stamp: {plan.To.Model} v{plan.To.Version}; declare it in the training project as <NeuralSurgeryCheckpoints>{plan.To.Model}@{plan.To.Fingerprint![..16]}</NeuralSurgeryCheckpoints>", inspect.Out);

        // A v2 checkpoint through the v1 → v2 plan again: shapes would not fit here, but the stamp refuses it first, by name.
        var again = _h.PathOf("v3.safetensors");
        var refused = CliHarness.Run("apply", "--plan", PlanPath, "--in", first, "--out", again);
        CliHarness.AssertUserError(refused, first, $"it is stamped as {plan.To.Model} v{plan.To.Version}", $"the plan starts from {plan.From}");
        Assert.False(File.Exists(again));
        var ignored = CliHarness.Run("apply", "--plan", PlanPath, "--in", first, "--out", again, "--ignore-stamp");
        Assert.DoesNotContain("stamped as", ignored.Err);
    }

    [Fact]
    public void Json_summary_and_no_progress_lines()
    {
        var target = _h.PathOf("new.safetensors");
        var result = CliHarness.Run("apply", "--plan", PlanPath, "--in", Source, "--out", target, "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(target, doc.RootElement.GetProperty("out").GetString());
        Assert.Equal("safetensors", doc.RootElement.GetProperty("format").GetString());
        Assert.Equal(new FileInfo(target).Length, doc.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(64, doc.RootElement.GetProperty("planSha256").GetString()!.Length);
    }

    [Fact]
    public void An_existing_output_is_refused_and_untouched_without_force()
    {
        var target = _h.Write("new.safetensors", "precious bytes");
        var result = CliHarness.Run("apply", "--plan", PlanPath, "--in", Source, "--out", target);
        CliHarness.AssertUserError(result, target, "--force");
        Assert.Equal("precious bytes", File.ReadAllText(target));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));

        CliHarness.AssertOk(CliHarness.Run("apply", "--plan", PlanPath, "--in", Source, "--out", target, "--force"));
        Assert.Equal(Old.Parameters.Count, StateDict.Load(target).Count);
    }

    [Fact]
    public void A_plan_naming_a_tensor_the_checkpoint_lacks_is_a_user_error_and_writes_nothing()
    {
        var partial = _h.PathOf("partial.safetensors");
        CliHarness.CheckpointFor(Old, leaveOut: ["core.bias"]).Save(partial);
        var target = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", PlanPath, "--in", partial, "--out", target), partial, "'core.bias'");
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));
    }

    [Fact]
    public void A_shape_mismatch_is_a_user_error_naming_the_tensor()
    {
        var dict = CliHarness.CheckpointFor(Old);
        dict.Replace(TensorInfo.Create("core.bias", DType.Float32, 3), new byte[12]);
        var wrong = _h.PathOf("wrong.safetensors");
        dict.Save(wrong);
        var target = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", PlanPath, "--in", wrong, "--out", target), "'core.bias'", "[3]");
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void A_corrupt_checkpoint_is_a_user_error_and_writes_nothing()
    {
        var bytes = File.ReadAllBytes(Source);
        var corrupt = _h.PathOf("corrupt.safetensors");
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length / 2)]);
        var target = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", PlanPath, "--in", corrupt, "--out", target), corrupt);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void A_missing_checkpoint_is_a_user_error()
    {
        var missing = _h.PathOf("missing.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", PlanPath, "--in", missing, "--out", _h.PathOf("new.safetensors")), missing);
    }

    [Fact]
    public void A_corrupt_plan_is_a_user_error_naming_it()
    {
        var plan = _h.Write("bad.plan.json", File.ReadAllText(PlanPath).Replace("\"neuralsurgery.plan\"", "\"something.else\""));
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", plan, "--in", Source, "--out", _h.PathOf("new.safetensors")), plan);
    }

    [Fact]
    public void The_source_is_never_the_target()
    {
        var before = File.ReadAllBytes(Source);
        CliHarness.AssertUserError(CliHarness.Run("apply", "--plan", PlanPath, "--in", Source, "--out", Source, "--force"), Source);
        Assert.Equal(before, File.ReadAllBytes(Source));
    }
}
