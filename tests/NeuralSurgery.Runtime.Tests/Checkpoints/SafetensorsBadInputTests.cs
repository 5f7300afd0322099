using System;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class SafetensorsBadInputTests
{
    private static readonly byte[] LinearData = new Bytes().F32(Golden.Weight).F32(Golden.Bias).ToArray();

    private static CheckpointFormatException Refused(byte[] bytes)
    {
        using var folder = new TempFolder();
        var path = folder.Write("bad.safetensors", bytes);
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(path).Dispose());
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith(path, ex.Message);
        return ex;
    }

    private static CheckpointFormatException RefusedHeader(string header, byte[]? data = null) =>
        Refused(Safetensors.File(header, data ?? LinearData));

    private static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Fact]
    public void Truncation_at_every_byte_offset_names_the_file_and_the_tensor_it_falls_in()
    {
        var bytes = Golden.LinearSafetensors();
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var ex = Refused(bytes[..cut]);
            var expected = cut switch
            {
                >= 184 => "bias",
                >= 160 => "weight",
                _ => null,
            };
            Assert.Equal(expected, ex.TensorName);
            Assert.Contains("truncated", ex.Message);
            if (expected is not null)
            {
                Assert.Contains($"tensor '{expected}'", ex.Message);
            }
        }
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_refused()
    {
        var ex = Refused(new Bytes().U64(1000).Text("{}").ToArray());
        Assert.Contains("header length 1000 reaches beyond the end of the file", ex.Message);
        Assert.Contains("the file has 10 bytes", ex.Message);
        Assert.Equal(0, ex.Offset);
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    public void An_absurd_header_length_is_refused_without_allocating(ulong length)
    {
        var ex = Refused(new Bytes().U64(length).Text("{}").ToArray());
        Assert.Contains($"header length {length} is larger than the safetensors limit of 100000000 bytes", ex.Message);
    }

    [Theory]
    [InlineData("[]", "the header is a JSON array; expected a JSON object")]
    [InlineData("\"x\"", "the header is a JSON string; expected a JSON object")]
    [InlineData("{,}", "not valid JSON")]
    [InlineData("{\"a\":", "not valid JSON")]
    [InlineData("{} x", "not valid JSON")]
    [InlineData("   ", "not valid JSON")]
    public void A_header_that_is_not_a_JSON_object_is_refused(string header, string message)
    {
        var ex = RefusedHeader(header, []);
        Assert.Contains(message, ex.Message);
    }

    [Theory]
    [InlineData("{\"w\":[1,2]}", "the header entry is a JSON array; expected an object with dtype, shape and data_offsets")]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "needs \"dtype\" as a string")]
    [InlineData("{\"w\":{\"dtype\":6,\"shape\":[1],\"data_offsets\":[0,4]}}", "needs \"dtype\" as a string")]
    [InlineData("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown or unsupported dtype 'F8_E4M3'; expected one of F32, F64")]
    [InlineData("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "unknown or unsupported dtype 'f32'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "needs \"shape\" as an array")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", "needs \"shape\" as an array")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "shape element 0 is -1; expected a non-negative integer")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "shape element 0 is 1.5")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", "shape element 0 is \"1\"")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", "shape element 0 is 99999999999999999999")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", "more than 9223372036854775807 elements")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "needs \"data_offsets\" as an array [begin, end]")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "needs \"data_offsets\" as an array [begin, end]")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", "data_offsets begin is -4; expected a non-negative integer")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", "data_offsets end is \"4\"")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", "data_offsets [8, 4] end before they begin")]
    public void Entries_with_wrong_types_are_refused_naming_the_tensor(string header, string message)
    {
        var ex = RefusedHeader(header, new byte[4]);
        Assert.Equal("w", ex.TensorName);
        Assert.Contains(message, ex.Message);
        Assert.Equal(9, ex.Offset); // the entry's name, just after the "{"
    }

    [Fact]
    public void More_dims_than_the_rank_limit_are_refused()
    {
        var shape = "[" + string.Join(",", new string[1025].Select(_ => "1")) + "]";
        var ex = RefusedHeader("{" + Entry("w", "U8", shape, 0, 1) + "}", [0]);
        Assert.Contains("the shape has 1025 dims, more than the 1024 NeuralSurgery accepts", ex.Message);
    }

    [Fact]
    public void A_byte_range_whose_size_disagrees_with_dtype_and_shape_is_refused()
    {
        var ex = RefusedHeader("{" + Entry("w", "F32", "[2,3]", 0, 20) + "," + Entry("b", "F32", "[3]", 20, 32) + "}");
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("data_offsets [0, 20] hold 20 bytes but float32[2, 3] needs 24", ex.Message);
    }

    [Fact]
    public void Out_of_range_offsets_are_refused()
    {
        var ex = RefusedHeader("{" + Entry("w", "F32", "[2,3]", 0, 24) + "," + Entry("b", "F32", "[4]", 24, 40) + "}");
        Assert.Equal("b", ex.TensorName);
        Assert.Contains("data_offsets [24, 40] reach beyond the data section, which has 32 bytes", ex.Message);
    }

    [Fact]
    public void Overlapping_offsets_are_refused()
    {
        var ex = RefusedHeader("{" + Entry("w", "F32", "[2,3]", 0, 24) + "," + Entry("b", "F32", "[2]", 20, 28) + "," + Entry("c", "U8", "[4]", 28, 32) + "}");
        Assert.Equal("b", ex.TensorName);
        Assert.Contains("data_offsets [20, 28] overlap tensor 'w', which ends at 24", ex.Message);
    }

    [Fact]
    public void Non_contiguous_offsets_are_refused()
    {
        var gap = RefusedHeader("{" + Entry("w", "F32", "[2,3]", 0, 24) + "," + Entry("b", "F32", "[1]", 28, 32) + "}");
        Assert.Equal("b", gap.TensorName);
        Assert.Contains("leave bytes [24, 28) of the data section unused after tensor 'w'; safetensors data must be contiguous", gap.Message);

        var start = RefusedHeader("{" + Entry("w", "F32", "[7]", 4, 32) + "}");
        Assert.Contains("leave bytes [0, 4) of the data section unused;", start.Message);
    }

    [Fact]
    public void Data_beyond_the_last_offset_is_refused()
    {
        var ex = RefusedHeader("{" + Entry("w", "F32", "[2,3]", 0, 24) + "}");
        Assert.Contains("8 unexpected bytes after the last tensor's data ('w')", ex.Message);
        Assert.Equal(8 + 57 + 24, ex.Offset);
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        var ex = RefusedHeader("{" + Entry("w", "F32", "[2]", 0, 8) + "," + Entry("w", "F32", "[6]", 8, 32) + "}");
        Assert.Equal("w", ex.TensorName);
        Assert.Contains("duplicate tensor name", ex.Message);
        Assert.Equal(8 + 54, ex.Offset);
    }

    [Theory]
    [InlineData("{\"__metadata__\":[]}", "__metadata__ is a JSON array; expected an object of string values")]
    [InlineData("{\"__metadata__\":{\"n\":1}}", "__metadata__ value 'n' is a JSON number; expected a string")]
    [InlineData("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", "__metadata__ has the key 'a' twice")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{}}", "the header has two __metadata__ entries")]
    public void Malformed_metadata_is_refused(string header, string message)
    {
        var ex = RefusedHeader(header, []);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Invalid_UTF8_in_the_header_is_refused()
    {
        var header = new Bytes().Text("{\"").U8(0xC3, 0x28).Text("\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}").ToArray();
        var ex = Refused(new Bytes().U64((ulong)header.Length).Raw(header).ToArray());
        Assert.Contains("header", ex.Message);
    }

    [Fact]
    public void A_deeply_nested_header_is_refused()
    {
        var ex = RefusedHeader("{\"w\":" + new string('[', 10_000) + new string(']', 10_000) + "}", []);
        Assert.Contains("not valid JSON", ex.Message);
    }

    [Fact]
    public void Writing_a_tensor_named_metadata_is_refused()
    {
        using var folder = new TempFolder();
        var ex = Assert.Throws<ArgumentException>(() =>
            CheckpointWriter.Create(folder.File("x.safetensors"), CheckpointFormat.Safetensors, [TensorInfo.Create("__metadata__", DType.UInt8)]));
        Assert.Contains("__metadata__", ex.Message);
        Assert.Empty(folder.Listing());
    }
}
