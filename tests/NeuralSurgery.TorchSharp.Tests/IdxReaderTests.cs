using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using NeuralSurgery.Benchmarks.Repro;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// The IDX reader of the Fashion-MNIST reproductions (tests/NeuralSurgery.Benchmarks/Repro/Idx.cs, linked here):
/// plain and gzip files read alike; a bad magic, type, rank, item shape, a truncated or overlong file and a cut gzip
/// stream are errors that name the file and what was expected.
/// </summary>
public sealed class IdxReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An IDX file of unsigned bytes: magic 00 00 08 rank, big-endian int32 dimensions, the values.</summary>
    private static byte[] Idx(int[] dims, byte[] values, byte type = 0x08) =>
        new byte[] { 0, 0, type, (byte)dims.Length }
            .Concat(dims.SelectMany(d => new[] { (byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d }))
            .Concat(values)
            .ToArray();

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    [Fact]
    public void Plain_and_gzip_files_read_to_the_same_dimensions_and_values()
    {
        var values = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        var plain = IdxReader.Read(Write("images-idx3-ubyte", Idx([2, 3, 4], values)), 3, 3, 4);
        var zipped = IdxReader.Read(Write("images-idx3-ubyte.gz", Gzip(Idx([2, 3, 4], values))), 3, 3, 4);
        Assert.Equal([2, 3, 4], plain.Dimensions);
        Assert.Equal(values, plain.Values);
        Assert.Equal(12, plain.ItemSize);
        Assert.Equal(plain.Dimensions, zipped.Dimensions);
        Assert.Equal(plain.Values, zipped.Values);
        Assert.Equal([5, 0, 9], IdxReader.Read(Write("labels", Idx([3], [5, 0, 9])), 1).Values);
    }

    [Theory]
    [InlineData("bad magic", "magic starts 01 00; expected 00 00 (an IDX file)")]
    [InlineData("float type", "type code 0x0d; expected 0x08 (unsigned byte)")]
    [InlineData("rank 2", "rank 2; expected 3")]
    [InlineData("item shape", "items of shape [3, 5]; expected [3, 4]")]
    [InlineData("truncated", "23 value bytes after the header; expected 24 = 2 × 3 × 4 (truncated)")]
    [InlineData("trailing", "25 value bytes after the header; expected 24 = 2 × 3 × 4 (trailing bytes)")]
    [InlineData("short header", "12 bytes; expected a header of 16 bytes (rank 3)")]
    [InlineData("zero size", "dimension 0 is 0; expected a positive size")]
    public void A_malformed_file_is_an_error_naming_the_file_and_what_was_expected(string kind, string expected)
    {
        var good = Idx([2, 3, 4], new byte[24]);
        var bytes = kind switch
        {
            "bad magic" => good.Select((b, i) => i == 0 ? (byte)1 : b).ToArray(),
            "float type" => Idx([2, 3, 4], new byte[24], 0x0D),
            "rank 2" => Idx([6, 4], new byte[24]),
            "item shape" => Idx([2, 3, 5], new byte[30]),
            "truncated" => good[..^1],
            "trailing" => good.Append((byte)0).ToArray(),
            "short header" => good[..12],
            "zero size" => Idx([0, 3, 4], []),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var path = Write(kind.Replace(' ', '-'), bytes);
        var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path, 3, 3, 4));
        Assert.Equal($"{path}: {expected}", error.Message);
    }

    [Fact]
    public void A_cut_gzip_stream_is_an_error_naming_the_file()
    {
        var zipped = Gzip(Idx([50, 28, 28], Enumerable.Range(0, 50 * 28 * 28).Select(i => (byte)(i * 31 % 251)).ToArray()));
        foreach (var cut in new[] { zipped.Length / 2, zipped.Length - 3, 12 })
        {
            var path = Write($"cut-{cut}.gz", zipped[..cut]);
            var error = Assert.Throws<InvalidDataException>(() => IdxReader.Read(path, 3, 28, 28));
            Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
            Assert.Contains("gzip", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_folder_is_loaded_only_when_all_four_files_agree()
    {
        void Set(int train, int trainLabels, byte label = 3)
        {
            File.WriteAllBytes(Path.Combine(_dir, "train-images-idx3-ubyte.gz"), Gzip(Idx([train, 28, 28], new byte[train * 784])));
            File.WriteAllBytes(Path.Combine(_dir, "train-labels-idx1-ubyte"), Idx([trainLabels], Enumerable.Repeat(label, trainLabels).ToArray()));
            File.WriteAllBytes(Path.Combine(_dir, "t10k-images-idx3-ubyte"), Idx([2, 28, 28], new byte[2 * 784]));
            File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte.gz"), Gzip(Idx([2], [1, 2])));
        }

        Set(4, 4);
        var set = MnistSet.Load(_dir);
        Assert.Equal([4, 28, 28], set.TrainImages.Dimensions);
        Assert.Equal([1, 2], set.TestLabels.Values);

        Set(4, 3);
        Assert.Equal($"{_dir}: train has 4 images but 3 labels; expected one label per image", Assert.Throws<InvalidDataException>(() => MnistSet.Load(_dir)).Message);
        Set(4, 4, label: 10);
        Assert.Equal($"{_dir}: train labels include 10; expected classes 0-9", Assert.Throws<InvalidDataException>(() => MnistSet.Load(_dir)).Message);
        File.Delete(Path.Combine(_dir, "t10k-images-idx3-ubyte"));
        Assert.Contains("t10k-images-idx3-ubyte[.gz] not found", Assert.Throws<FileNotFoundException>(() => MnistSet.Load(_dir)).Message, StringComparison.Ordinal);
    }
}
