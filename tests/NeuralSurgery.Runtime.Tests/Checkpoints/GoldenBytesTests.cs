using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class GoldenBytesTests
{
    [Fact]
    public void The_52_byte_Linear_file_of_TORCHSHARP_md_reads_as_weight_then_bias()
    {
        using var folder = new TempFolder();
        var bytes = Golden.LinearTorchSharp();
        Assert.Equal(52, bytes.Length);
        var path = folder.Write("linear.dat", bytes);

        using var reader = CheckpointReader.Open(path);
        Assert.Equal(CheckpointFormat.TorchSharp, reader.Format);
        Assert.Equal(
            [TensorInfo.Create("weight", DType.Float32, 2, 3), TensorInfo.Create("bias", DType.Float32, 2)],
            reader.Tensors);
        Assert.Empty(reader.Metadata);
        Assert.Empty(reader.Warnings);

        var dict = StateDict.From(reader);
        Assert.Equal(Golden.Weight, dict.Float32("weight").ToArray());
        Assert.Equal(Golden.Bias, dict.Float32("bias").ToArray());
    }

    [Fact]
    public void The_52_byte_Linear_file_is_written_back_byte_identical()
    {
        using var folder = new TempFolder();
        var source = folder.Write("linear.dat", Golden.LinearTorchSharp());

        StateDict.Load(source).Save(folder.File("again.dat"));
        Golden.Linear().Save(folder.File("built.dat"));
        CheckpointConverter.Convert(source, folder.File("converted.bin"), CheckpointFormat.TorchSharp);

        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("again.dat")));
        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("built.dat")));
        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("converted.bin")));
        Assert.Equal(["again.dat", "built.dat", "converted.bin", "linear.dat"], folder.Listing());
    }

    [Fact]
    public void A_range_of_a_tensor_reads_without_the_rest()
    {
        using var folder = new TempFolder();
        using var reader = CheckpointReader.Open(folder.Write("linear.dat", Golden.LinearTorchSharp()));
        var weight = reader.Get("weight");
        var row1 = new byte[12];
        reader.Read(weight, 12, row1);
        Assert.Equal(new Bytes().F32(3f, -0.25f, 8f).ToArray(), row1);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Read(weight, 20, new byte[8]));
        Assert.Throws<ArgumentException>(() => reader.Read(TensorInfo.Create("weight", DType.Float32, 3, 2), 0, new byte[4]));
    }

    [Fact]
    public void The_hand_built_safetensors_file_reads_and_writes_back_byte_identical()
    {
        using var folder = new TempFolder();
        var bytes = Golden.LinearSafetensors();
        Assert.Equal(8 + 152 + 32, bytes.Length);
        var path = folder.Write("linear.safetensors", bytes);

        using (var reader = CheckpointReader.Open(path))
        {
            Assert.Equal(CheckpointFormat.Safetensors, reader.Format);
            Assert.Equal(["weight", "bias"], reader.Tensors.Select(t => t.Name));
            Assert.Equal(new EquatableArray<long>([2, 3]), reader.Tensors[0].Shape);
            Assert.Equal("pt", reader.Metadata["format"]);
            var dict = StateDict.From(reader);
            Assert.Equal(Golden.Weight, dict.Float32("weight").ToArray());
            Assert.Equal(Golden.Bias, dict.Float32("bias").ToArray());
        }

        StateDict.Load(path).Save(folder.File("again.safetensors"));
        Assert.Equal(bytes, File.ReadAllBytes(folder.File("again.safetensors")));

        var built = Golden.Linear();
        built.Metadata["format"] = "pt";
        built.Save(folder.File("built.safetensors"));
        Assert.Equal(bytes, File.ReadAllBytes(folder.File("built.safetensors")));
    }

    [Fact]
    public void Converting_the_golden_TorchSharp_file_with_its_sidecar_gives_the_golden_safetensors_file_and_back()
    {
        using var folder = new TempFolder();
        var linear = Golden.Linear();
        linear.Metadata["format"] = "pt";
        linear.Save(folder.File("linear.dat"));
        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("linear.dat")));
        Assert.True(File.Exists(folder.File("linear.dat.meta.json")));

        CheckpointConverter.Convert(folder.File("linear.dat"), folder.File("linear.safetensors"), CheckpointFormat.Safetensors);
        Assert.Equal(Golden.LinearSafetensors(), File.ReadAllBytes(folder.File("linear.safetensors")));

        CheckpointConverter.Convert(folder.File("linear.safetensors"), folder.File("back.pt"), CheckpointFormat.TorchSharp);
        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("back.pt")));
        using var back = CheckpointReader.Open(folder.File("back.pt"));
        Assert.Equal("pt", back.Metadata["format"]);
        Assert.Equal(folder.File("back.pt.meta.json"), back.MetadataSidecarPath);
    }

    [Fact]
    public void Multi_byte_LEB128_dims_and_long_keys_match_BinaryWriter()
    {
        // dim 300 is uleb AC 02; a 200-byte key has the 7-bit length C8 01, as BinaryWriter.Write(string) writes it.
        using var folder = new TempFolder();
        var key = new string('k', 200);
        var dict = new StateDict();
        dict.AddZeros(key, DType.UInt8, 300);
        dict.Save(folder.File("long.dat"));

        using var expected = new MemoryStream();
        using (var writer = new BinaryWriter(expected))
        {
            writer.Write7BitEncodedInt64(1);
            writer.Write(key);
            writer.Write7BitEncodedInt64(0);
            writer.Write7BitEncodedInt64(1);
            writer.Write7BitEncodedInt64(300);
            writer.Write(new byte[300]);
        }

        var actual = File.ReadAllBytes(folder.File("long.dat"));
        Assert.Equal(expected.ToArray(), actual);
        Assert.Equal([0xC8, 0x01], actual[1..3]);
        Assert.Equal([0x00, 0x01, 0xAC, 0x02], actual[203..207]);
    }

    [Fact]
    public void Concurrent_range_reads_agree_with_the_data()
    {
        using var folder = new TempFolder();
        var dict = new StateDict();
        var values = Enumerable.Range(0, 100_000).Select(i => (float)i).ToArray();
        dict.Add("big", values, 100, 1000);
        dict.Save(folder.File("big.safetensors"));
        using var reader = CheckpointReader.Open(folder.File("big.safetensors"));
        var big = reader.Get("big");
        System.Threading.Tasks.Parallel.For(0, 100, row =>
        {
            var bytes = new byte[4000];
            reader.Read(big, row * 4000L, bytes);
            Assert.Equal(values.AsSpan(row * 1000, 1000).ToArray(), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        });
    }
}
