using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class RoundTripTests
{
    public static TheoryData<CheckpointFormat> Formats => [CheckpointFormat.TorchSharp, CheckpointFormat.Safetensors];

    private static string Name(CheckpointFormat format, string stem) =>
        stem + (format == CheckpointFormat.Safetensors ? ".safetensors" : ".dat");

    /// <summary>One tensor of every dtype with recognisable bytes, a 0-dim tensor, empty tensors and non-ASCII names.</summary>
    internal static StateDict Everything()
    {
        var dict = new StateDict();
        var seed = 1;
        foreach (var dtype in DTypes.All)
        {
            var tensor = TensorInfo.Create("t." + dtype.IrName(), dtype, 2, 3);
            var data = new byte[tensor.ByteLength];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (byte)(seed++ * 37);
            }

            if (dtype == DType.Bool)
            {
                data = [1, 0, 0, 1, 1, 0];
            }

            dict.Add(tensor, data);
        }

        dict.Add("num_batches_tracked", [42L]);
        dict.AddZeros("empty", DType.Float32, 0);
        dict.AddZeros("empty.wide", DType.Int64, 3, 0, 5);
        dict.Add("encoder.ß.权重.😀", [1.5f, -2.5f], 2);
        dict.Add("quote\"back\\slash\nnewline\u0001", [7], 1);
        return dict;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_dtype_0_dim_empty_and_non_ASCII_tensors_round_trip(CheckpointFormat format)
    {
        using var folder = new TempFolder();
        var original = Everything();
        original.Metadata["plan"] = "sha256:abc";
        original.Metadata["model"] = "Policy v2 — ünïcode";
        var path = folder.File(Name(format, "all"));
        original.Save(path, format);

        using var reader = CheckpointReader.Open(path, format);
        Assert.Equal(original.Tensors, reader.Tensors);
        foreach (var tensor in original.Tensors)
        {
            Assert.Equal(original.GetData(tensor.Name), reader.ReadAll(reader.Get(tensor.Name)));
        }

        Assert.Equal(original.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), reader.Metadata);

        var copy = folder.File(Name(format, "copy"));
        StateDict.From(reader).Save(copy, format);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(copy));
        Assert.Equal(42L, StateDict.Load(path, format).Int64("num_batches_tracked")[0]);
    }

    [Fact]
    public void Conversion_preserves_names_order_dtypes_shapes_bytes_and_metadata_both_ways()
    {
        using var folder = new TempFolder();
        var original = Everything();
        original.Metadata["k"] = "v";
        original.Save(folder.File("a.dat"));

        var progress = new System.Collections.Generic.List<CheckpointProgress>();
        CheckpointConverter.Convert(folder.File("a.dat"), folder.File("b.safetensors"), CheckpointFormat.Safetensors,
            progress: new SynchronousProgress(progress.Add));
        CheckpointConverter.Convert(folder.File("b.safetensors"), folder.File("c.dat"), CheckpointFormat.TorchSharp);

        var converted = StateDict.Load(folder.File("b.safetensors"));
        Assert.Equal(original.Tensors, converted.Tensors);
        foreach (var tensor in original.Tensors)
        {
            Assert.Equal(original.GetData(tensor.Name), converted.GetData(tensor.Name));
        }

        Assert.Equal("v", converted.Metadata["k"]);
        Assert.Equal(File.ReadAllBytes(folder.File("a.dat")), File.ReadAllBytes(folder.File("c.dat")));
        Assert.Equal(File.ReadAllBytes(folder.File("a.dat.meta.json")), File.ReadAllBytes(folder.File("c.dat.meta.json")));

        Assert.Equal(original.Count, progress.Count);
        Assert.Equal(original.Tensors.Sum(t => t.ByteLength), progress[^1].BytesDone);
        Assert.Equal(progress[^1].BytesTotal, progress[^1].BytesDone);
        Assert.Equal(original.Tensors[^1].Name, progress[^1].TensorName);
    }

    [Fact]
    public void An_empty_state_dict_round_trips()
    {
        using var folder = new TempFolder();
        new StateDict().Save(folder.File("none.dat"));
        new StateDict().Save(folder.File("none.safetensors"));
        Assert.Equal([0x00], File.ReadAllBytes(folder.File("none.dat")));
        Assert.Equal(new Bytes().U64(8).Text("{}      ").ToArray(), File.ReadAllBytes(folder.File("none.safetensors")));
        Assert.Empty(StateDict.Load(folder.File("none.dat")).Tensors);
        Assert.Empty(StateDict.Load(folder.File("none.safetensors")).Tensors);
    }

    [Fact]
    public void Safetensors_from_other_writers_reads_in_any_key_order_without_padding()
    {
        // Keys out of offset order, __metadata__ last, extra fields, whitespace, no padding, escaped name.
        const string header = "{ \"b\\u0069as\": {\"shape\": [2], \"data_offsets\": [24, 32], \"dtype\": \"F32\", \"extra\": null},\n"
            + " \"weight\": {\"dtype\": \"F32\", \"data_offsets\": [0, 24], \"shape\": [2, 3]},"
            + " \"__metadata__\": {\"format\": \"pt\"} }";
        using var folder = new TempFolder();
        var path = folder.Write("other.safetensors", Safetensors.File(header, new Bytes().F32(Golden.Weight).F32(Golden.Bias).ToArray()));

        var dict = StateDict.Load(path);
        Assert.Equal(["bias", "weight"], dict.Tensors.Select(t => t.Name));
        Assert.Equal(Golden.Weight, dict.Float32("weight").ToArray());
        Assert.Equal(Golden.Bias, dict.Float32("bias").ToArray());
        Assert.Equal("pt", dict.Metadata["format"]);
    }

    [Fact]
    public void Safetensors_header_puts_the_data_section_on_an_8_byte_boundary()
    {
        using var folder = new TempFolder();
        for (var n = 1; n <= 9; n++)
        {
            var dict = new StateDict();
            dict.AddZeros(new string('x', n), DType.UInt8, 3);
            var path = folder.File($"p{n}.safetensors");
            dict.Save(path);
            var bytes = File.ReadAllBytes(path);
            var headerLength = BitConverter.ToInt64(bytes, 0);
            Assert.Equal(0, headerLength % 8);
            Assert.Equal(8 + headerLength + 3, bytes.Length);
            Assert.Equal((byte)'}', bytes[8..(int)(8 + headerLength)].Last(b => b != (byte)' '));
        }
    }

    [Fact]
    public void Typed_views_check_the_dtype()
    {
        var dict = Everything();
        Assert.Equal(6, dict.Values<ushort>("t.bfloat16").Length);
        Assert.Equal(6, dict.Values<byte>("t.bool").Length);
        Assert.Equal(6, dict.Values<Half>("t.float16").Length);
        Assert.Throws<InvalidOperationException>(() => dict.Float32("t.float64"));
        Assert.Throws<InvalidOperationException>(() => dict.Values<int>("t.int64"));
        Assert.Throws<System.Collections.Generic.KeyNotFoundException>(() => dict.Float32("missing"));
    }

    [Fact]
    public void State_dict_edits_keep_order()
    {
        var dict = Golden.Linear();
        dict.Add("extra", [1.0], 1);
        dict.Replace(TensorInfo.Create("weight", DType.Float32, 3, 2), new byte[24]);
        Assert.True(dict.Remove("bias"));
        Assert.False(dict.Remove("bias"));
        Assert.Equal(["weight", "extra"], dict.Tensors.Select(t => t.Name));
        Assert.Equal(1.0, dict.Float64("extra")[0]);
        Assert.Throws<ArgumentException>(() => dict.Add(TensorInfo.Create("extra", DType.Int8), new byte[1]));
        Assert.Throws<ArgumentException>(() => dict.Add(TensorInfo.Create("short", DType.Int32, 2), new byte[7]));
        Assert.Throws<ArgumentException>(() => dict.Add("count", [1f, 2f], 3));
    }

    private sealed class SynchronousProgress(Action<CheckpointProgress> report) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value) => report(value);
    }
}
