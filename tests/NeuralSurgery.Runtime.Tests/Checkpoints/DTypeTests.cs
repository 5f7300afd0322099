using System;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class DTypeTests
{
    [Theory]
    [InlineData(DType.Float32, 4, 6, "F32", "float32")]
    [InlineData(DType.Float64, 8, 7, "F64", "float64")]
    [InlineData(DType.Float16, 2, 5, "F16", "float16")]
    [InlineData(DType.BFloat16, 2, 15, "BF16", "bfloat16")]
    [InlineData(DType.Int64, 8, 4, "I64", "int64")]
    [InlineData(DType.Int32, 4, 3, "I32", "int32")]
    [InlineData(DType.Int16, 2, 2, "I16", "int16")]
    [InlineData(DType.Int8, 1, 1, "I8", "int8")]
    [InlineData(DType.UInt8, 1, 0, "U8", "uint8")]
    [InlineData(DType.Bool, 1, 11, "BOOL", "bool")]
    public void Sizes_codes_and_names_follow_c10_safetensors_and_the_IR(DType dtype, int size, int code, string safetensors, string ir)
    {
        Assert.Equal(size, dtype.ElementSize());
        Assert.Equal(code, dtype.ScalarTypeCode());
        Assert.Equal(safetensors, dtype.SafetensorsName());
        Assert.Equal(ir, dtype.IrName());
        Assert.True(DTypes.TryFromScalarType(code, out var fromCode) && fromCode == dtype);
        Assert.True(DTypes.TryFromSafetensorsName(safetensors, out var fromName) && fromName == dtype);
        Assert.True(DTypes.TryFromIrName(ir, out var fromIr) && fromIr == dtype);
        Assert.Equal(dtype, DTypes.FromIrName(ir));
        Assert.True(DTypes.TryParse(ir.ToUpperInvariant(), out var parsed) && parsed == dtype);
        Assert.True(DTypes.TryParse(safetensors.ToLowerInvariant(), out parsed) && parsed == dtype);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(16)]
    [InlineData(-1)]
    [InlineData(long.MaxValue)]
    public void Complex_quantized_and_unknown_codes_are_not_dtypes(long code) =>
        Assert.False(DTypes.TryFromScalarType(code, out _));

    [Fact]
    public void Unknown_names_are_rejected_and_named()
    {
        Assert.False(DTypes.TryFromSafetensorsName("f32", out _));
        Assert.False(DTypes.TryFromSafetensorsName("F8_E4M3", out _));
        Assert.False(DTypes.TryFromIrName("Float32", out _));
        var ex = Assert.Throws<ArgumentException>(() => DTypes.FromIrName("complex64"));
        Assert.Contains("complex64", ex.Message);
        Assert.Contains("float32", ex.Message);
    }

    [Fact]
    public void All_lists_every_value_once() =>
        Assert.Equal(Enum.GetValues<DType>().OrderBy(d => d), DTypes.All.OrderBy(d => d));

    [Fact]
    public void Floating_point_dtypes_are_the_four_floats() =>
        Assert.Equal([DType.Float32, DType.Float64, DType.Float16, DType.BFloat16], DTypes.All.Where(d => d.IsFloatingPoint()));
}
