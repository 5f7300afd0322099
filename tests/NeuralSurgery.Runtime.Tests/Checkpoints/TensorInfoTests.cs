using System;
using NeuralSurgery.Collections;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class TensorInfoTests
{
    [Fact]
    public void Sizes_follow_dtype_and_shape()
    {
        var t = TensorInfo.Create("w", DType.Float64, 2, 3, 4);
        Assert.Equal(24, t.ElementCount);
        Assert.Equal(192, t.ByteLength);
        Assert.Equal(3, t.Rank);
        Assert.Equal("w float64[2, 3, 4]", t.ToString());
    }

    [Fact]
    public void A_0_dim_tensor_has_one_element_and_a_zero_dim_none()
    {
        var scalar = TensorInfo.Create("step", DType.Int64);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal(8, scalar.ByteLength);
        var empty = TensorInfo.Create("none", DType.Float32, 4, 0, long.MaxValue);
        Assert.Equal(0, empty.ElementCount);
        Assert.Equal(0, empty.ByteLength);
    }

    [Fact]
    public void Equality_is_structural()
    {
        Assert.Equal(TensorInfo.Create("a", DType.Int8, 1, 2), new TensorInfo("a", DType.Int8, EquatableArray.Create(1L, 2L)));
        Assert.NotEqual(TensorInfo.Create("a", DType.Int8, 1, 2), TensorInfo.Create("a", DType.Int8, 2, 1));
        Assert.NotEqual(TensorInfo.Create("a", DType.Int8, 1, 2), TensorInfo.Create("a", DType.UInt8, 1, 2));
    }

    [Fact]
    public void Hostile_shapes_give_a_clear_error_not_an_overflow()
    {
        var elements = Assert.Throws<ArgumentException>(() => TensorInfo.Create("big", DType.Float32, long.MaxValue, 2));
        Assert.Contains("'big'", elements.Message);
        Assert.Contains("more than", elements.Message);
        var bytes = Assert.Throws<ArgumentException>(() => TensorInfo.Create("big", DType.Float64, long.MaxValue / 4));
        Assert.Contains("bytes", bytes.Message);
        var negative = Assert.Throws<ArgumentException>(() => TensorInfo.Create("neg", DType.Float32, 2, -1));
        Assert.Contains("negative", negative.Message);
    }

    [Fact]
    public void Names_must_have_a_UTF8_form()
    {
        Assert.Throws<ArgumentException>(() => TensorInfo.Create("bad\ud800", DType.Float32));
        Assert.Equal("ok\ud83d\ude00", TensorInfo.Create("ok\ud83d\ude00", DType.Float32).Name);
    }
}
