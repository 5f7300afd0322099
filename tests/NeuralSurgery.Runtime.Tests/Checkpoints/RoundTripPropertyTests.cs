using System;
using System.IO;
using System.Linq;
using System.Text;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

/// <summary>Seeded random state dicts: every case is reproducible from its seed, printed on failure.</summary>
public class RoundTripPropertyTests
{
    private const int Cases = 120;

    private static readonly string[] NameParts = ["fc", "weight", "bias", "0", "lstm", "ß", "权重", "😀", "a.b", " ", "\"", "\\", "\n", "__metadata", "x"];

    internal static StateDict RandomDict(Random random)
    {
        var dict = new StateDict();
        var count = random.Next(0, 7);
        while (dict.Count < count)
        {
            var name = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => NameParts[random.Next(NameParts.Length)]));
            if (dict.Contains(name) || name == "__metadata__")
            {
                continue;
            }

            var dtype = DTypes.All[random.Next(DTypes.All.Count)];
            var shape = Enumerable.Range(0, random.Next(0, 5)).Select(_ => (long)(random.Next(8) == 0 ? 0 : random.Next(1, 6))).ToArray();
            var tensor = TensorInfo.Create(name, dtype, shape);
            var data = new byte[tensor.ByteLength];
            random.NextBytes(data);
            dict.Add(tensor, data);
        }

        for (var m = random.Next(0, 3); m > 0; m--)
        {
            dict.Metadata[NameParts[random.Next(NameParts.Length)] + m] = NameParts[random.Next(NameParts.Length)];
        }

        return dict;
    }

    [Fact]
    public void Random_state_dicts_round_trip_through_both_formats_byte_identically()
    {
        using var folder = new TempFolder();
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var original = RandomDict(random);
            try
            {
                var ts = folder.File($"{seed}.dat");
                var st = folder.File($"{seed}.safetensors");
                original.Save(ts);
                original.Save(st);

                foreach (var path in new[] { ts, st })
                {
                    using var reader = CheckpointReader.Open(path);
                    Assert.Equal(original.Tensors, reader.Tensors);
                    Assert.Equal(original.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), reader.Metadata);
                    foreach (var tensor in original.Tensors)
                    {
                        var expected = original.GetData(tensor.Name);
                        Assert.Equal(expected, reader.ReadAll(tensor));
                        if (expected.Length > 0)
                        {
                            var start = random.Next(expected.Length);
                            var length = random.Next(expected.Length - start + 1);
                            var range = new byte[length];
                            reader.Read(tensor, start, range);
                            Assert.Equal(expected.AsSpan(start, length).ToArray(), range);
                        }
                    }

                    var again = folder.File($"{seed}.again{Path.GetExtension(path)}");
                    StateDict.From(reader).Save(again);
                    Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
                }

                CheckpointConverter.Convert(ts, folder.File($"{seed}.conv.safetensors"), CheckpointFormat.Safetensors);
                CheckpointConverter.Convert(st, folder.File($"{seed}.conv.dat"), CheckpointFormat.TorchSharp);
                Assert.Equal(File.ReadAllBytes(st), File.ReadAllBytes(folder.File($"{seed}.conv.safetensors")));
                Assert.Equal(File.ReadAllBytes(ts), File.ReadAllBytes(folder.File($"{seed}.conv.dat")));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"Seed {seed}: {string.Join("; ", original.Tensors)}", ex);
            }
        }
    }

    [Fact]
    public void Random_corruptions_give_format_errors_or_valid_files_never_other_exceptions()
    {
        using var folder = new TempFolder();
        var random = new Random(7);
        var original = RoundTripTests.Everything();
        original.Save(folder.File("base.dat"));
        original.Save(folder.File("base.safetensors"));
        foreach (var name in new[] { "base.dat", "base.safetensors" })
        {
            var bytes = File.ReadAllBytes(folder.File(name));
            for (var i = 0; i < 300; i++)
            {
                var corrupt = (byte[])bytes.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    // Bias toward the header, where corruption changes the structure.
                    var at = random.Next(2) == 0 ? random.Next(Math.Min(corrupt.Length, 256)) : random.Next(corrupt.Length);
                    corrupt[at] = (byte)random.Next(256);
                }

                var path = folder.Write("c" + Path.GetExtension(name), corrupt);
                try
                {
                    using var reader = CheckpointReader.Open(path);
                    foreach (var tensor in reader.Tensors)
                    {
                        _ = reader.ReadAll(tensor);
                    }
                }
                catch (CheckpointFormatException ex)
                {
                    Assert.Equal(path, ex.FilePath);
                }
            }
        }
    }
}
