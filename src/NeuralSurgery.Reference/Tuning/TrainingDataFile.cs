using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>
/// A training data file does not fit the graph it should feed: a tensor missing, unknown, of the wrong shape or
/// dtype, or a different number of samples than the others. The message names the file, the tensor and the shape
/// that was expected.
/// </summary>
public sealed class TrainingDataException : Exception
{
    public TrainingDataException()
    {
    }

    public TrainingDataException(string message)
        : base(message)
    {
    }

    public TrainingDataException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Training data for the reference executor in one checkpoint file (safetensors, or any format the runtime reads):
/// one tensor per graph input, named as the input, with the samples along the input's batch axis (the axis declared
/// <c>B</c>), and one target tensor (default name <see cref="DefaultTarget"/>) with the samples on axis 0: float
/// targets for MSE, class indices (any integer or float dtype) for cross-entropy. Values are converted to float32,
/// as the reference executor holds categorical indices as floats.
/// </summary>
public static class TrainingDataFile
{
    public const string DefaultTarget = "target";

    /// <summary>Reads and checks <paramref name="path"/> against <paramref name="graph"/>'s inputs.</summary>
    /// <exception cref="TrainingDataException">The file does not fit the graph (every problem is named at once).</exception>
    public static TensorDataset Load(string path, ModelGraph graph, string target = DefaultTarget)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(target);
        using (var reader = CheckpointReader.Open(path))
        {
            CheckFitsInMemory(reader, path, MemoryBudget.Bytes);
        }

        return Read(StateDict.Load(path), path, graph, target);
    }

    /// <summary>
    /// The reference executor trains in memory: the stored bytes and their float32 copy must fit
    /// <paramref name="budget"/>, checked from the file's table before any data is read, so that a file with too
    /// many rows is refused by name rather than ending in OutOfMemory.
    /// </summary>
    /// <exception cref="TrainingDataException">The data would not fit.</exception>
    public static void CheckFitsInMemory(ITensorSource data, string name, long budget)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(name);
        long stored = 0;
        long floats = 0;
        foreach (var t in data.Tensors)
        {
            if (t.ElementCount > Array.MaxLength)
            {
                throw new TrainingDataException(
                    $"{name}: tensor '{t.Name}' has {t.ElementCount} elements, more than one float32 array holds ({Array.MaxLength}); the reference executor trains in memory: pass fewer rows");
            }

            stored += t.ByteLength;
            floats += t.ElementCount * sizeof(float);
        }

