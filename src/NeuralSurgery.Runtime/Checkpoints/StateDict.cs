using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// An in-memory, ordered state_dict: named tensors with their little-endian bytes (one array per tensor) and
/// string metadata. Order is insertion order and is the order <c>Save</c> writes, which is what TorchSharp's
/// format needs to be byte-exact (parameters, then buffers; TORCHSHARP.md).
/// </summary>
/// <remarks>
/// For models and tests that fit in memory; an executor working on large checkpoints reads a
/// <see cref="CheckpointReader"/> by range instead. Mutation is not thread-safe; concurrent <see cref="Read"/> is.
/// Typed views (<see cref="Values{T}"/>) assume a little-endian machine, as TorchSharp does.
/// </remarks>
public sealed class StateDict : ITensorSource
{
    private readonly List<TensorInfo> _tensors = [];
    private readonly List<byte[]> _data = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly System.Collections.ObjectModel.ReadOnlyCollection<TensorInfo> _view;

    public StateDict() => _view = _tensors.AsReadOnly();

    public int Count => _tensors.Count;

    public IReadOnlyList<TensorInfo> Tensors => _view;

    /// <summary>Metadata written with the tensors (safetensors <c>__metadata__</c>, or the TorchSharp sidecar).</summary>
    public OrderedDictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    IReadOnlyDictionary<string, string> ITensorSource.Metadata => Metadata;

