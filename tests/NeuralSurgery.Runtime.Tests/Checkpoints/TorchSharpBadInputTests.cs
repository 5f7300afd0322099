using System;
using System.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class TorchSharpBadInputTests
{
    private static CheckpointFormatException Refused(byte[] bytes, string name = "bad.dat")
    {
        using var folder = new TempFolder();
        var path = folder.Write(name, bytes);
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(path, CheckpointFormat.TorchSharp).Dispose());
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith(path, ex.Message);
        return ex;
    }

    [Fact]
    public void Truncation_at_every_byte_offset_names_the_file_and_the_tensor_it_falls_in()
    {
        var bytes = Golden.LinearTorchSharp();

        // Byte ranges after each key: the cut falls inside that tensor's dtype, shape or data.
        static string? TensorAt(int cut) => cut switch
        {
            >= 8 and < 36 => "weight",
            >= 41 => "bias",
            _ => null,
        };

        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var ex = Refused(bytes[..cut]);
            Assert.Equal(TensorAt(cut), ex.TensorName);
            if (TensorAt(cut) is { } tensor)
            {
                Assert.Contains($"tensor '{tensor}'", ex.Message);
                Assert.Contains("truncated", ex.Message);
            }
        }
    }

    [Fact]
    public void An_empty_file_says_what_was_expected()
    {
        var ex = Refused([]);
        Assert.Contains("empty", ex.Message);
        Assert.Contains("tensor count", ex.Message);
    }

    [Fact]
    public void A_LEB128_value_longer_than_10_bytes_is_refused()
    {
        var ex = Refused(new Bytes().U8(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01).ToArray());
        Assert.Contains("tensor count", ex.Message);
        Assert.Contains("longer than 10 bytes", ex.Message);
        Assert.Equal(0, ex.Offset);
    }

    [Fact]
    public void A_LEB128_value_over_64_bits_is_refused()
    {
        var ex = Refused(new Bytes().U8(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02).ToArray());
        Assert.Contains("overflows 64 bits", ex.Message);
    }

    [Fact]
    public void A_count_above_long_MaxValue_is_refused()
    {
        var ex = Refused(new Bytes().U8(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01).ToArray());
        Assert.Contains("larger than the largest allowed value", ex.Message);
    }

    [Fact]
    public void A_hostile_tensor_count_allocates_nothing_and_reports_the_truncation()
    {
        var ex = Refused(new Bytes().U8(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F).ToArray());
        Assert.Contains("entry 1 of 4611686018427387903", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void A_hostile_tensor_count_in_a_huge_sparse_file_allocates_nothing()
    {
        // 2^40 entries claimed, 16 GiB of zeros (a sparse file): entry 1 is a 0-dim uint8 named "", entry 2 repeats it.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var folder = new TempFolder();
        var path = folder.Write("sparse.dat", new Bytes().U8(0x80, 0x80, 0x80, 0x80, 0x80, 0x20).ToArray());
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(16L << 30);
        }

        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(path));
        Assert.Equal("", ex.TensorName);
        Assert.Contains("duplicate tensor name (entry 2 of 1099511627776)", ex.Message);
    }

    [Fact]
    public void A_key_length_over_5_bytes_or_int_range_is_refused()
    {
        var tooLong = Refused(new Bytes().U8(0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01).ToArray());
        Assert.Contains("key length of entry 1 of 1", tooLong.Message);
        Assert.Contains("longer than 5 bytes", tooLong.Message);
        var overflow = Refused(new Bytes().U8(0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F).ToArray());
        Assert.Contains("larger than the largest allowed value 2147483647", overflow.Message);
    }

    [Fact]
    public void A_key_length_beyond_the_file_is_refused_before_reading_it()
    {
        var ex = Refused(new Bytes().U8(0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07).Text("abc").ToArray());
        Assert.Contains("2147483647 bytes long but only 3 bytes remain", ex.Message);
        Assert.Equal(6, ex.Offset);
    }

    [Fact]
    public void A_key_that_is_not_UTF8_is_refused()
    {
        var ex = Refused(new Bytes().U8(0x01, 0x02, 0xC3, 0x28, 0x06, 0x00).F32(1).ToArray());
        Assert.Contains("not valid UTF-8", ex.Message);
    }

    [Theory]
    [InlineData(8, "dtype code 8 (ComplexHalf) is not supported")]
    [InlineData(9, "dtype code 9 (ComplexFloat32) is not supported")]
    [InlineData(10, "dtype code 10 (ComplexFloat64) is not supported")]
    [InlineData(12, "dtype code 12 (QInt8) is not supported")]
    [InlineData(16, "unknown dtype code 16")]
    [InlineData(200, "unknown dtype code 200")]
    public void Unknown_and_unsupported_dtype_codes_are_refused_with_the_accepted_codes(int code, string message)
    {
        var ex = Refused(new Bytes().U8(0x01, 0x01).Text("w").Raw(Leb(code)).U8(0x00).U8(0, 0, 0, 0, 0, 0, 0, 0).ToArray());
        Assert.Equal("w", ex.TensorName);
        Assert.Contains(message, ex.Message);
        Assert.Contains("6 (float32)", ex.Message);
        Assert.Equal(3, ex.Offset);
    }

    [Fact]
    public void More_dims_than_bytes_left_are_refused_before_allocating()
    {
        var ex = Refused(new Bytes().U8(0x01, 0x01).Text("w").U8(0x06).U8(0xFF, 0xFF, 0xFF, 0xFF, 0x07).U8(1, 1).ToArray());
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("2147483647 dims", ex.Message);
    }

    [Fact]
    public void More_dims_than_the_rank_limit_are_refused()
    {
        var ex = Refused(new Bytes().U8(0x01, 0x01).Text("w").U8(0x06).U8(0x81, 0x08).Raw(new byte[1025]).ToArray());
        Assert.Contains("1025 dims is more than the 1024 NeuralSurgery accepts", ex.Message);
    }

    [Fact]
    public void A_shape_whose_size_overflows_is_refused()
    {
        // [2^62, 2^62] float32.
        var big = new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40 };
        var ex = Refused(new Bytes().U8(0x01, 0x01).Text("w").U8(0x06, 0x02).Raw(big).Raw(big).ToArray());
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("more than 9223372036854775807 elements", ex.Message);
    }

    [Fact]
    public void Data_beyond_the_file_is_refused_with_the_sizes()
    {
        var ex = Refused(new Bytes().U8(0x01, 0x01).Text("w").U8(0x06, 0x01, 0xE8, 0x07).F32(1, 2).ToArray());
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("expected 4000 data bytes for float32[1000] but the file ends at byte 15", ex.Message);
        Assert.Equal(7, ex.Offset);
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        var entry = new Bytes().U8(0x01).Text("w").U8(0x00, 0x00, 0x07).ToArray();
        var ex = Refused(new Bytes().U8(0x02).Raw(entry).Raw(entry).ToArray());
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("duplicate tensor name (entry 2 of 2); it first appears at byte 1", ex.Message);
        Assert.Equal(6, ex.Offset);
    }

    [Fact]
    public void Bytes_after_the_last_tensor_are_refused()
    {
        var ex = Refused(new Bytes().Raw(Golden.LinearTorchSharp()).U8(0x00).ToArray());
        Assert.Contains("1 unexpected bytes after the last tensor 'bias'", ex.Message);
        Assert.Equal(52, ex.Offset);
        var zero = Refused([0x00, 0x00]);
        Assert.Contains("after the tensor count (0)", zero.Message);
    }

    [Fact]
    public void A_safetensors_file_opened_as_TorchSharp_gets_a_hint()
    {
        var ex = Refused(Golden.LinearSafetensors(), "linear.bin");
        Assert.Contains("looks like safetensors", ex.Message);
    }

    [Fact]
    public void A_malformed_sidecar_is_refused_and_a_stale_one_ignored_with_a_warning()
    {
        using var folder = new TempFolder();
        var linear = Golden.Linear();
        linear.Metadata["plan"] = "p1";
        linear.Save(folder.File("m.dat"));

        // Re-saved by TorchSharp (same length, other weights): the sidecar no longer describes the file.
        var bytes = File.ReadAllBytes(folder.File("m.dat"));
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(folder.File("m.dat"), bytes);
        using (var reader = CheckpointReader.Open(folder.File("m.dat")))
        {
            Assert.Empty(reader.Metadata);
            Assert.Null(reader.MetadataSidecarPath);
            Assert.Contains(reader.Warnings, w => w.Contains("m.dat.meta.json") && w.Contains("ignored"));
        }

        folder.Write("m.dat.meta.json", "{\"format\": \"something else\"}");
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(folder.File("m.dat")));
        Assert.Equal(folder.File("m.dat.meta.json"), ex.FilePath);
        Assert.Contains("not a NeuralSurgery metadata sidecar", ex.Message);

        folder.Write("m.dat.meta.json", "{\"format\": ");
        ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(folder.File("m.dat")));
        Assert.Contains("not valid JSON", ex.Message);
    }

    private static byte[] Leb(int value)
    {
        var bytes = new System.Collections.Generic.List<byte>();
        var v = (uint)value;
        while (v >= 0x80)
        {
            bytes.Add((byte)(v | 0x80));
            v >>= 7;
        }

        bytes.Add((byte)v);
        return bytes.ToArray();
    }
}
