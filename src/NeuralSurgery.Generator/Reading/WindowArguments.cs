using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Kernel, stride, padding and dilation of convolutions and pooling as TorchSharp takes them (a number for every
/// axis, a tuple or an array per axis, or null for the default), read once for module factories and functional calls.
/// </summary>
internal static class WindowArguments
{
    /// <summary>
    /// One value per axis: a number repeats, a tuple or array must have <paramref name="dims"/> entries, null gives
    /// <paramref name="fallback"/>. Null when the value has another shape (the caller reports it).
    /// </summary>
    public static long[]? PerAxis(object? value, int dims, long[]? fallback) => value switch
    {
        null => fallback,
        long l => Enumerable.Repeat(l, dims).ToArray(),
        long[] a when a.Length == dims => a,
        long[] { Length: 1 } a => Enumerable.Repeat(a[0], dims).ToArray(),
        _ => null,
    };

    /// <summary>A pooling op, or why TorchSharp's arguments have no exact IR form.</summary>
    public static (PoolOp? Op, string? Problem) Pool(PoolKind kind, int dims, object? kernel, object? stride, object? padding, object? dilation, bool ceilMode, bool countIncludePad, object? divisorOverride)
    {
        var k = PerAxis(kernel, dims, null);
        if (k is null)
        {
            return (null, $"kernel_size must be a constant with {dims} value(s)");
        }

        // PyTorch: stride defaults to the kernel size.
        var s = PerAxis(stride, dims, k);
        var p = PerAxis(padding, dims, new long[dims]);
        var d = PerAxis(dilation, dims, Enumerable.Repeat(1L, dims).ToArray());
        if (s is null || p is null || d is null)
        {
            return (null, $"stride, padding and dilation must be constants with {dims} value(s) each");
        }

        if (ceilMode)
        {
            return (null, "ceil_mode: true gives windows past the input; the mirror follows ceil_mode: false");
        }

        if (kind == PoolKind.Avg && (!countIncludePad || divisorOverride is not null))
        {
            return (null, "avg pooling is read with count_include_pad: true and no divisor_override (PyTorch's defaults)");
        }

        return (new PoolOp(kind, k.ToEquatableArray(), s.ToEquatableArray(), p.ToEquatableArray(), d.ToEquatableArray()), null);
    }

    /// <summary>An adaptive pooling op of <paramref name="dims"/> axes, or null when the output size is not constant.</summary>
    public static AdaptivePoolOp? Adaptive(PoolKind kind, int dims, object? output) =>
        PerAxis(output, dims, null) is { } o ? new AdaptivePoolOp(kind, o.ToEquatableArray()) : null;
}
