using System.IO;
using System.Text.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

public sealed class InspectTests : System.IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Sample(string name, CheckpointFormat format)
    {
        var dict = new StateDict();
        dict.Add("fc.weight", new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        dict.Add("fc.bias", new double[] { 0.5, -0.5 }, 2);
        dict.Add("steps", new long[] { 7 });
        dict.Metadata["trained_by"] = "ci";
        var path = _h.PathOf(name);
        dict.Save(path, format);
        return path;
    }

    [Theory]
    [InlineData("model.safetensors", CheckpointFormat.Safetensors)]
    [InlineData("model.bin", CheckpointFormat.TorchSharp)]
    public void Lists_tensors_sizes_and_metadata(string name, CheckpointFormat format)
    {
        var path = Sample(name, format);
        var result = CliHarness.Run("inspect", path);
        CliHarness.AssertOk(result);
        Assert.Contains($"{path}: {format.Name()}, 3 tensors, 9 elements, 48 B of tensor data", result.Out);
        Assert.Contains("| fc.weight | float32 | [2, 3] |    24 |", result.Out);
        Assert.Contains("| fc.bias   | float64 | [2]    |    16 |", result.Out);
        Assert.Contains("| steps     | int64   | []     |     8 |", result.Out);
        Assert.Contains("| trained_by | ci    |", result.Out);
    }

    [Fact]
    public void Json_form_has_every_field()
    {
        var path = Sample("model.safetensors", CheckpointFormat.Safetensors);
        var result = CliHarness.Run("inspect", path, "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        var root = doc.RootElement;
        Assert.Equal("safetensors", root.GetProperty("format").GetString());
        Assert.False(root.GetProperty("sharded").GetBoolean());
        Assert.Equal(3, root.GetProperty("tensorCount").GetInt32());
        Assert.Equal(48, root.GetProperty("tensorBytes").GetInt64());
        Assert.Equal(new FileInfo(path).Length, root.GetProperty("fileBytes").GetInt64());
        var first = root.GetProperty("tensors")[0];
        Assert.Equal("fc.weight", first.GetProperty("name").GetString());
        Assert.Equal("float32", first.GetProperty("dtype").GetString());
        Assert.Equal("[2,3]", first.GetProperty("shape").GetRawText().Replace(" ", "").Replace("\n", ""));
        Assert.Equal(24, first.GetProperty("bytes").GetInt64());
        Assert.Equal("ci", root.GetProperty("metadata").GetProperty("trained_by").GetString());
        Assert.Equal(0, root.GetProperty("warnings").GetArrayLength());
    }

    [Fact]
    public void Reports_a_stale_sidecar_as_a_warning()
    {
        var path = Sample("model.bin", CheckpointFormat.TorchSharp);
        Assert.True(File.Exists(path + ".meta.json"));
        // Re-saving the checkpoint without the tool leaves the sidecar describing other bytes.
        var other = new StateDict();
        other.Add("fc.weight", new float[] { 9, 9, 9, 9, 9, 9, 9 }, 7);
        var bytes = _h.PathOf("other.bin");
        other.Save(bytes, CheckpointFormat.TorchSharp);
        File.Copy(bytes, path, overwrite: true);
        var result = CliHarness.Run("inspect", path);
        CliHarness.AssertOk(result);
        Assert.Contains("warning: ", result.Out);
        Assert.Contains("metadata: none", result.Out);
    }

    [Fact]
    public void A_missing_file_is_a_user_error_naming_it()
    {
        var path = _h.PathOf("missing.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("inspect", path), path);
    }

    [Theory]
    [InlineData("model.safetensors", CheckpointFormat.Safetensors)]
    [InlineData("model.bin", CheckpointFormat.TorchSharp)]
    public void A_truncated_checkpoint_is_a_user_error_naming_the_file(string name, CheckpointFormat format)
    {
        var path = Sample(name, format);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        CliHarness.AssertUserError(CliHarness.Run("inspect", path), path);
    }

    [Fact]
    public void Garbage_is_a_user_error_naming_the_file()
    {
        var path = _h.Write("garbage.safetensors", "this is not a checkpoint at all");
        CliHarness.AssertUserError(CliHarness.Run("inspect", path), path);
    }
}