        if (stored + floats > budget)
        {
            throw new TrainingDataException(
                $"{name}: the training data takes {stored + floats} bytes in memory ({stored} as stored, {floats} as float32), more than the {budget} this process has for it; the reference executor trains in memory: pass fewer rows");
        }
    }

    /// <summary>As <see cref="Load"/>, over tensors already in memory; <paramref name="name"/> is how messages name them.</summary>
    public static TensorDataset Read(StateDict data, string name, ModelGraph graph, string target = DefaultTarget)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(target);
        var problems = new List<string>();
        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var axes = new Dictionary<string, int>(StringComparer.Ordinal);
        var symbols = new Dictionary<string, (long Size, string From)>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var info = data.Find(input.Name);
            var batchAxis = BatchAxis(input.Shape);
            if (batchAxis < 0)
            {
                // Samples are drawn along B; an input without it cannot be split into samples.
                problems.Add($"graph input '{input.Name}' has shape {input.Shape} without a batch axis B, so its samples cannot be drawn");
                continue;
            }

            if (info is null)
            {
                problems.Add($"tensor '{input.Name}' is missing; expected {Kind(input)} of shape {input.Shape} (graph input '{input.Name}')");
                continue;
            }

            if (Check(info, input.Shape, symbols) is { } wrong)
            {
                problems.Add($"tensor '{input.Name}' has shape {Describe(info)}; expected {input.Shape} ({wrong})");
                continue;
            }

            if (!Numeric(info.DType))
            {
                problems.Add($"tensor '{input.Name}' has dtype {info.DType.IrName()}; expected a number type ({Kind(input)})");
                continue;
            }

            inputs[input.Name] = ToTensor(data, info);
            axes[input.Name] = batchAxis;
        }

        var samples = symbols.TryGetValue(Dim.BatchSymbol, out var b) ? b : ((long Size, string From)?)null;
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var targetInfo = data.Find(target);
        if (targetInfo is null)
        {
            problems.Add($"tensor '{target}' is missing; expected the targets with the samples on axis 0"
                + (samples is { } s ? $" ({s.Size} of them, as tensor '{s.From}' holds)" : string.Empty)
                + ": float values shaped like the output for MSE, class indices for cross-entropy");
        }
        else if (!Numeric(targetInfo.DType))
        {
            problems.Add($"tensor '{target}' has dtype {targetInfo.DType.IrName()}; expected float targets or integer class indices");
        }
        else if (targetInfo.Rank == 0 || (samples is { } s && targetInfo.Shape[0] != s.Size))
        {
            problems.Add($"tensor '{target}' has shape {Describe(targetInfo)}; expected {samples?.Size.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "the number of"} samples on axis 0"
                + (samples is { } t ? $", as tensor '{t.From}' holds" : string.Empty));
        }
        else
        {
            targets[target] = ToTensor(data, targetInfo);
        }

        foreach (var extra in data.Tensors)
        {
            if (graph.FindInput(extra.Name) is null && extra.Name != target)
            {
                // A misspelt input name would otherwise surface only as "missing"; naming the stray tensor says why.
                problems.Add($"tensor '{extra.Name}' is neither a graph input ({string.Join(", ", graph.Inputs.Select(i => i.Name))}) nor the target '{target}'");
            }
        }

        if (problems.Count > 0)
        {
            throw new TrainingDataException($"{name}: training data does not fit graph '{graph.Name}': " + string.Join("; ", problems) + ".");
        }

        return new TensorDataset(inputs, targets, axes);
    }

    private static string Kind(GraphInput input) => input.Role switch
    {
        InputRole.Categorical => "category indices",
        InputRole.State => "state values",
        InputRole.Offsets => "bag offsets",
        _ => "feature values",
    };

    private static int BatchAxis(Shape shape)
    {
        for (var a = 0; a < shape.Rank; a++)
        {
            if (shape[a].IsPlainSymbol && shape[a].Terms[0].Symbol == Dim.BatchSymbol)
            {
                return a;
            }
        }

        return -1;
    }

    /// <summary>Null when <paramref name="info"/> fits <paramref name="shape"/>; else what is wrong. Binds plain symbols.</summary>
    private static string? Check(TensorInfo info, Shape shape, Dictionary<string, (long Size, string From)> symbols)
    {
        if (info.Rank != shape.Rank)
        {
            return $"rank {shape.Rank}";
        }

        for (var a = 0; a < shape.Rank; a++)
        {
            var d = shape[a];
            var actual = info.Shape[a];
            if (d.IsConstant && d.Constant != actual)
            {
                return $"axis {a} must be {d.Constant}";
            }

            if (d.IsPlainSymbol)
            {
                var symbol = d.Terms[0].Symbol;
                if (symbols.TryGetValue(symbol, out var bound) && bound.Size != actual)
                {
                    return $"axis {a} is {symbol} = {bound.Size}, as tensor '{bound.From}' binds it";
                }

                if (actual < 1)
                {
                    return $"axis {a} is {symbol} >= 1";
                }

                symbols.TryAdd(symbol, (actual, info.Name));
            }
        }

        // Linear forms (2·N + 4) are checked by the executor's binder on the first pass.
        return null;
    }

    private static string Describe(TensorInfo info) => "[" + string.Join(", ", info.Shape) + "]";

    private static bool Numeric(DType dtype) => dtype.IsFloatingPoint() || dtype is DType.Int64 or DType.Int32 or DType.Int16 or DType.Int8 or DType.UInt8;

    private static Tensor ToTensor(StateDict data, TensorInfo info)
    {
        var shape = info.Shape.Select(d => checked((int)d)).ToArray();
        var values = new float[checked((int)info.ElementCount)];
        var bytes = data.GetData(info.Name).AsSpan();
        if (info.DType.IsFloatingPoint())
        {
            WeightConversion.ToFloat32(bytes, info.DType, values);
        }
        else
        {
            var size = info.DType.ElementSize();
            for (var i = 0; i < values.Length; i++)
            {
                var e = bytes.Slice(i * size, size);
                values[i] = info.DType switch
                {
                    DType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                    DType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                    DType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                    DType.Int8 => (sbyte)e[0],
                    _ => e[0],
                };
            }
        }

        return new Tensor(values, shape);
    }
}
