using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Runtime.Tests.Tuning;

public sealed class SparsePatchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-patch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (StateDict Base, StateDict Tuned) Pair(int changed, int size = 50_000)
    {
        var rng = new Random(2);
        var w = Enumerable.Range(0, size).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = new StateDict();
        b.Add("fc.weight", w, size / 50, 50);
        b.Add("fc.bias", new float[] { 1, 2, 3 }, 3);
        b.Add("steps", new long[] { 7 });
        var t = StateDict.From(b);
        var tw = t.Float32("fc.weight");
        foreach (var i in Enumerable.Range(0, changed).Select(k => (k * 7919) % size))
        {
            tw[i] += 0.5f;
        }

        t.Float32("fc.bias")[1] = -0f;
        return (b, t);
    }

    [Fact]
    public void A_patch_carries_only_changed_elements_and_reproduces_the_tuned_checkpoint_bit_for_bit()
    {
        var (b, t) = Pair(100);
        var patch = SparsePatch.Create(b, t);
        Assert.Equal(101, patch.ChangedElements);
        Assert.Equal(["fc.weight", "fc.bias"], patch.Tensors.Select(x => x.Tensor.Name));
        var path = Path.Combine(_dir, "p.nspatch");
        patch.Save(path);
        var applied = SparsePatch.Load(path).Apply(b);
        foreach (var info in t.Tensors)
        {
            Assert.Equal(t.GetData(info.Name), applied.GetData(info.Name));
        }

        // Paper 000 section 6.4: the patch is a small fraction of the checkpoint.
        var full = Path.Combine(_dir, "full.dat");
        t.Save(full);
        Assert.True(new FileInfo(path).Length * 50 < new FileInfo(full).Length, $"patch {new FileInfo(path).Length} B against checkpoint {new FileInfo(full).Length} B");
    }

    [Fact]
    public void The_payload_bound_of_a_base_admits_a_patch_that_changes_every_element()
    {
        // Worst case for the bound: every element of every tensor changed, wide index gaps impossible but counted.
        var (b, _) = Pair(0, size: 5_000);
        var t = StateDict.From(b);
        foreach (var info in b.Tensors)
        {
            var data = t.GetData(info.Name);
            for (var i = 0; i < data.Length; i++)
            {
                data[i] ^= 0x5A;
            }
        }

        var patch = SparsePatch.Create(b, t);
        Assert.Equal(b.Tensors.Sum(x => x.ElementCount), patch.ChangedElements);
        var bytes = patch.ToBytes();
        var declared = BitConverter.ToInt64(bytes, 48);
        Assert.InRange(declared, 1, SparsePatch.MaxPayloadLength(b));
        var path = Path.Combine(_dir, "all.nspatch");
        File.WriteAllBytes(path, bytes);
        var applied = SparsePatch.Load(path, b, "base").Apply(b);
        Assert.All(t.Tensors, info => Assert.Equal(t.GetData(info.Name), applied.GetData(info.Name)));

        // The same patch against another base is refused from its header, naming both.
        var (other, _) = Pair(0, size: 100);
        var e = Assert.Throws<PatchBaseMismatchException>(() => SparsePatch.Load(path, other, "other.safetensors"));
        Assert.Contains("other.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_round_trip_through_the_file_api_across_formats()
    {
        var (b, t) = Pair(10);
        var basePath = Path.Combine(_dir, "base.safetensors");
        var tunedPath = Path.Combine(_dir, "tuned.dat");
        b.Save(basePath);
        t.Save(tunedPath);
        var patchPath = Path.Combine(_dir, "d.nspatch");
        SparsePatch.Create(basePath, tunedPath, patchPath);
        var outPath = Path.Combine(_dir, "out.dat");
        SparsePatch.Apply(basePath, patchPath, outPath);
        var written = StateDict.Load(outPath);
        Assert.Equal(t.GetData("fc.weight"), written.GetData("fc.weight"));
        Assert.Throws<IOException>(() => SparsePatch.Apply(basePath, patchPath, outPath));
        Assert.DoesNotContain(Directory.GetFiles(_dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        // The hash is of names, dtypes, shapes and data, not of the file format.
        Assert.Equal(CheckpointHash.Compute(b), CheckpointHash.Compute(StateDict.Load(basePath)));
    }

    [Fact]
    public void A_different_base_is_refused_naming_both_hashes()
    {
        var (b, t) = Pair(10);
        var patch = SparsePatch.Create(b, t);
        var other = StateDict.From(b);
        other.Float32("fc.bias")[0] = 9;
        var e = Assert.Throws<PatchBaseMismatchException>(() => patch.Apply(other, "other.dat", "p.nspatch"));
        Assert.Contains(patch.BaseHashHex, e.Message);
        Assert.Contains(CheckpointHash.ToHex(CheckpointHash.Compute(other)), e.Message);
        Assert.Contains("other.dat", e.Message);
        Assert.Contains("p.nspatch", e.Message);
    }

    [Fact]
    public void Truncated_corrupt_and_foreign_files_are_refused_naming_the_file()
    {
        var (b, t) = Pair(100);
        var bytes = SparsePatch.Create(b, t).ToBytes();
        foreach (var cut in new[] { 0, 10, SparsePatch.HeaderSize - 1, SparsePatch.HeaderSize + 1, bytes.Length - 1 })
        {
            var e = Assert.Throws<PatchFormatException>(() => SparsePatch.Read(bytes.AsSpan(0, cut), "cut.nspatch"));
            Assert.StartsWith("cut.nspatch: ", e.Message);
        }

        var corrupt = (byte[])bytes.Clone();
        corrupt[^3] ^= 0x40;
        Assert.Contains("corrupt", Assert.Throws<PatchFormatException>(() => SparsePatch.Read(corrupt, "bad.nspatch")).Message);
        var foreign = (byte[])bytes.Clone();
        foreign[0] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<PatchFormatException>(() => SparsePatch.Read(foreign, "x.nspatch")).Message);
        var version = (byte[])bytes.Clone();
        version[8] = 9;
        Assert.Contains("version 9", Assert.Throws<PatchFormatException>(() => SparsePatch.Read(version, "v.nspatch")).Message);
    }

    [Fact]
    public void A_tuned_checkpoint_with_another_layout_is_refused_naming_the_tensor()
    {
        var (b, _) = Pair(0);
        var t = new StateDict();
        t.Add("fc.weight", new float[50_000], 500, 100);
        var e = Assert.Throws<PatchFormatException>(() => SparsePatch.Create(b, t));
        Assert.Contains("fc.weight", e.Message);
        Assert.Contains("fc.bias", e.Message);
    }
}
