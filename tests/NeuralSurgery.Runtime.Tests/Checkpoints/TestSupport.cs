using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

/// <summary>A fresh folder under the temp path, deleted with everything in it.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ns-ckpt-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, byte[] bytes)
    {
        var path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    /// <summary>Every file name in the folder and below, relative, sorted.</summary>
    public string[] Listing() =>
        Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Path, f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Builds checkpoint bytes by hand, so golden files do not depend on the code under test.</summary>
public sealed class Bytes
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public Bytes U8(params int[] values)
    {
        foreach (var v in values)
        {
            _bytes.Add(checked((byte)v));
        }

        return this;
    }

    public Bytes Text(string text)
    {
        _bytes.AddRange(Encoding.UTF8.GetBytes(text));
        return this;
    }

    public Bytes F32(params float[] values)
    {
        foreach (var v in values)
        {
            var buffer = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(buffer, v);
            _bytes.AddRange(buffer);
        }

        return this;
    }

    public Bytes U64(ulong value)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
        _bytes.AddRange(buffer);
        return this;
    }

    public Bytes Raw(byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();
}

public static class Safetensors
{
    /// <summary>A safetensors file from a header text (no padding added) and data bytes.</summary>
    public static byte[] File(string header, byte[] data) =>
        new Bytes().U64((ulong)Encoding.UTF8.GetByteCount(header)).Text(header).Raw(data).ToArray();
}

public static class Golden
{
    public static readonly float[] Weight = [1f, -2f, 0.5f, 3f, -0.25f, 8f];
    public static readonly float[] Bias = [0.125f, -1f];

    /// <summary>
    /// TORCHSHARP.md's worked example: <c>Linear(3,2)</c> saves to 52 bytes:
    /// <c>02</c>, <c>06 "weight" 06 02 02 03</c> + 24 data bytes, <c>04 "bias" 06 01 02</c> + 8 data bytes.
    /// </summary>
    public static byte[] LinearTorchSharp() => new Bytes()
        .U8(0x02)
        .U8(0x06).Text("weight").U8(0x06, 0x02, 0x02, 0x03)
        .U8(0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x3F) // 1, -2, 0.5
        .U8(0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0xBE, 0x00, 0x00, 0x00, 0x41) // 3, -0.25, 8
        .U8(0x04).Text("bias").U8(0x06, 0x01, 0x02)
        .U8(0x00, 0x00, 0x00, 0x3E, 0x00, 0x00, 0x80, 0xBF) // 0.125, -1
        .ToArray();

    public const string LinearSafetensorsHeader =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        + "\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";

    /// <summary>The same Linear as safetensors: 151 header bytes padded with one space to 152 (0x98), then 32 data bytes.</summary>
    public static byte[] LinearSafetensors() => new Bytes()
        .U8(0x98, 0, 0, 0, 0, 0, 0, 0)
        .Text(LinearSafetensorsHeader).U8(0x20)
        .F32(Weight).F32(Bias)
        .ToArray();

    public static StateDict Linear()
    {
        var dict = new StateDict();
        dict.Add("weight", Weight, 2, 3);
        dict.Add("bias", Bias, 2);
        return dict;
    }
}
