using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Tests.Checkpoints;

public class ShardedTests
{
    private const string Index = "model.safetensors.index.json";

    /// <summary>Three shards as Hugging Face lays them out; the index lists tensors in another order than the shards.</summary>
    private static StateDict WriteShards(TempFolder folder, string? weightMap = null)
    {
        var all = RoundTripTests.Everything();
        var names = all.Tensors.Select(t => t.Name).ToArray();
        var shards = new[] { names[..5], names[5..9], names[9..] };
        for (var s = 0; s < shards.Length; s++)
        {
            var shard = new StateDict();
            shard.Metadata["format"] = "pt";
            shard.Metadata[$"shard{s}"] = "yes";
            foreach (var name in shards[s])
            {
                shard.Add(all.Find(name)!, all.GetData(name));
            }

            Directory.CreateDirectory(folder.File("sub"));
            shard.Save(folder.File(ShardPath(s)));
        }

        var map = weightMap ?? string.Join(",", names.Reverse().Select(n =>
            $"{System.Text.Json.JsonSerializer.Serialize(n)}: \"{ShardPath(Array.FindIndex(shards, s => s.Contains(n)))}\""));
        folder.Write(Index, $"{{\"metadata\": {{\"total_size\": 1234, \"format\": \"index\"}}, \"weight_map\": {{{map}}}}}");
        return all;
    }

    private static string ShardPath(int s) => s == 2 ? $"sub/model-0000{s + 1}-of-00003.safetensors" : $"model-0000{s + 1}-of-00003.safetensors";

    [Fact]
    public void Shards_read_as_one_source_in_weight_map_order()
    {
        using var folder = new TempFolder();
        var all = WriteShards(folder);

        using var reader = CheckpointReader.Open(folder.File(Index));
        Assert.True(reader.IsSharded);
        Assert.Equal(3, reader.DataFiles.Count);
        Assert.Equal(all.Tensors.Reverse(), reader.Tensors);
        foreach (var tensor in all.Tensors)
        {
            Assert.Equal(all.GetData(tensor.Name), reader.ReadAll(reader.Get(tensor.Name)));
        }

        Assert.Equal(
            // Shards in order of first use by the weight_map (reversed here).
            [new("total_size", "1234"), new("format", "index"), new("shard2", "yes"), new("shard1", "yes"), new("shard0", "yes")],
            reader.Metadata.ToArray());
        Assert.EndsWith("sub/model-00003-of-00003.safetensors", reader.DataFileOf(reader.Get(all.Tensors[^1].Name)));
    }

    [Fact]
    public void A_sharded_checkpoint_converts_to_one_TorchSharp_file()
    {
        using var folder = new TempFolder();
        var all = WriteShards(folder);
        CheckpointConverter.Convert(folder.File(Index), folder.File("one.dat"), CheckpointFormat.TorchSharp);
        var one = StateDict.Load(folder.File("one.dat"));
        Assert.Equal(all.Tensors.Reverse(), one.Tensors);
        Assert.Equal("1234", one.Metadata["total_size"]);
    }

