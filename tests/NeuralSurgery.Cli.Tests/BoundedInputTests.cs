using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Tuning;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// Issue 14, memory: decompression bounded by what a patch declares and its base can need, documents refused by
/// size before they are read, and tables streamed, so hostile files end in a message (exit 1) or a result (exit 0)
/// within a heap limit, never in OutOfMemory.
/// </summary>
public sealed class BoundedInputTests : IDisposable
{
    /// <summary>The heap of the child processes here, far below what the hostile files used to take (1.7-3.3 GiB).</summary>
    private const string HeapLimit = "0x20000000"; // 512 MiB

    private const long Inflated = 1_700_000_000;

    private readonly CliHarness _h = new();
    private readonly string _base;

    public BoundedInputTests()
    {
        var weights = new StateDict();
        weights.Add("fc.weight", new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        weights.Add("fc.bias", new float[] { 1, 2 }, 2);
        _base = _h.PathOf("base.safetensors");
        weights.Save(_base);
    }

    public void Dispose() => _h.Dispose();

    /// <summary>
    /// A patch of the base with a valid header and payload hash: one real entry (fc.bias[1] = 9), then zeros up to
    /// <paramref name="inflated"/> bytes; the header declares <paramref name="declared"/> uncompressed bytes.
    /// </summary>
    private string Bomb(string name, long declared, long inflated)
    {
        var entry = new List<byte> { 7 };
        entry.AddRange("fc.bias"u8.ToArray());
        entry.AddRange([6, 1, 2, 1, 0]); // float32, rank 1, [2], one change at index 0
        entry.AddRange(BitConverter.GetBytes(9f));
        var compressed = new MemoryStream();
        using (var brotli = new BrotliStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            brotli.Write(entry.ToArray());
            var zeros = new byte[1 << 20];
            for (long written = entry.Count; written < inflated; written += zeros.Length)
            {
                brotli.Write(zeros, 0, (int)Math.Min(zeros.Length, inflated - written));
            }
        }

        var payload = compressed.ToArray();
        var file = new byte[SparsePatch.HeaderSize + payload.Length];
        "NSPATCH\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), SparsePatch.Version);
        file[10] = 1;
        using (var reader = CheckpointReader.Open(_base))
        {
            CheckpointHash.Compute(reader).CopyTo(file, 12);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(44), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(48), (ulong)declared);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(56), (ulong)payload.Length);
        SHA256.HashData(payload, file.AsSpan(64, 32));
        payload.CopyTo(file, SparsePatch.HeaderSize);
        var path = _h.PathOf(name);
        File.WriteAllBytes(path, file);
        return path;
    }