    public TensorInfo this[int index] => _tensors[index];

    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.ContainsKey(name);
    }

    public TensorInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var i) ? _tensors[i] : null;
    }

    /// <summary>Appends a tensor; the dictionary takes ownership of <paramref name="data"/> (no copy).</summary>
    public TensorInfo Add(TensorInfo tensor, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(data);
        CheckLength(tensor, data);
        if (_byName.ContainsKey(tensor.Name))
        {
            throw new ArgumentException($"The state dict already has a tensor named '{tensor.Name}'.", nameof(tensor));
        }

        _byName.Add(tensor.Name, _tensors.Count);
        _tensors.Add(tensor);
        _data.Add(data);
        return tensor;
    }

    /// <summary>Appends a zero-filled tensor.</summary>
    public TensorInfo AddZeros(string name, DType dtype, params long[] shape)
    {
        var tensor = TensorInfo.Create(name, dtype, shape);
        return Add(tensor, NewArray(tensor));
    }

    /// <summary>
    /// Appends a tensor holding a copy of <paramref name="values"/>; the dtype follows <typeparamref name="T"/>
    /// (float, double, Half, long, int, short, sbyte, byte as uint8, bool). An empty shape is a 0-dim tensor.
    /// </summary>
    public TensorInfo Add<T>(string name, T[] values, params long[] shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        var tensor = TensorInfo.Create(name, DTypeOf<T>(), shape);
        if (tensor.ElementCount != values.Length)
        {
            throw new ArgumentException(
                $"Tensor {tensor} has {tensor.ElementCount} elements but {values.Length} values were given.", nameof(values));
        }

        var data = NewArray(tensor);
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(data);
        return Add(tensor, data);
    }

    /// <summary>Replaces a tensor's layout and data in place (same name, same position); takes ownership of <paramref name="data"/>.</summary>
    public void Replace(TensorInfo tensor, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(data);
        CheckLength(tensor, data);
        var i = IndexOf(tensor.Name);
        _tensors[i] = tensor;
        _data[i] = data;
    }

    public bool Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_byName.TryGetValue(name, out var i))
        {
            return false;
        }

        _tensors.RemoveAt(i);
        _data.RemoveAt(i);
        _byName.Remove(name);
        for (var j = i; j < _tensors.Count; j++)
        {
            _byName[_tensors[j].Name] = j;
        }

        return true;
    }

    /// <summary>The tensor's bytes, not a copy: writes change the tensor.</summary>
    public byte[] GetData(string name) => _data[IndexOf(name)];

    /// <summary>A typed view of the tensor's bytes; <typeparamref name="T"/> must match its dtype (see <see cref="Add{T}"/>;
    /// <see cref="ushort"/> views float16 and bfloat16 bits, <see cref="byte"/> views bool and uint8).</summary>
    public Span<T> Values<T>(string name)
        where T : unmanaged
    {
        var i = IndexOf(name);
        var tensor = _tensors[i];
        if (!Fits<T>(tensor.DType))
        {
            throw new InvalidOperationException($"Tensor {tensor} cannot be viewed as {typeof(T).Name}.");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Typed tensor views need a little-endian machine.");
        }

        return MemoryMarshal.Cast<byte, T>(_data[i].AsSpan());
    }

    public Span<float> Float32(string name) => Values<float>(name);

    public Span<double> Float64(string name) => Values<double>(name);

    public Span<long> Int64(string name) => Values<long>(name);

    public void Read(TensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryGetValue(tensor.Name, out var i) || !_tensors[i].Equals(tensor))
        {
            throw new ArgumentException($"Tensor {tensor} is not part of this state dict.", nameof(tensor));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        if (byteOffset > tensor.ByteLength || destination.Length > tensor.ByteLength - byteOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"Bytes [{byteOffset}, {byteOffset + destination.Length}) are outside tensor '{tensor.Name}' ({tensor.ByteLength} bytes).");
        }

        _data[i].AsSpan((int)byteOffset, destination.Length).CopyTo(destination);
    }

    /// <summary>
    /// Writes the tensors in order with <see cref="Metadata"/> through <see cref="CheckpointWriter"/> (atomic);
    /// a null <paramref name="format"/> is chosen by file name (<see cref="CheckpointFormats.FromPath"/>).
    /// </summary>
    public void Save(string path, CheckpointFormat? format = null, bool overwrite = false) => Save(null, path, format, overwrite);

    /// <summary>As <see cref="Save(string, CheckpointFormat?, bool)"/>, as one output of <paramref name="batch"/> (put in place by its commit).</summary>
    public void Save(OutputBatch? batch, string path, CheckpointFormat? format = null, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var writer = CheckpointWriter.Create(batch, path, format ?? CheckpointFormats.FromPath(path), _tensors, Metadata, overwrite);
        for (var i = 0; i < _tensors.Count; i++)
        {
            writer.WriteTensor(_tensors[i].Name, _data[i]);
        }

        writer.Commit();
    }

    /// <summary>Reads a whole checkpoint into memory.</summary>
    public static StateDict Load(string path, CheckpointFormat? format = null)
    {
        using var reader = CheckpointReader.Open(path, format);
        return From(reader);
    }

    /// <summary>Copies every tensor and the metadata of <paramref name="source"/>, in order.</summary>
    public static StateDict From(ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var dict = new StateDict();
        foreach (var (key, value) in source.Metadata)
        {
            dict.Metadata.Add(key, value);
        }

        foreach (var tensor in source.Tensors)
        {
            dict.Add(tensor, source.ReadAll(tensor));
        }

        return dict;
    }

    private int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out var i) ? i : throw new KeyNotFoundException($"No tensor named '{name}' in the state dict.");
    }

    private static void CheckLength(TensorInfo tensor, byte[] data)
    {
        if (data.LongLength != tensor.ByteLength)
        {
            throw new ArgumentException($"Tensor {tensor} needs {tensor.ByteLength} bytes but {data.LongLength} were given.", nameof(data));
        }
    }

    private static byte[] NewArray(TensorInfo tensor) =>
        tensor.ByteLength <= Array.MaxLength
            ? new byte[tensor.ByteLength]
            : throw new NotSupportedException($"Tensor {tensor} has {tensor.ByteLength} bytes, more than one array can hold.");

    private static DType DTypeOf<T>()
        where T : unmanaged =>
        TryDTypeOf<T>() ?? throw new NotSupportedException(
            $"No dtype for {typeof(T).Name}; add the tensor from bytes with Add(TensorInfo, byte[]).");

    private static DType? TryDTypeOf<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(short)) return DType.Int16;
        if (typeof(T) == typeof(sbyte)) return DType.Int8;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        return null;
    }

    private static bool Fits<T>(DType dtype)
        where T : unmanaged
    {
        if (typeof(T) == typeof(ushort))
        {
            return dtype is DType.Float16 or DType.BFloat16;
        }

        if (typeof(T) == typeof(byte))
        {
            return dtype is DType.UInt8 or DType.Bool;
        }

        return TryDTypeOf<T>() == dtype;
    }
}
