using System;
using System.Linq;
using System.Text.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

public sealed class DiffTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private (string A, string B) Pair()
    {
        var a = new StateDict();
        a.Add("same", new float[] { 1, 2, 3 }, 3);
        a.Add("changed", new float[] { 1, 2, 3, 4 }, 2, 2);
        a.Add("half", new Half[] { (Half)1, (Half)2 }, 2);
        a.Add(TensorInfo.Create("brain", DType.BFloat16, 2), [0x80, 0x3F, 0x00, 0x40]); // bfloat16 1, 2
        a.Add("to_half", new float[] { 1, 2 }, 2);
        a.Add("widened", new float[] { 1, 2 }, 2);
        a.Add("steps", new long[] { 5, 6 }, 2);
        a.Add("gone", new float[] { 1 }, 1);
        a.Metadata["epoch"] = "1";
        var b = new StateDict();
        b.Add("same", new float[] { 1, 2, 3 }, 3);
        b.Add("changed", new float[] { 1, 2.5f, 3, 3.75f }, 2, 2);
        b.Add("half", new Half[] { (Half)1, (Half)2.5 }, 2);
        b.Add(TensorInfo.Create("brain", DType.BFloat16, 2), [0x80, 0x3F, 0x20, 0x40]); // bfloat16 1, 2.5
        b.Add("to_half", new Half[] { (Half)1, (Half)2.25 }, 2);
        b.Add("widened", new float[] { 1, 2, 0 }, 3);
        b.Add("steps", new long[] { 5, 7 }, 2);
        b.Add("added", new float[] { 1 }, 1);
        b.Metadata["epoch"] = "2";
        var pathA = _h.PathOf("a.safetensors");
        var pathB = _h.PathOf("b.bin");
        a.Save(pathA);
        b.Save(pathB);
        return (pathA, pathB);
    }

    [Fact]
    public void Reports_max_difference_dtype_and_shape_changes_and_one_sided_tensors()
    {
        var (a, b) = Pair();
        var result = CliHarness.Run("diff", a, b);
        CliHarness.AssertOk(result);
        Assert.Matches(@"\| same +\| same +\| +0 \| +0 \| +\|", result.Out);
        Assert.Matches(@"\| changed +\| values +\| +2 \| +0\.5 \| +\|", result.Out);
        Assert.Matches(@"\| half +\| values +\| +1 \| +0\.5 \| +\|", result.Out);
        Assert.Matches(@"\| to_half +\| dtype +\| +1 \| +0\.25 \| float32 -> float16 +\|", result.Out);
        Assert.Matches(@"\| widened +\| shape +\| +- \| +- \| float32\[2\] -> float32\[3\] +\|", result.Out);
        Assert.Matches(@"\| brain +\| values +\| +1 \| +0\.5 \| +\|", result.Out);
        Assert.Matches(@"\| steps +\| values +\| +1 \| +- \| +\|", result.Out);
        Assert.Matches(@"\| gone +\| only-a +\| +- \| +- \| float32\[1\] +\|", result.Out);
        Assert.Matches(@"\| added +\| only-b +\| +- \| +- \| float32\[1\] +\|", result.Out);
        Assert.Contains("metadata epoch: 1 -> 2", result.Out);
        Assert.Contains("9 tensors: 1 same, 4 values changed, 1 dtype changed, 1 shape changed, 1 only in a, 1 only in b; 1 metadata keys differ", result.Out);
    }

    [Fact]
    public void Json_form()
    {
        var (a, b) = Pair();
        var result = CliHarness.Run("diff", a, b, "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(0.5, tensors["changed"].GetProperty("maxAbsDiff").GetDouble());
        Assert.Equal(2, tensors["changed"].GetProperty("differingElements").GetInt64());
        Assert.Equal("shape", tensors["widened"].GetProperty("change").GetString());
        Assert.Equal(JsonValueKind.Null, tensors["widened"].GetProperty("maxAbsDiff").ValueKind);
        Assert.Equal(JsonValueKind.Null, tensors["gone"].GetProperty("b").ValueKind);
        Assert.Equal(1, doc.RootElement.GetProperty("summary").GetProperty("only-b").GetInt32());
    }

    [Fact]
    public void A_checkpoint_against_its_conversion_is_all_same()
    {
        var (a, _) = Pair();
        var converted = _h.PathOf("a.bin");
        CliHarness.AssertOk(CliHarness.Run("convert", a, converted));
        var result = CliHarness.Run("diff", a, converted, "--json");
        CliHarness.AssertOk(result);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(8, doc.RootElement.GetProperty("summary").GetProperty("same").GetInt32());
    }

    [Fact]
    public void Large_tensors_are_compared_in_chunks()
    {
        var n = 700_000; // over 1 MiB of float32 on each side: several chunks
        var x = new float[n];
        var y = new float[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = i;
            y[i] = i;
        }

        y[n - 1] += 3;
        var a = new StateDict();
        a.Add("big", x, n);
        var b = new StateDict();
        b.Add("big", y, n);
        var comparison = CheckpointComparer.Compare(a, b);
        Assert.Equal(3, comparison.Tensors[0].MaxAbsDifference);
        Assert.Equal(1, comparison.Tensors[0].DifferingElements);
    }

    [Theory]
    [InlineData(1.0, 1.0, 0.0)]
    [InlineData(double.NaN, double.NaN, 0.0)]
    [InlineData(double.PositiveInfinity, double.PositiveInfinity, 0.0)]
    [InlineData(double.NaN, 1.0, double.PositiveInfinity)]
    [InlineData(-1.0, 2.0, 3.0)]
    public void Differences_treat_equal_nans_and_infinities_as_equal(double x, double y, double expected)
    {
        Assert.Equal(expected, CheckpointComparer.AbsDifference(x, y));
    }

    [Fact]
    public void A_missing_side_is_a_user_error()
    {
        var (a, _) = Pair();
        var missing = _h.PathOf("missing.bin");
        CliHarness.AssertUserError(CliHarness.Run("diff", a, missing), missing);
    }
}
