using System;
using System.IO;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

/// <summary>The libraries' side of the file rule: <see cref="InputFile"/>, <see cref="FileIdentity"/>, <see cref="CommandFiles"/>, <see cref="OutputBatch"/>.</summary>
public sealed class FileRuleTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void File_kinds_are_told_apart_and_only_regular_files_open()
    {
        var file = _folder.Write("a.bin", [1, 2, 3]);
        var fifo = ExternalTools.MakeFifo(_folder.File("p.fifo"));
        Assert.Equal(FileKind.Regular, InputFile.KindOf(file));
        Assert.Equal(FileKind.Fifo, InputFile.KindOf(fifo));
        Assert.Equal(FileKind.Directory, InputFile.KindOf(_folder.Path));
        Assert.Equal(FileKind.CharacterDevice, InputFile.KindOf("/dev/null"));
        Assert.Equal(FileKind.Missing, InputFile.KindOf(_folder.File("none")));
        Assert.Equal([1, 2, 3], InputFile.ReadAllBytes(file, 10));

        var ex = Assert.Throws<IOException>(() => InputFile.OpenHandle(fifo));
        Assert.Contains(fifo, ex.Message, StringComparison.Ordinal);
        Assert.Contains("named pipe (FIFO)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than the 2", Assert.Throws<IOException>(() => InputFile.ReadAllBytes(file, 2, "patch")).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => InputFile.OpenHandle(_folder.File("none")));
    }

    [Fact]
    public void Text_is_strict_utf8_and_names_the_file()
    {
        var bad = _folder.Write("bad.json", [(byte)'{', 0xC3, 0x28, (byte)'}']);
        var ex = Assert.Throws<IOException>(() => InputFile.ReadAllText(bad, "plan", InputFile.MaxDocumentBytes));
        Assert.Contains(bad, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not valid UTF-8 at byte 1", ex.Message, StringComparison.Ordinal);
        Assert.Equal("{}", InputFile.ReadAllText(_folder.Write("bom.json", [0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}']), "plan", InputFile.MaxDocumentBytes));
        Assert.Equal("{}", InputFile.ReadAllText(_folder.Write("utf16.json", [0xFF, 0xFE, (byte)'{', 0, (byte)'}', 0]), "plan", InputFile.MaxDocumentBytes));
        Assert.Contains("not valid utf-16", Assert.Throws<IOException>(() => InputFile.ReadAllText(_folder.Write("lone.json", [0xFF, 0xFE, 0x00, 0xD8]), "plan", InputFile.MaxDocumentBytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hard_links_symbolic_links_and_dotted_paths_are_one_file()
    {
        var file = _folder.Write("a.bin", [1]);
        var other = _folder.Write("b.bin", [1]);
        var hard = _folder.File("hard.bin");
        ExternalTools.HardLink(file, hard);
        var soft = _folder.File("soft.bin");
        File.CreateSymbolicLink(soft, file);
        Directory.CreateDirectory(_folder.File("sub"));
        Assert.True(FileIdentity.SameFile(file, hard));
        Assert.True(FileIdentity.SameFile(file, soft));
        Assert.True(FileIdentity.SameFile(file, Path.Combine(_folder.Path, "sub", "..", "a.bin")));
        Assert.False(FileIdentity.SameFile(file, other));

        // A link to a file that does not exist yet is that file.
        var dangling = _folder.File("dangling.bin");
        File.CreateSymbolicLink(dangling, _folder.File("later.bin"));
        Assert.True(FileIdentity.SameFile(dangling, _folder.File("later.bin")));
    }

    [Fact]
    public void The_rule_refuses_inputs_as_outputs_duplicate_outputs_and_existing_outputs()
    {
        var input = _folder.Write("in.bin", [1]);
        var hard = _folder.File("hard.bin");
        ExternalTools.HardLink(input, hard);
        var output = _folder.File("out.bin");

        var same = Assert.Throws<IOException>(() => new CommandFiles().Input("--in", input).Output("--out", hard).Check(overwrite: true, "--force"));
        Assert.Contains($"--out {hard} is the same file as the input --in {input}", same.Message, StringComparison.Ordinal);
        Assert.Contains("with or without --force", same.Message, StringComparison.Ordinal);

        var twice = Assert.Throws<IOException>(() => new CommandFiles().Input("--in", input).Output("--out", output).Output("--patch", output).Check(true));
        Assert.Contains("are the same file", twice.Message, StringComparison.Ordinal);

        File.WriteAllText(output, "old");
        Assert.Contains("pass --force", Assert.Throws<IOException>(() => new CommandFiles().Output("--out", output).Check(false, "--force")).Message, StringComparison.Ordinal);
        new CommandFiles().Input("--in", input).Output("--out", output).Check(true, "--force");

        // A sidecar goes with its checkpoint: never an input, but no overwrite needed.
        new CommandFiles().Output("--out (metadata sidecar)", output, replaces: false).Check(false);
        Assert.Throws<DirectoryNotFoundException>(() => new CommandFiles().Output("--out", _folder.File("no/such/folder.bin")).Check(true));
        Assert.Throws<FileNotFoundException>(() => new CommandFiles().Input("--in", _folder.File("none")).Check(true));
    }

    [Fact]
    public void A_checkpoint_reader_lists_its_sidecar_and_a_tensor_output_its_own()
    {
        var dict = new StateDict();
        dict.Add("w", new float[] { 1, 2 }, 2);
        dict.Metadata["k"] = "v";
        var path = _folder.File("m.dat");
        dict.Save(path, CheckpointFormat.TorchSharp);
        using (var reader = CheckpointReader.Open(path))
        {
            Assert.Equal([path, path + ".meta.json"], reader.InputFiles);
        }

        // Library calls follow the same rule: the source's sidecar is not a target, with or without overwrite.
        var ex = Assert.Throws<IOException>(() => CheckpointConverter.Convert(path, path + ".meta.json", CheckpointFormat.Safetensors, overwrite: true));
        Assert.Contains("surgery never writes over its input", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_puts_nothing_in_place_when_one_output_fails()
    {
        var first = _folder.File("first.bin");
        var sub = Directory.CreateDirectory(_folder.File("sub")).FullName;
        var second = Path.Combine(sub, "second.bin");
        using (var batch = new OutputBatch())
        {
            batch.WriteAllBytes(first, [1, 2], overwrite: false);
            batch.WriteAllBytes(second, [3], overwrite: false);

            // The second output's folder disappears before the commit: its rename fails after the first succeeded.
            Directory.Delete(sub, recursive: true);
            var ex = Assert.Throws<IOException>(batch.Commit);
            Assert.Contains("could not all be put in place", ex.Message, StringComparison.Ordinal);
        }

        Assert.Empty(_folder.Listing());

        // Dispose without a commit: no output, no temporary file.
        using (var batch = new OutputBatch())
        {
            var stream = batch.Create(first, overwrite: false);
            stream.Write([1]);
        }

        Assert.Empty(_folder.Listing());
    }

    [Fact]
    public void A_graph_too_large_to_allocate_is_a_reference_error_naming_the_tensor()
    {
        var b = new NeuralSurgery.Graph.GraphBuilder("wide");
        var x = b.FeatureInput("x", NeuralSurgery.Graph.Dim.Batch, 3_000_000);
        var graph = b.Output("y", b.Linear("fc", x, 1000)).Build();
        var ex = Assert.Throws<ReferenceExecutionException>(() => ReferenceModel.Initialize(graph, 1));
        Assert.Contains("tensor 'fc.weight' has shape [1000, 3000000]", ex.Message, StringComparison.Ordinal);

        // Against a checkpoint, the misfit is reported first.
        var misfit = Assert.Throws<ReferenceExecutionException>(() => ReferenceModel.Load(graph, new StateDict()));
        Assert.Contains("do not fit", misfit.Message, StringComparison.Ordinal);
    }
}
