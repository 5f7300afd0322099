using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// Issue 14, files: the one rule for every command's outputs (never an input, never another output, an existing
/// file only with --force), inputs opened only as regular files, outputs all-or-nothing, and hostile input that
/// used to exit 2 (internal error) or echo escape codes.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly CliHarness _h = new();
    private readonly Dictionary<string, string> _inputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fifos = new(StringComparer.Ordinal);

    public HostileInputTests()
    {
        var b = new GraphBuilder("tiny");
        var x = b.FeatureInput("x", Dim.Batch, 6);
        Graph = b.Output("y", b.Linear("head", b.Relu(b.Linear("fc1", x, 8)), 3)).Build();
        _inputs["graph"] = _h.Write("tiny.graph.json", GraphJson.Write(Graph));
        _inputs["graph2"] = _h.Write("tiny2.graph.json", GraphJson.Write(Graph));
        _inputs["schema"] = _h.Write("tiny.features.yaml",
            "model: tiny\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d, e, f]\noutputs:\n  y:\n    features: [p, q, r]\n");

        var weights = ReferenceModel.Initialize(Graph, 3).ToStateDict();
        weights.Metadata["note"] = "sidecar";
        _inputs["checkpoint"] = _h.PathOf("tiny.dat");
        weights.Save(_inputs["checkpoint"], CheckpointFormat.TorchSharp);
        _inputs["sidecar"] = _inputs["checkpoint"] + ".meta.json";
        Assert.True(File.Exists(_inputs["sidecar"]));

        var plain = ReferenceModel.Initialize(Graph, 3).ToStateDict();
        _inputs["base"] = _h.PathOf("base.safetensors");
        plain.Save(_inputs["base"]);
        var tuned = StateDict.From(plain);
        tuned.Float32("fc1.weight")[5] += 1;
        _inputs["tuned"] = _h.PathOf("tuned.safetensors");
        tuned.Save(_inputs["tuned"]);

        // A sharded checkpoint: fc1 in one shard, head in the other.
        WriteShards("tiny.index.json", "shard-a.safetensors", "shard-b.safetensors", plain);
        _inputs["index"] = _h.PathOf("tiny.index.json");
        _inputs["shard-a"] = _h.PathOf("shard-a.safetensors");
        _inputs["shard-b"] = _h.PathOf("shard-b.safetensors");

        var rng = new Random(5);
        var data = new StateDict();
        data.Add("x", Enumerable.Range(0, 16 * 6).Select(_ => rng.NextSingle()).ToArray(), 16, 6);
        data.Add("target", Enumerable.Range(0, 16 * 3).Select(_ => rng.NextSingle()).ToArray(), 16, 3);
        _inputs["data"] = _h.PathOf("data.safetensors");
        data.Save(_inputs["data"]);

        _inputs["plan"] = _h.PathOf("plan.json");
        CliHarness.AssertOk(CliHarness.Run("plan", "--from", _inputs["graph"], "--to", _inputs["graph2"], "--out", _inputs["plan"]));
        _inputs["patch"] = _h.PathOf("d.nspatch");
        CliHarness.AssertOk(CliHarness.Run("patch", "create", "--base", _inputs["base"], "--tuned", _inputs["tuned"], "--out", _inputs["patch"]));

        // Never read here (the model is graph JSON), but named with --torchsharp it is an input all the same.
        _inputs["torchsharp"] = _h.Write("TorchSharp.dll", "not really an assembly");
    }

    private ModelGraph Graph { get; }

    public void Dispose() => _h.Dispose();

    /// <summary>Each command with every input this fixture has; the output under test is <paramref name="output"/>.</summary>
    private string[] Invocation(string command, string output) => command switch
    {
        "plan" => ["plan", "--from", _inputs["graph"], "--to", _inputs["graph2"], "--from-schema", _inputs["schema"], "--to-schema", _inputs["schema"], "--out", output],
        "apply" => ["apply", "--plan", _inputs["plan"], "--in", _inputs["checkpoint"], "--out", output],
        "apply-sharded" => ["apply", "--plan", _inputs["plan"], "--in", _inputs["index"], "--out", output],
        "convert" => ["convert", _inputs["checkpoint"], output],
        "convert-sharded" => ["convert", _inputs["index"], output],
        "patch-create" => ["patch", "create", "--base", _inputs["base"], "--tuned", _inputs["tuned"], "--out", output],
        "patch-apply" => ["patch", "apply", "--base", _inputs["base"], "--patch", _inputs["patch"], "--out", output],
        "tune" => [.. Tune(), "--out", output],
        "tune-patch" => [.. Tune(), "--out", _h.PathOf("tuned-out.safetensors"), "--patch", output],
        _ => throw new ArgumentException(command),
    };

    private string[] Tune() =>
        ["tune", "--model", _inputs["graph"], "--schema", _inputs["schema"], "--torchsharp", _inputs["torchsharp"], "--checkpoint", _inputs["checkpoint"],
         "--data", _inputs["data"], "--only-initialised-by", _inputs["plan"], "--epochs", "1", "--batch", "8"];

    public static TheoryData<string, string> OutputIsAnInput => new()
    {
        { "plan", "graph" }, { "plan", "graph2" }, { "plan", "schema" },
        { "apply", "plan" }, { "apply", "checkpoint" }, { "apply", "sidecar" },
        { "apply-sharded", "index" }, { "apply-sharded", "shard-a" }, { "apply-sharded", "shard-b" },
        { "convert", "checkpoint" }, { "convert", "sidecar" },
        { "convert-sharded", "index" }, { "convert-sharded", "shard-b" },
        { "patch-create", "base" }, { "patch-create", "tuned" },
        { "patch-apply", "base" }, { "patch-apply", "patch" },
        { "tune", "graph" }, { "tune", "schema" }, { "tune", "torchsharp" }, { "tune", "checkpoint" }, { "tune", "sidecar" }, { "tune", "data" }, { "tune", "plan" },
        { "tune-patch", "checkpoint" }, { "tune-patch", "sidecar" }, { "tune-patch", "data" }, { "tune-patch", "plan" }, { "tune-patch", "graph" },
    };

    [Theory]
    [MemberData(nameof(OutputIsAnInput))]
    public void An_output_that_is_an_input_is_refused_with_or_without_force_through_links(string command, string input)
    {
        var path = _inputs[input];
        var symlink = _h.PathOf("alias-" + Path.GetFileName(path));
        File.CreateSymbolicLink(symlink, path);
        var hardLink = _h.PathOf("hard-" + Path.GetFileName(path));
        ExternalTools.HardLink(path, hardLink);
        var dotted = Path.Combine(_h.Dir, "sub", "..", Path.GetFileName(path));
        Directory.CreateDirectory(_h.PathOf("sub"));
        var before = Snapshot();

        foreach (var (output, force) in new[] { (path, false), (path, true), (symlink, true), (hardLink, true), (dotted, true) })
        {
            string[] args = [.. Invocation(command, output), .. force ? ["--force"] : Array.Empty<string>()];
            AssertRefused(CliHarness.Run(args), before, output, path, "is the same file as the input");
        }
    }

    [Theory]
    [InlineData("plan", "graph")]
    [InlineData("apply", "checkpoint")]
    [InlineData("convert-sharded", "shard-a")]
    [InlineData("patch-apply", "patch")]
    [InlineData("tune", "data")]
    public void An_output_given_as_a_relative_path_to_an_input_is_refused(string command, string input)
    {
        var before = Snapshot();
        var relative = Path.GetFileName(_inputs[input]);
        var result = CliHarness.Exec(_h.Dir, [.. Invocation(command, relative), "--force"]);
        AssertRefused(result, before, relative, _inputs[input], "is the same file as the input");
    }

    [Fact]
    public void An_output_whose_sidecar_would_be_an_input_is_refused()
    {
        // A TorchSharp-format output writes <out>.meta.json; here that name is the plan being read.
        var plan = _h.PathOf("new.dat.meta.json");
        File.Copy(_inputs["plan"], plan);
        var before = Snapshot();
        var result = CliHarness.Run("apply", "--plan", plan, "--in", _inputs["base"], "--out", _h.PathOf("new.dat"), "--force");
        AssertRefused(result, before, plan, plan, "is the same file as the input --plan");
    }

    [Fact]
    public void Two_outputs_of_one_command_are_never_one_file()
    {
        var tuned = _h.PathOf("t.safetensors");
        var link = _h.PathOf("t-link.safetensors");
        File.CreateSymbolicLink(link, tuned);
        var before = Snapshot();
        AssertRefused(CliHarness.Run([.. Tune(), "--out", tuned, "--patch", tuned, "--force"]), before, tuned, tuned, "are the same file");
        AssertRefused(CliHarness.Run([.. Tune(), "--out", tuned, "--patch", link, "--force"]), before, link, tuned, "are the same file");
        AssertRefused(CliHarness.Run([.. Tune(), "--out", _h.PathOf("t.dat"), "--patch", _h.PathOf("t.dat.meta.json"), "--force"]), before, "t.dat.meta.json", "t.dat", "are the same file");
    }

    public static TheoryData<string> Commands => new() { "plan", "apply", "convert", "patch-create", "patch-apply", "tune", "tune-patch" };

    [Theory]
    [MemberData(nameof(Commands))]
    public void An_existing_output_needs_force_in_every_command(string command)
    {
        var output = _h.Write(command == "plan" ? "existing.json" : command == "tune-patch" ? "existing.nspatch" : "existing.safetensors", "keep me");
        var before = Snapshot();
        AssertRefused(CliHarness.Run(Invocation(command, output)), before, output, output, "pass --force to replace it");
        CliHarness.AssertOk(CliHarness.Run([.. Invocation(command, output), "--force"]));
        Assert.NotEqual("keep me", File.ReadAllText(output));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void An_output_that_is_a_folder_fifo_or_device_is_refused_even_with_force()
    {
        var folder = Directory.CreateDirectory(_h.PathOf("folder.safetensors")).FullName;
        var fifo = MakeFifo("out.fifo");
        var before = Snapshot();
        AssertRefused(CliHarness.Run("convert", _inputs["base"], folder, "--force"), before, folder, folder, "is a folder");
        AssertRefused(CliHarness.Run("convert", _inputs["base"], fifo, "--force"), before, fifo, fifo, "named pipe (FIFO)");

        // A rename over /dev/null would replace the device for everyone.
        var result = CliHarness.Run("convert", _inputs["base"], "/dev/null", "--force");
        CliHarness.AssertUserError(result, "/dev/null", "character device");
        Assert.Equal(NeuralSurgery.IO.FileKind.CharacterDevice, NeuralSurgery.IO.InputFile.KindOf("/dev/null"));
        Assert.Equal(NeuralSurgery.IO.FileKind.Fifo, NeuralSurgery.IO.InputFile.KindOf(fifo));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("apply")]
    [InlineData("convert")]
    [InlineData("tune")]
    [InlineData("patch-create")]
    public void A_fifo_metadata_sidecar_is_refused_without_hanging(string command)
    {
        var checkpoint = _h.PathOf("piped.dat");
        File.Copy(_inputs["checkpoint"], checkpoint);
        var sidecar = MakeFifo("piped.dat.meta.json");
        var output = _h.PathOf("out.safetensors");
        string[] args = command switch
        {
            "inspect" => ["inspect", checkpoint],
            "apply" => ["apply", "--plan", _inputs["plan"], "--in", checkpoint, "--out", output],
            "convert" => ["convert", checkpoint, output],
            "tune" => ["tune", "--model", _inputs["graph"], "--checkpoint", checkpoint, "--data", _inputs["data"], "--out", output],
            _ => ["patch", "create", "--base", _inputs["base"], "--tuned", checkpoint, "--out", output],
        };
        var result = RunWithin(args, sidecar);
        CliHarness.AssertUserError(result, sidecar, "named pipe (FIFO)", "expected a regular file");
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("convert")]
    [InlineData("apply")]
    [InlineData("diff")]
    public void A_fifo_shard_named_by_an_index_is_refused_without_hanging(string command)
    {
        var plain = ReferenceModel.Initialize(Graph, 3).ToStateDict();
        WriteShards("piped.index.json", "piped-a.safetensors", "piped-b.safetensors", plain);
        File.Delete(_h.PathOf("piped-b.safetensors"));
        var shard = MakeFifo("piped-b.safetensors");
        var index = _h.PathOf("piped.index.json");
        var output = _h.PathOf("out.safetensors");
        string[] args = command switch
        {
            "inspect" => ["inspect", index],
            "convert" => ["convert", index, output],
            "apply" => ["apply", "--plan", _inputs["plan"], "--in", index, "--out", output],
            _ => ["diff", _inputs["base"], index],
        };
        var result = RunWithin(args, shard);
        CliHarness.AssertUserError(result, index, "piped-b.safetensors", "named pipe (FIFO)");
        Assert.False(File.Exists(output));
    }

    public static TheoryData<string> ExplicitInputs => new() { "plan", "graph", "schema", "patch", "data", "checkpoint", "source", "torchsharp" };

    [Theory]
    [MemberData(nameof(ExplicitInputs))]
    public void A_fifo_named_as_an_input_is_refused_without_hanging(string input)
    {
        var output = _h.PathOf("out.safetensors");
        var fifo = MakeFifo(input switch
        {
            "plan" => "fifo.plan.json",
            "graph" => "fifo.graph.json",
            "schema" => "fifo.features.yaml",
            "patch" => "fifo.nspatch",
            "data" => "fifo-data.safetensors",
            "checkpoint" => "fifo.safetensors",
            "source" => "Fifo.cs",
            _ => "FifoTorchSharp.dll",
        });
        string[] args = input switch
        {
            "plan" => ["apply", "--plan", fifo, "--in", _inputs["base"], "--out", output],
            "graph" => ["plan", "--from", fifo, "--to", _inputs["graph"]],
            "schema" => ["schema", "check", fifo],
            "patch" => ["patch", "apply", "--base", _inputs["base"], "--patch", fifo, "--out", output],
            "data" => ["tune", "--model", _inputs["graph"], "--checkpoint", _inputs["base"], "--data", fifo, "--out", output],
            "checkpoint" => ["verify", "--old-model", _inputs["graph"], "--old-checkpoint", fifo, "--new-model", _inputs["graph"], "--new-checkpoint", _inputs["base"]],
            "source" => ["graph", fifo, "--schema", _inputs["schema"], "--torchsharp", _inputs["torchsharp"]],
            _ => ["graph", _h.Write("M.cs", "class M {}"), "--schema", _inputs["schema"], "--torchsharp", fifo],
        };
        var result = RunWithin(args, fifo);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.True(result.Err.Contains(fifo, StringComparison.Ordinal) && result.Err.Contains("named pipe (FIFO)", StringComparison.Ordinal), result.ToString());
        Assert.DoesNotContain("   at ", result.Err);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Tune_with_a_patch_leaves_no_output_when_the_patch_cannot_be_written()
    {
        // The temporary file of a 248-character name (name.<random>.tmp) exceeds NAME_MAX: the patch fails after the
        // tuned checkpoint was written, and neither may appear.
        var tuned = _h.PathOf("tuned-out.safetensors");
        var patch = _h.PathOf(new string('p', 240) + ".nspatch");
        var before = Snapshot();
        var result = CliHarness.Run([.. Tune(), "--out", tuned, "--patch", patch]);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.DoesNotContain("   at ", result.Err);
        Assert.False(File.Exists(tuned), result.ToString());
        Assert.False(File.Exists(patch));
        AssertUnchanged(before);

        // A folder in the patch's place is refused before tuning starts.
        var folder = Directory.CreateDirectory(_h.PathOf("p.nspatch")).FullName;
        before = Snapshot();
        AssertRefused(CliHarness.Run([.. Tune(), "--out", tuned, "--patch", folder, "--force"]), before, folder, folder, "is a folder");
        Assert.False(File.Exists(tuned));
    }

    [Theory]
    [InlineData("apply")]
    [InlineData("convert")]
    [InlineData("tune")]
    [InlineData("patch-apply")]
    public void A_json_checkpoint_output_is_a_user_error_naming_it(string command)
    {
        var output = _h.PathOf("out.index.json");
        var before = Snapshot();
        var args = Invocation(command, output);
        AssertRefused(CliHarness.Run(args), before, output, output, "sharded index");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE, (byte)'{', (byte)'}' }, "not valid JSON")]
    [InlineData(null, "invalid string")]
    public void A_sidecar_with_invalid_utf8_or_a_lone_surrogate_is_a_user_error_naming_it(byte[]? bytes, string expected)
    {
        var checkpoint = _h.PathOf("odd.dat");
        File.Copy(_inputs["checkpoint"], checkpoint);
        var sidecar = checkpoint + ".meta.json";
        File.WriteAllBytes(sidecar, bytes ?? System.Text.Encoding.UTF8.GetBytes(
            "{\"format\": \"neuralsurgery.checkpoint-metadata\", \"version\": 1, \"checkpoint\": {\"length\": 1, \"fingerprint\": \"x\"}, \"metadata\": {\"a\": \"\\ud800\"}}"));
        CliHarness.AssertUserError(CliHarness.Run("inspect", checkpoint), sidecar, expected);
        CliHarness.AssertUserError(CliHarness.Run("convert", checkpoint, _h.PathOf("odd.safetensors")), sidecar, expected);
        Assert.False(File.Exists(_h.PathOf("odd.safetensors")));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void A_non_finite_new_output_bias_is_a_bad_option(string value)
    {
        var output = _h.PathOf("p2.json");
        CliHarness.AssertUserError(CliHarness.Run("plan", "--from", _inputs["graph"], "--to", _inputs["graph2"], "--new-output-bias", value, "--out", output), "--new-output-bias", "finite");
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("2000000000", "--samples 2000000000")]
    [InlineData("2e9", "2e9")]
    public void Too_many_verify_samples_are_a_bad_option(string samples, string fragment)
    {
        CliHarness.AssertUserError(CliHarness.Run("verify", "--old-model", _inputs["graph"], "--old-checkpoint", _inputs["base"],
            "--new-model", _inputs["graph"], "--new-checkpoint", _inputs["base"], "--samples", samples), fragment);
    }

    [Fact]
    public void A_graph_too_large_for_its_checkpoint_is_reported_as_not_fitting()
    {
        // Three billion hidden units: the checkpoint does not fit, and the graph alone could not be allocated.
        var huge = _h.Write("huge.graph.json", File.ReadAllText(_inputs["graph"])
            .Replace("\"8\"", "\"3000000000\"", StringComparison.Ordinal)
            .Replace("\"outFeatures\": 8", "\"outFeatures\": 3000000000", StringComparison.Ordinal)
            .Replace("\"inFeatures\": 8", "\"inFeatures\": 3000000000", StringComparison.Ordinal));
        var output = _h.PathOf("t.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("tune", "--model", huge, "--checkpoint", _inputs["base"], "--data", _inputs["data"], "--out", output),
            _inputs["base"], "do not fit", "expected [3000000000, 6]");
        CliHarness.AssertUserError(CliHarness.Run("verify", "--old-model", huge, "--old-checkpoint", _inputs["base"], "--new-model", _inputs["graph"], "--new-checkpoint", _inputs["base"]),
            _inputs["base"], "do not fit");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Escape_codes_in_names_are_escaped_in_tables_and_errors()
    {
        var hostile = "fc\u001b[2J\u001b]0;pwned\u0007";
        var dict = new StateDict();
        dict.Add(hostile, new float[] { 1, 2 }, 2);
        var checkpoint = _h.PathOf("escape.safetensors");
        dict.Save(checkpoint);
        var inspect = CliHarness.Run("inspect", checkpoint);
        CliHarness.AssertOk(inspect);
        Assert.DoesNotContain('\u001b', inspect.Out);
        Assert.DoesNotContain('\u0007', inspect.Out);
        Assert.Contains("fc\\x1B[2J\\x1B]0;pwned\\x07", inspect.Out);

        // --json stays valid JSON that holds the name exactly (the JSON writer escapes it, not the terminal filter).
        var odd = hostile + "\u0085\u202E";
        var jsonDict = new StateDict();
        jsonDict.Add(odd, new float[] { 1 }, 1);
        var jsonCheckpoint = _h.PathOf("escape-json.safetensors");
        jsonDict.Save(jsonCheckpoint);
        var json = CliHarness.Run("inspect", jsonCheckpoint, "--json");
        CliHarness.AssertOk(json);
        Assert.DoesNotContain('\u001b', json.Out);
        using (var doc = System.Text.Json.JsonDocument.Parse(json.Out))
        {
            Assert.Equal(odd, doc.RootElement.GetProperty("tensors")[0].GetProperty("name").GetString());
        }

        // A data file with an unknown tensor of that name: the error names it, escaped.
        var data = StateDict.Load(_inputs["data"]);
        data.Add(hostile, new float[] { 0 }, 1);
        var dataPath = _h.PathOf("escape-data.safetensors");
        data.Save(dataPath);
        var tune = CliHarness.Run("tune", "--model", _inputs["graph"], "--checkpoint", _inputs["base"], "--data", dataPath, "--out", _h.PathOf("t.safetensors"));
        CliHarness.AssertUserError(tune, dataPath, "fc\\x1B[2J\\x1B]0;pwned\\x07");
        Assert.DoesNotContain('\u001b', tune.Err);

        // And a file name holding one.
        var missing = _h.PathOf("\u001b[31mred.safetensors");
        var inspectMissing = CliHarness.Run("inspect", missing);
        CliHarness.AssertUserError(inspectMissing, "\\x1B[31mred.safetensors");
        Assert.DoesNotContain('\u001b', inspectMissing.Err);
    }

    [Fact]
    public void A_patch_over_two_gigabytes_is_checked_by_its_header_and_refused_by_name()
    {
        // A valid header for another base over a sparse 2 GB payload: refused from the 96 header bytes, unread.
        var huge = _h.PathOf("huge.nspatch");
        const long Length = int.MaxValue + 100L;
        var header = new byte[Runtime.Tuning.SparsePatch.HeaderSize];
        "NSPATCH\0"u8.CopyTo(header);
        header[8] = Runtime.Tuning.SparsePatch.Version;
        header[10] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(48), 1000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(56), (ulong)(Length - header.Length));
        using (var stream = new FileStream(huge, FileMode.CreateNew))
        {
            stream.Write(header);
            stream.SetLength(Length); // sparse: nothing more is written
        }

        var output = _h.PathOf("o.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("patch", "apply", "--base", _inputs["base"], "--patch", huge, "--out", output), huge, _inputs["base"], "content hash");
        Assert.False(File.Exists(output));
    }

    private void WriteShards(string index, string first, string second, StateDict weights)
    {
        var a = new StateDict();
        var b = new StateDict();
        foreach (var t in weights.Tensors)
        {
            (t.Name.StartsWith("fc1.", StringComparison.Ordinal) ? a : b).Add(t, weights.GetData(t.Name));
        }

        a.Save(_h.PathOf(first));
        b.Save(_h.PathOf(second));
        var map = string.Join(", ", weights.Tensors.Select(t => $"\"{t.Name}\": \"{(t.Name.StartsWith("fc1.", StringComparison.Ordinal) ? first : second)}\""));
        _h.Write(index, "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
    }

    private string MakeFifo(string name)
    {
        var path = ExternalTools.MakeFifo(_h.PathOf(name));
        _fifos.Add(path);
        return path;
    }

    /// <summary>Runs the tool in-process with a deadline; if it hangs on <paramref name="fifo"/>, a writer releases it and the test fails.</summary>
    private static CliResult RunWithin(string[] args, string fifo)
    {
        var run = Task.Run(() => CliHarness.Run(args));
        if (!run.Wait(TimeSpan.FromSeconds(30)))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
            {
            }

            Assert.Fail($"surgery {string.Join(' ', args)} hung on the FIFO {fifo}");
        }

        return run.Result;
    }

    /// <summary>Every file under the folder but links and the FIFOs made here (reading one would block), with its SHA-256.</summary>
    private Dictionary<string, string> Snapshot()
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_h.Dir, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(file);
            if (info.LinkTarget is null && !_fifos.Contains(file))
            {
                hashes[file] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }

        return hashes;
    }

    /// <summary>The same files with the same bytes: inputs untouched, no output and no temporary file left.</summary>
    private void AssertUnchanged(Dictionary<string, string> before)
    {
        var after = Snapshot();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (file, hash) in before)
        {
            Assert.True(hash == after[file], $"{file} changed");
        }

        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp", SearchOption.AllDirectories));
    }

    private void AssertRefused(CliResult result, Dictionary<string, string> before, string output, string input, string reason)
    {
        CliHarness.AssertUserError(result, output, input, reason);
        AssertUnchanged(before);
    }
}
