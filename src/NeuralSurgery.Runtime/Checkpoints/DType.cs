using System;
using System.Collections.Generic;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// The element types NeuralSurgery reads and writes. Complex and quantized TorchSharp types are not supported:
/// surgery on them has no meaning we could test, so readers reject them with a <see cref="CheckpointFormatException"/>.
/// </summary>
/// <remarks>The numeric values are ours, not c10's: use <see cref="DTypes.ScalarTypeCode"/> for the file code.</remarks>
public enum DType
{
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>Sizes and the three spellings of a <see cref="DType"/>: c10 ScalarType code, safetensors name, IR name.</summary>
public static class DTypes
{
    /// <summary>Every supported dtype, in declaration order.</summary>
    public static IReadOnlyList<DType> All { get; } =
    [
        DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int64,
        DType.Int32, DType.Int16, DType.Int8, DType.UInt8, DType.Bool,
    ];

    /// <summary>Bytes per element (bool is one byte, bf16 two: the top half of an f32; TORCHSHARP.md).</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Float16 => 2,
        DType.BFloat16 => 2,
        DType.Int64 => 8,
        DType.Int32 => 4,
        DType.Int16 => 2,
        DType.Int8 => 1,
        DType.UInt8 => 1,
        DType.Bool => 1,
        _ => throw Unknown(dtype),
    };

    /// <summary>The c10 <c>ScalarType</c> code TorchSharp's <c>Module.save</c> writes (TORCHSHARP.md).</summary>
    public static int ScalarTypeCode(this DType dtype) => dtype switch
    {
        DType.UInt8 => 0,
        DType.Int8 => 1,
        DType.Int16 => 2,
        DType.Int32 => 3,
        DType.Int64 => 4,
        DType.Float16 => 5,
        DType.Float32 => 6,
        DType.Float64 => 7,
        DType.Bool => 11,
        DType.BFloat16 => 15,
        _ => throw Unknown(dtype),
    };

    /// <summary>The safetensors header name (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL).</summary>
    public static string SafetensorsName(this DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw Unknown(dtype),
    };

    /// <summary>The graph IR's spelling, as in <c>GraphParameter.Declaration.DType</c> and <c>TensorPlan.DType</c>.</summary>
    public static string IrName(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        DType.Int64 => "int64",
        DType.Int32 => "int32",
        DType.Int16 => "int16",
        DType.Int8 => "int8",
        DType.UInt8 => "uint8",
        DType.Bool => "bool",
        _ => throw Unknown(dtype),
    };

    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    public static bool TryFromScalarType(long code, out DType dtype)
    {
        foreach (var candidate in All)
        {
            if (candidate.ScalarTypeCode() == code)
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>Exact, case-sensitive, as the safetensors reference implementation reads it.</summary>
    public static bool TryFromSafetensorsName(string name, out DType dtype)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.SafetensorsName(), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>Exact, case-sensitive IR name ("float32", "int64", ...).</summary>
    public static bool TryFromIrName(string name, out DType dtype)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.IrName(), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>The dtype of an IR name; <see cref="ArgumentException"/> naming the accepted names otherwise.</summary>
    public static DType FromIrName(string name) =>
        TryFromIrName(name, out var dtype)
            ? dtype
            : throw new ArgumentException($"Unknown dtype '{name}'; expected one of {string.Join(", ", IrNames())}.", nameof(name));

    /// <summary>Lenient parse for command lines: an IR name or a safetensors name, any case.</summary>
    public static bool TryParse(string text, out DType dtype)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.IrName(), text, StringComparison.OrdinalIgnoreCase)
                || string.Equals(candidate.SafetensorsName(), text, StringComparison.OrdinalIgnoreCase))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>The c10 name of a code TorchSharp can write but we do not support, for error messages.</summary>
    internal static string? UnsupportedScalarTypeName(long code) => code switch
    {
        8 => "ComplexHalf",
        9 => "ComplexFloat32",
        10 => "ComplexFloat64",
        12 => "QInt8",
        13 => "QUInt8",
        14 => "QInt32",
        _ => null,
    };

    internal static string DescribeScalarTypeCodes()
    {
        var parts = new List<string>();
        for (var code = 0; code <= 15; code++)
        {
            if (TryFromScalarType(code, out var dtype))
            {
                parts.Add($"{code} ({dtype.IrName()})");
            }
        }

        return string.Join(", ", parts);
    }

    internal static string DescribeSafetensorsNames()
    {
        var parts = new List<string>();
        foreach (var dtype in All)
        {
            parts.Add(dtype.SafetensorsName());
        }

        return string.Join(", ", parts);
    }

    private static IEnumerable<string> IrNames()
    {
        foreach (var dtype in All)
        {
            yield return dtype.IrName();
        }
    }

    private static ArgumentOutOfRangeException Unknown(DType dtype) =>
        new(nameof(dtype), dtype, "Not a defined DType value.");
}
