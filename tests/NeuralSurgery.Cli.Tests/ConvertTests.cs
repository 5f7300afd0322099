using System;
using System.IO;
using System.Text.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

public sealed class ConvertTests : System.IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Sample()
    {
        var dict = new StateDict();
        dict.Add("fc.weight", new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        dict.Add("fc.bias", new Half[] { (Half)0.5, (Half)(-0.5) }, 2);
        dict.Metadata["note"] = "kept";
        var path = _h.PathOf("model.bin");
        dict.Save(path, CheckpointFormat.TorchSharp);
        return path;
    }

    [Fact]
    public void Round_trips_between_the_formats_byte_for_byte()
    {
        var bin = Sample();
        var st = _h.PathOf("model.safetensors");
        var back = _h.PathOf("back.bin");
        var result = CliHarness.Run("convert", bin, st);
        CliHarness.AssertOk(result);
        Assert.Contains($"wrote {st} (safetensors, ", result.Out);
        Assert.DoesNotContain("convert: 2/2 tensors", result.Out);
        CliHarness.AssertOk(CliHarness.Run("convert", st, back));
        Assert.Equal(File.ReadAllBytes(bin), File.ReadAllBytes(back));
        using var reader = CheckpointReader.Open(st);
        Assert.Equal("kept", reader.Metadata["note"]);
    }

    [Fact]
    public void Format_option_overrides_the_name()
    {
        var bin = Sample();
        var target = _h.PathOf("model.weights");
        var result = CliHarness.Run("convert", bin, target, "--format", "safetensors", "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal("safetensors", doc.RootElement.GetProperty("format").GetString());
        using var reader = CheckpointReader.Open(target, CheckpointFormat.Safetensors);
        Assert.Equal(2, reader.Tensors.Count);
    }

    [Fact]
    public void An_existing_output_is_refused_and_untouched_without_force()
    {
        var bin = Sample();
        var target = _h.Write("model.safetensors", "precious");
        CliHarness.AssertUserError(CliHarness.Run("convert", bin, target), target, "--force");
        Assert.Equal("precious", File.ReadAllText(target));
        CliHarness.AssertOk(CliHarness.Run("convert", bin, target, "--force"));
        Assert.Equal(2, StateDict.Load(target).Count);
    }

    [Fact]
    public void A_corrupt_input_is_a_user_error_and_leaves_no_output()
    {
        var bin = Sample();
        File.WriteAllBytes(bin, File.ReadAllBytes(bin)[..7]);
        var target = _h.PathOf("model.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("convert", bin, target), bin);
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));
    }

    [Fact]
    public void Converting_onto_the_input_is_refused()
    {
        var bin = Sample();
        var before = File.ReadAllBytes(bin);
        CliHarness.AssertUserError(CliHarness.Run("convert", bin, bin, "--force"), bin);
        Assert.Equal(before, File.ReadAllBytes(bin));
    }
}