    /// <summary>Every file in the folder with its SHA-256.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(_h.Dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    private void AssertUnchanged(Dictionary<string, string> before)
    {
        var after = Snapshot();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, f => Assert.True(f.Value == after[f.Key], $"{f.Key} changed"));
    }

    [Fact]
    public void A_patch_that_declares_more_than_its_base_can_need_is_refused_before_inflating()
    {
        var bomb = Bomb("declared.nspatch", Inflated, Inflated);
        Assert.True(new FileInfo(bomb).Length < 1 << 20);
        var output = _h.PathOf("out.safetensors");
        var before = Snapshot();
        CliHarness.AssertUserError(CliHarness.Run("patch", "apply", "--base", _base, "--patch", bomb, "--out", output),
            bomb, $"declares {Inflated} uncompressed payload bytes", "decompression bomb");
        AssertUnchanged(before);
    }

    [Fact]
    public void A_patch_that_inflates_past_what_it_declares_stops_there()
    {
        // The header tells the truth about the one entry; the payload goes on for 1.7 GB.
        var bomb = Bomb("inflating.nspatch", 17, Inflated);
        var output = _h.PathOf("out.safetensors");
        var before = Snapshot();
        var clock = Stopwatch.StartNew();
        CliHarness.AssertUserError(CliHarness.Run("patch", "apply", "--base", _base, "--patch", bomb, "--out", output),
            bomb, "decompresses to more than the 17 bytes the header declares");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}: it inflated the payload");
        AssertUnchanged(before);

        // The same file with the right payload applies: the check is not a refusal of every patch.
        var good = Bomb("good.nspatch", 17, 17);
        CliHarness.AssertOk(CliHarness.Run("patch", "apply", "--base", _base, "--patch", good, "--out", output));
        Assert.Equal(9f, StateDict.Load(output).Float32("fc.bias")[0]);
    }

    [Fact]
    public void Bombs_are_refused_within_a_heap_limit_in_a_process_of_their_own()
    {
        foreach (var (bomb, reason) in new[]
        {
            (Bomb("declared.nspatch", Inflated, Inflated), "decompression bomb"),
            (Bomb("inflating.nspatch", 17, Inflated), "decompresses to more than"),
        })
        {
            var output = _h.PathOf("out.safetensors");
            var result = CliHarness.Exec(null, [("DOTNET_GCHeapHardLimit", HeapLimit)], "patch", "apply", "--base", _base, "--patch", bomb, "--out", output);
            CliHarness.AssertUserError(result, bomb, reason);
            Assert.False(File.Exists(output));
            Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp"));
        }
    }

    [Fact]
    public void Inspect_of_a_million_tensor_header_fits_a_heap_limit()
    {
        // 59 MB of header: a million empty tensors, the safetensors limit is 100 MB.
        var path = _h.PathOf("million.safetensors");
        const int Count = 1_000_000;
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            var json = new StringBuilder("{");
            for (var i = 0; i < Count; i++)
            {
                json.Append(i == 0 ? "" : ",").Append("\"t").Append(i).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
            }

            json.Append('}');
            json.Append(' ', (8 - (json.Length % 8)) % 8);
            var header = Encoding.ASCII.GetBytes(json.ToString());
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Write(length);
            file.Write(header);
        }

        var result = CliHarness.Exec(null, [("DOTNET_GCHeapHardLimit", HeapLimit)], "inspect", path);
        CliHarness.AssertOk(result);
        Assert.StartsWith($"{path}: safetensors, 1,000,000 tensors, 0 elements", result.Out, StringComparison.Ordinal);
        Assert.Equal(Count + 4, result.OutLines.Length); // summary, header, rule, rows, "metadata: none"
        Assert.Equal("| t999999 | float32 | [0]   |     0 |", result.OutLines[^2]);
    }

    [Fact]
    public void Tune_on_fifty_million_rows_says_the_data_is_too_large_within_a_heap_limit()
    {
        var b = new GraphBuilder("tiny");
        var graph = b.Output("y", b.Linear("head", b.FeatureInput("x", Dim.Batch, 6), 3)).Build();
        var model = _h.Write("tiny.graph.json", GraphJson.Write(graph));
        var checkpoint = _h.PathOf("tiny.safetensors");
        ReferenceModel.Initialize(graph, 3).ToStateDict().Save(checkpoint);

        // 50M rows: a 1.8 GB data section, sparse (the header is all that is written, and all that may be read).
        const long Rows = 50_000_000;
        var data = _h.PathOf("rows.safetensors");
        var json = Encoding.ASCII.GetBytes(
            $"{{\"x\":{{\"dtype\":\"F32\",\"shape\":[{Rows},6],\"data_offsets\":[0,{Rows * 24}]}},"
            + $"\"target\":{{\"dtype\":\"F32\",\"shape\":[{Rows},3],\"data_offsets\":[{Rows * 24},{Rows * 36}]}}}}");
        using (var file = new FileStream(data, FileMode.CreateNew))
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
            file.Write(length);
            file.Write(json);
            file.SetLength(8 + json.Length + (Rows * 36));
        }

        var output = _h.PathOf("tuned.safetensors");
        var result = CliHarness.Exec(null, [("DOTNET_GCHeapHardLimit", HeapLimit)],
            "tune", "--model", model, "--checkpoint", checkpoint, "--data", data, "--out", output, "--epochs", "1", "--batch", "8");
        CliHarness.AssertUserError(result, data, $"takes {Rows * 72} bytes in memory", "pass fewer rows");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Verify_on_a_million_states_too_large_for_memory_says_so_within_a_heap_limit()
    {
        // 1M states through two 512-wide layers, twice: about 4 GB as one batch.
        var b = new GraphBuilder("wide");
        var graph = b.Output("y", b.Linear("head", b.Relu(b.Linear("fc1", b.FeatureInput("x", Dim.Batch, 6), 512)), 3)).Build();
        var model = _h.Write("wide.graph.json", GraphJson.Write(graph));
        var checkpoint = _h.PathOf("wide.safetensors");
        ReferenceModel.Initialize(graph, 3).ToStateDict().Save(checkpoint);
        var result = CliHarness.Exec(null, [("DOTNET_GCHeapHardLimit", HeapLimit)],
            "verify", "--old-model", model, "--old-checkpoint", checkpoint, "--new-model", model, "--new-checkpoint", checkpoint, "--samples", "1000000");
        CliHarness.AssertUserError(result, "--samples 1000000: 1000000 random states take about", "pass at most");
    }

    [Theory]
    [InlineData("plan", 64)]
    [InlineData("graph", 64)]
    [InlineData("schema", 16)]
    public void A_document_past_its_size_cap_is_refused_by_name_before_it_is_read(string kind, int capMiB)
    {
        var name = kind switch { "plan" => "big.plan.json", "graph" => "big.graph.json", _ => "big.features.yaml" };
        var path = _h.PathOf(name);
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.SetLength(((long)capMiB << 20) + 1); // sparse: nothing is written, and nothing must be read
        }

        var output = _h.PathOf("out.safetensors");
        var result = kind switch
        {
            "plan" => CliHarness.Run("apply", "--plan", path, "--in", _base, "--out", output),
            "graph" => CliHarness.Run("plan", "--from", path, "--to", path, "--out", _h.PathOf("p.json")),
            _ => CliHarness.Run("schema", "check", path),
        };
        Assert.True(result.ExitCode == 1, result.ToString());
        var text = result.Out + result.Err;
        Assert.Contains(path, text, StringComparison.Ordinal);
        Assert.Contains($"more than the {(long)capMiB << 20} ({capMiB} MiB)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }
}
