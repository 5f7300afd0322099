using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

public sealed class PatchTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private (string Base, string Tuned, StateDict TunedDict) Pair()
    {
        var b = new StateDict();
        b.Add("fc.weight", Enumerable.Range(0, 4000).Select(i => i * 0.001f).ToArray(), 40, 100);
        b.Add("fc.bias", new float[] { 1, 2 }, 2);
        var t = StateDict.From(b);
        t.Float32("fc.weight")[17] = 5;
        t.Float32("fc.weight")[3999] = -5;
        var basePath = _h.PathOf("base.safetensors");
        var tunedPath = _h.PathOf("tuned.bin");
        b.Save(basePath);
        t.Save(tunedPath);
        return (basePath, tunedPath, t);
    }

    [Fact]
    public void Create_then_apply_reproduces_the_tuned_checkpoint()
    {
        var (b, t, tuned) = Pair();
        var patch = _h.PathOf("d.nspatch");
        var created = CliHarness.Run("patch", "create", "--base", b, "--tuned", t, "--out", patch);
        CliHarness.AssertOk(created);
        Assert.Contains("2 changed elements in 1 tensors", created.Out);
        var output = _h.PathOf("out.bin");
        var applied = CliHarness.Run("patch", "apply", "--base", b, "--patch", patch, "--out", output, "--json");
        CliHarness.AssertOk(applied);
        using var doc = JsonDocument.Parse(applied.Out);
        Assert.Equal(2, doc.RootElement.GetProperty("changedElements").GetInt64());
        Assert.Equal(tuned.GetData("fc.weight"), StateDict.Load(output).GetData("fc.weight"));
    }

    [Fact]
    public void Apply_to_another_base_is_a_user_error_naming_both_hashes()
    {
        var (b, t, _) = Pair();
        var patch = _h.PathOf("d.nspatch");
        CliHarness.AssertOk(CliHarness.Run("patch", "create", "--base", b, "--tuned", t, "--out", patch));
        var result = CliHarness.Run("patch", "apply", "--base", t, "--patch", patch, "--out", _h.PathOf("o.bin"));
        CliHarness.AssertUserError(result, "content hash", t, patch);
        Assert.False(File.Exists(_h.PathOf("o.bin")));
    }

    [Fact]
    public void A_truncated_patch_and_an_existing_output_are_user_errors()
    {
        var (b, t, _) = Pair();
        var patch = _h.PathOf("d.nspatch");
        CliHarness.AssertOk(CliHarness.Run("patch", "create", "--base", b, "--tuned", t, "--out", patch));
        CliHarness.AssertUserError(CliHarness.Run("patch", "create", "--base", b, "--tuned", t, "--out", patch), "--force");
        var bytes = File.ReadAllBytes(patch);
        File.WriteAllBytes(patch, bytes[..^5]);
        CliHarness.AssertUserError(CliHarness.Run("patch", "apply", "--base", b, "--patch", patch, "--out", _h.PathOf("o.bin")), patch, "truncated");
    }
}
