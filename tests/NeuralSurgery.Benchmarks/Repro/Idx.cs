using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace NeuralSurgery.Benchmarks.Repro;

/// <summary>An IDX array of unsigned bytes (the MNIST family's format): its dimensions and its row-major values.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Values)
{
    /// <summary>Values per item of the first axis (28 × 28 for an image file, 1 for labels).</summary>
    public int ItemSize => Dimensions.Skip(1).Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// Reads IDX files (LeCun's MNIST format, also Fashion-MNIST's), plain or gzip-compressed (told apart by the gzip
/// magic 1f 8b, not by the name). Header: two zero bytes, a type code (0x08: unsigned byte, the only type these data
/// sets use), the rank, then one big-endian int32 per dimension; then exactly the product of the dimensions in values.
/// Anything else — a bad magic, another type, a rank or size other than expected, a file shorter or longer than its
/// header says, a corrupt gzip stream — is an <see cref="InvalidDataException"/> naming the file and what was
/// expected.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByte = 0x08;

    /// <summary>
    /// Reads <paramref name="path"/>; <paramref name="rank"/> and, where given, <paramref name="itemShape"/> (every
    /// dimension after the first) are what the caller expects, e.g. rank 3 and [28, 28] for images.
    /// </summary>
    public static IdxArray Read(string path, int rank, params int[] itemShape)
    {
        ArgumentNullException.ThrowIfNull(path);
        var raw = File.ReadAllBytes(path);
        byte[] bytes;
        try
        {
            bytes = IsGzip(raw) ? Gunzip(raw) : raw;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: corrupt or truncated gzip stream ({e.Message}); expected a gzip-compressed IDX file", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated gzip stream; expected a complete gzip-compressed IDX file", e);
        }

        // GZipStream stops quietly at a stream cut inside a block on some inputs; the trailer's length (mod 2^32) does not.
        if (IsGzip(raw) && (raw.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) != (uint)bytes.Length))
        {
            throw Bad(path, $"gzip stream holds {bytes.Length} bytes but its trailer says {(raw.Length < 4 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)))}; expected a complete gzip-compressed IDX file");
        }

        return Parse(path, bytes, rank, itemShape);
    }

    /// <summary>Parses IDX bytes (already decompressed); <paramref name="name"/> is what errors call the file.</summary>
    public static IdxArray Parse(string name, ReadOnlySpan<byte> bytes, int rank, params int[] itemShape)
    {
        ArgumentNullException.ThrowIfNull(itemShape);
        if (bytes.Length < 4)
        {
            throw Bad(name, $"{bytes.Length} bytes; expected at least the 4-byte IDX magic");
        }

        if (bytes[0] != 0 || bytes[1] != 0)
        {
            throw Bad(name, $"magic starts {bytes[0]:x2} {bytes[1]:x2}; expected 00 00 (an IDX file)");
        }

        if (bytes[2] != UnsignedByte)
        {
            throw Bad(name, $"type code 0x{bytes[2]:x2}; expected 0x08 (unsigned byte)");
        }

        if (bytes[3] != rank)
        {
            throw Bad(name, $"rank {bytes[3]}; expected {rank}");
        }

        var header = 4 + (4 * rank);
        if (bytes.Length < header)
        {
            throw Bad(name, $"{bytes.Length} bytes; expected a header of {header} bytes (rank {rank})");
        }

        var dims = new int[rank];
        long count = 1;
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4 + (4 * i), 4));
            if (d <= 0)
            {
                throw Bad(name, $"dimension {i} is {d}; expected a positive size");
            }

            dims[i] = d;
            count *= d;
        }

        if (itemShape.Length > 0 && !dims.Skip(1).SequenceEqual(itemShape))
        {
            throw Bad(name, $"items of shape [{string.Join(", ", dims.Skip(1))}]; expected [{string.Join(", ", itemShape)}]");
        }

        var actual = bytes.Length - header;
        if (actual != count)
        {
            throw Bad(name, $"{actual.ToString(CultureInfo.InvariantCulture)} value bytes after the header; expected {count.ToString(CultureInfo.InvariantCulture)} = {string.Join(" × ", dims)}{(actual < count ? " (truncated)" : " (trailing bytes)")}");
        }

        return new IdxArray(dims, bytes[header..].ToArray());
    }

    private static bool IsGzip(byte[] raw) => raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;

    private static byte[] Gunzip(byte[] raw)
    {
        using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    private static InvalidDataException Bad(string name, string what) => new($"{name}: {what}");
}

/// <summary>Fashion-MNIST (or MNIST) as IDX files in one folder: train and t10k images and labels, plain or .gz.</summary>
public sealed record MnistSet(IdxArray TrainImages, IdxArray TrainLabels, IdxArray TestImages, IdxArray TestLabels)
{
    /// <summary>Loads the four files of <paramref name="folder"/> and checks that images and labels agree in count and labels are 0-9.</summary>
    public static MnistSet Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        IdxArray File(string stem, int rank, params int[] item)
        {
            var path = new[] { stem, stem + ".gz" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(System.IO.File.Exists)
                ?? throw new FileNotFoundException($"{Path.Combine(folder, stem)}[.gz] not found; expected the Fashion-MNIST IDX files (scripts/install-fashion-mnist.sh installs them and prints their folder)");
            return IdxReader.Read(path, rank, item);
        }

        var set = new MnistSet(
            File("train-images-idx3-ubyte", 3, 28, 28),
            File("train-labels-idx1-ubyte", 1),
            File("t10k-images-idx3-ubyte", 3, 28, 28),
            File("t10k-labels-idx1-ubyte", 1));
        foreach (var (images, labels, name) in new[] { (set.TrainImages, set.TrainLabels, "train"), (set.TestImages, set.TestLabels, "t10k") })
        {
            if (images.Dimensions[0] != labels.Dimensions[0])
            {
                throw new InvalidDataException($"{folder}: {name} has {images.Dimensions[0]} images but {labels.Dimensions[0]} labels; expected one label per image");
            }

            if (labels.Values.Any(l => l > 9))
            {
                throw new InvalidDataException($"{folder}: {name} labels include {labels.Values.Max()}; expected classes 0-9");
            }
        }

        return set;
    }
}