    [Theory]
    [InlineData("../outside.safetensors", "has a '..' segment")]
    [InlineData("sub/../../outside.safetensors", "has a '..' segment")]
    [InlineData("..\\\\outside.safetensors", "has a '..' segment")]
    [InlineData("/etc/passwd", "is absolute")]
    [InlineData("\\\\\\\\server\\\\share.safetensors", "is absolute")]
    [InlineData("C:/x.safetensors", "is absolute")]
    [InlineData("", "is empty")]
    public void Shard_paths_that_leave_the_folder_are_refused(string shard, string problem)
    {
        using var folder = new TempFolder();
        folder.Write("outside.safetensors", Golden.LinearSafetensors());
        var index = folder.Write("inner/" + Index, $"{{\"weight_map\": {{\"weight\": \"{shard}\"}}}}");
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(index));
        Assert.Equal(index, ex.FilePath);
        Assert.Equal("weight", ex.TensorName);
        Assert.Contains(problem, ex.Message);
        Assert.Contains("shard paths must be relative paths inside the index's folder", ex.Message);
    }

    [Fact]
    public void A_symbolic_link_out_of_the_folder_is_refused()
    {
        using var folder = new TempFolder();
        folder.Write("outside/secret.safetensors", Golden.LinearSafetensors());
        Directory.CreateDirectory(folder.File("inner"));
        File.CreateSymbolicLink(folder.File("inner/link.safetensors"), folder.File("outside/secret.safetensors"));
        Directory.CreateSymbolicLink(folder.File("inner/dir"), folder.File("outside"));
        File.CreateSymbolicLink(folder.File("inner/ok.safetensors"), "real/linear.safetensors");
        folder.Write("inner/real/linear.safetensors", Golden.LinearSafetensors());

        foreach (var shard in new[] { "link.safetensors", "dir/secret.safetensors" })
        {
            var index = folder.Write("inner/" + Index, $"{{\"weight_map\": {{\"weight\": \"{shard}\", \"bias\": \"{shard}\"}}}}");
            var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(index));
            Assert.Contains("leaves the folder through a symbolic link", ex.Message);
        }

        // A link that stays inside the folder is fine.
        var good = folder.Write("inner/" + Index, "{\"weight_map\": {\"weight\": \"ok.safetensors\", \"bias\": \"ok.safetensors\"}}");
        using var reader = CheckpointReader.Open(good);
        Assert.Equal(2, reader.Tensors.Count);
    }

    [Theory]
    [InlineData("[]", "the index is not a JSON object")]
    [InlineData("{\"metadata\": {}}", "the index has no \"weight_map\" object")]
    [InlineData("{\"weight_map\": []}", "the index has no \"weight_map\" object")]
    [InlineData("{\"weight_map\": {\"weight\": 3}}", "the weight_map value is not a string")]
    [InlineData("{\"weight_map\": {\"weight\": \"a.safetensors\", \"weight\": \"a.safetensors\"}}", "weight_map lists the tensor twice")]
    [InlineData("{\"weight_map\": {}, \"metadata\": []}", "the index's \"metadata\" is not a JSON object")]
    [InlineData("{\"weight_map\": {}, \"metadata\": {\"a\": [1]}}", "index metadata value 'a' is not a string, number or boolean")]
    [InlineData("{\"weight_map\": ", "the index is not valid JSON")]
    [InlineData("{\"weight_map\": {\"weight\": \"missing.safetensors\"}}", "shard 'missing.safetensors' cannot be opened")]
    public void Malformed_indexes_are_refused(string index, string message)
    {
        using var folder = new TempFolder();
        var path = folder.Write(Index, index);
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Index_and_shards_must_agree()
    {
        using var folder = new TempFolder();
        folder.Write("a.safetensors", Golden.LinearSafetensors());
        folder.Write("b.safetensors", Golden.LinearSafetensors());

        var missing = folder.Write("m.index.json", "{\"weight_map\": {\"weight\": \"a.safetensors\", \"bias\": \"a.safetensors\", \"extra\": \"a.safetensors\"}}");
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(missing));
        Assert.Equal("extra", ex.TensorName);
        Assert.Contains("the index lists the tensor in shard 'a.safetensors', which does not hold it", ex.Message);

        var unlisted = folder.Write("u.index.json", "{\"weight_map\": {\"weight\": \"a.safetensors\"}}");
        ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(unlisted));
        Assert.Equal(folder.File("a.safetensors"), ex.FilePath);
        Assert.Equal("bias", ex.TensorName);
        Assert.Contains("does not list", ex.Message);

        var elsewhere = folder.Write("e.index.json", "{\"weight_map\": {\"weight\": \"a.safetensors\", \"bias\": \"b.safetensors\"}}");
        ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(elsewhere));
        Assert.Contains("assigns to shard 'b.safetensors'", ex.Message);
    }

    [Fact]
    public void A_corrupt_shard_is_reported_by_its_own_path()
    {
        using var folder = new TempFolder();
        folder.Write("a.safetensors", Golden.LinearSafetensors()[..170]);
        var index = folder.Write("m.index.json", "{\"weight_map\": {\"weight\": \"a.safetensors\", \"bias\": \"a.safetensors\"}}");
        var ex = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Open(index));
        Assert.Equal(folder.File("a.safetensors"), ex.FilePath);
        Assert.Equal("weight", ex.TensorName);
    }

    [Fact]
    public void Two_spellings_of_one_shard_open_it_once()
    {
        using var folder = new TempFolder();
        folder.Write("a.safetensors", Golden.LinearSafetensors());
        var index = folder.Write("m.index.json", "{\"weight_map\": {\"weight\": \"a.safetensors\", \"bias\": \"./a.safetensors\"}}");
        using var reader = CheckpointReader.Open(index);
        Assert.Single(reader.DataFiles);
        Assert.Equal(["weight", "bias"], reader.Tensors.Select(t => t.Name));
    }
}
