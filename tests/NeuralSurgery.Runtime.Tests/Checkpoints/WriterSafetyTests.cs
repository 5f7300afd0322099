using System;
using System.Collections.Generic;
using System.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class WriterSafetyTests
{
    private static readonly TensorInfo[] Layout = [TensorInfo.Create("weight", DType.Float32, 2, 3), TensorInfo.Create("bias", DType.Float32, 2)];

    [Theory]
    [InlineData(CheckpointFormat.TorchSharp, "out.dat")]
    [InlineData(CheckpointFormat.Safetensors, "out.safetensors")]
    public void An_existing_target_is_refused_unless_overwrite(CheckpointFormat format, string name)
    {
        using var folder = new TempFolder();
        var target = folder.Write(name, "precious");
        var ex = Assert.Throws<IOException>(() => CheckpointWriter.Create(target, format, Layout));
        Assert.Contains(target, ex.Message);
        Assert.Contains("already exists", ex.Message);
        Assert.Throws<IOException>(() => Golden.Linear().Save(target, format));
        Assert.Throws<IOException>(() => CheckpointConverter.Convert(folder.Write("src.dat", Golden.LinearTorchSharp()), target, format));
        Assert.Equal("precious", File.ReadAllText(target));
        Assert.Equal([name, "src.dat"], folder.Listing());

        Golden.Linear().Save(target, format, overwrite: true);
        Assert.Equal(Golden.Linear().Tensors, StateDict.Load(target).Tensors);
        Assert.Equal([name, "src.dat"], folder.Listing());
    }

    [Fact]
    public void A_folder_target_and_a_missing_folder_are_refused_without_leftovers()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("dir"));
        var ex = Assert.Throws<IOException>(() => CheckpointWriter.Create(folder.File("dir"), CheckpointFormat.TorchSharp, Layout, overwrite: true));
        Assert.Contains("is a folder", ex.Message);
        Assert.Throws<DirectoryNotFoundException>(() => CheckpointWriter.Create(folder.File("nope/x.dat"), CheckpointFormat.TorchSharp, Layout));
        Assert.Empty(folder.Listing());
    }

    public static TheoryData<string, Action<CheckpointWriter>> Misuses => new()
    {
        { "too many bytes", w => { w.BeginTensor("weight"); w.Write(new byte[25]); } },
        { "too few bytes", w => { w.BeginTensor("weight"); w.Write(new byte[23]); w.EndTensor(); } },
        { "wrong order", w => w.BeginTensor("bias") },
        { "unknown tensor", w => w.WriteTensor("other", new byte[24]) },
        { "write before begin", w => w.Write(new byte[1]) },
        { "begin twice", w => { w.BeginTensor("weight"); w.BeginTensor("weight"); } },
        { "commit with a tensor missing", w => { w.WriteTensor("weight", new byte[24]); w.Commit(); } },
        { "commit mid tensor", w => { w.WriteTensor("weight", new byte[24]); w.BeginTensor("bias"); w.Commit(); } },
        { "a failing source", w => w.CopyTensor("weight", new FailingSource(), Layout[0]) },
        { "a mismatched source", w => w.CopyTensor("weight", Golden.Linear(), Golden.Linear().Tensors[1]) },
    };

    [Theory]
    [MemberData(nameof(Misuses))]
    public void An_exception_mid_write_leaves_nothing_behind_and_the_old_target_untouched(string what, Action<CheckpointWriter> misuse)
    {
        foreach (var format in new[] { CheckpointFormat.TorchSharp, CheckpointFormat.Safetensors })
        {
            using var folder = new TempFolder();
            var target = folder.Write("model.bin", "old");
            var thrown = Record.Exception(() =>
            {
                using var writer = CheckpointWriter.Create(target, format, Layout, new Dictionary<string, string> { ["k"] = "v" }, overwrite: true);
                misuse(writer);
            });
            Assert.True(thrown is InvalidOperationException or ArgumentException or IOException, $"{what}: {thrown}");
            Assert.Equal(["model.bin"], folder.Listing());
            Assert.Equal("old", File.ReadAllText(target));
        }
    }

    [Fact]
    public void Dispose_without_commit_deletes_the_temporary_file_that_exists_until_then()
    {
        using var folder = new TempFolder();
        using (var writer = CheckpointWriter.Create(folder.File("x.safetensors"), CheckpointFormat.Safetensors, Layout))
        {
            writer.WriteTensor("weight", new byte[24]);
            var temp = Assert.Single(folder.Listing());
            Assert.StartsWith("x.safetensors.", temp);
            Assert.EndsWith(".tmp", temp);
            Assert.False(File.Exists(folder.File("x.safetensors")));
        }

        Assert.Empty(folder.Listing());
    }

    [Fact]
    public void A_committed_writer_refuses_more_work_and_reports_its_layout()
    {
        using var folder = new TempFolder();
        using var writer = CheckpointWriter.Create(folder.File("x.dat"), CheckpointFormat.TorchSharp, Layout);
        Assert.Equal(52, writer.Length);
        writer.BeginTensor("weight");
        Assert.Equal(Layout[0], writer.CurrentTensor);
        writer.Write(new byte[10]);
        writer.Write(new byte[14]);
        writer.EndTensor();
        writer.CopyTensor("bias", Golden.Linear(), Golden.Linear().Get("bias"));
        Assert.Equal(2, writer.TensorsWritten);
        writer.Commit();
        Assert.Throws<InvalidOperationException>(writer.Commit);
        Assert.Throws<InvalidOperationException>(() => writer.BeginTensor("weight"));
        Assert.Equal(["x.dat"], folder.Listing());
        Assert.Equal(52, new FileInfo(folder.File("x.dat")).Length);
    }

    [Fact]
    public void Bad_layouts_and_metadata_are_refused_before_any_file_exists()
    {
        using var folder = new TempFolder();
        Assert.Throws<ArgumentException>(() => CheckpointWriter.Create(folder.File("x.dat"), CheckpointFormat.TorchSharp, [Layout[0], Layout[0]]));
        Assert.Throws<ArgumentException>(() => CheckpointWriter.Create(folder.File("x.index.json"), CheckpointFormat.Safetensors, Layout));
        Assert.Throws<ArgumentException>(() => CheckpointWriter.Create(folder.File("x.dat"), CheckpointFormat.TorchSharp, Layout,
            new Dictionary<string, string> { ["k"] = "bad\udc00" }));
        Assert.Empty(folder.Listing());
    }

    [Fact]
    public void Conversion_never_modifies_the_source_and_refuses_to_write_onto_it()
    {
        using var folder = new TempFolder();
        var source = folder.Write("src.dat", Golden.LinearTorchSharp());
        var stamp = File.GetLastWriteTimeUtc(source);
        File.SetLastWriteTimeUtc(source, stamp.AddDays(-1));
        stamp = File.GetLastWriteTimeUtc(source);

        CheckpointConverter.Convert(source, folder.File("out.safetensors"), CheckpointFormat.Safetensors);
        var ex = Assert.Throws<IOException>(() => CheckpointConverter.Convert(source, source, CheckpointFormat.TorchSharp, overwrite: true));
        Assert.Contains("surgery never writes over its input", ex.Message);
        File.CreateSymbolicLink(folder.File("alias.dat"), source);
        Assert.Throws<IOException>(() => CheckpointConverter.Convert(folder.File("alias.dat"), source, CheckpointFormat.TorchSharp, overwrite: true));

        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(source));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(source));
        Assert.Equal(["alias.dat", "out.safetensors", "src.dat"], folder.Listing());
    }

    [Fact]
    public void Metadata_goes_to_a_sidecar_for_TorchSharp_and_a_stale_sidecar_is_removed_on_overwrite()
    {
        using var folder = new TempFolder();
        var linear = Golden.Linear();
        linear.Metadata["plan"] = "sha256:1";
        linear.Save(folder.File("m.dat"));
        Assert.Equal(["m.dat", "m.dat.meta.json"], folder.Listing());
        Assert.Equal(Golden.LinearTorchSharp(), File.ReadAllBytes(folder.File("m.dat")));
        var sidecar = File.ReadAllText(folder.File("m.dat.meta.json"));
        Assert.Contains("\"format\": \"neuralsurgery.checkpoint-metadata\"", sidecar);
        Assert.Contains("\"length\": 52", sidecar);
        Assert.Contains("\"plan\": \"sha256:1\"", sidecar);
        Assert.Equal(folder.File("m.dat.meta.json"), CheckpointWriter.MetadataSidecarPath(folder.File("m.dat")));

        Golden.Linear().Save(folder.File("m.dat"), overwrite: true);
        Assert.Equal(["m.dat"], folder.Listing());
        using var reader = CheckpointReader.Open(folder.File("m.dat"));
        Assert.Empty(reader.Metadata);
        Assert.Empty(reader.Warnings);
    }

    [Fact]
    public void A_reader_open_on_the_old_file_keeps_reading_it_after_an_overwrite()
    {
        // POSIX rename semantics: the open handle keeps the old inode. Windows refuses the rename instead.
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var folder = new TempFolder();
        var path = folder.Write("m.dat", Golden.LinearTorchSharp());
        using var reader = CheckpointReader.Open(path);
        var changed = Golden.Linear();
        changed.Float32("bias")[0] = 99f;
        changed.Save(path, overwrite: true);
        Assert.Equal(new Bytes().F32(Golden.Bias).ToArray(), reader.ReadAll(reader.Get("bias")));
        Assert.Equal(99f, StateDict.Load(path).Float32("bias")[0]);
    }

    private sealed class FailingSource : ITensorSource
    {
        public IReadOnlyList<TensorInfo> Tensors => Layout;

        public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

        public TensorInfo? Find(string name) => Array.Find(Layout, t => t.Name == name);

        public void Read(TensorInfo tensor, long byteOffset, Span<byte> destination) => throw new IOException("disk on fire");
    }
}
