using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// A sharded safetensors checkpoint: <c>*.index.json</c> = <c>{"metadata": {...}, "weight_map": {"tensor": "shard"}}</c>
/// (the layout Hugging Face's <c>save_pretrained</c> writes), read as one source.
/// </summary>
/// <remarks>
/// Shard paths are untrusted: they must be relative, without <c>..</c>, and stay inside the index's folder after
/// symbolic links are resolved. The index and the shards must agree exactly: every listed tensor is in its
/// shard, and every tensor of a shard is listed for that shard.
/// </remarks>
internal static class ShardIndex
{
    public sealed record Opened(List<CheckpointFile> Files, List<TensorLocation> Tensors, List<KeyValuePair<string, string>> Metadata);

    public static Opened Open(string indexPath)
    {
        var fullIndex = Path.GetFullPath(indexPath);
        var folder = Path.GetDirectoryName(fullIndex) ?? throw new IOException($"'{indexPath}' has no folder.");
        var (weightMap, indexMetadata) = ReadIndex(indexPath);

        var files = new List<CheckpointFile>();
        try
        {
            var shardOf = new Dictionary<string, int>(StringComparer.Ordinal);
            var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
            var fileByPath = new Dictionary<string, int>(SafePaths.Comparison == StringComparison.Ordinal ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
            var shardNames = new List<string>();
            foreach (var (tensor, shard) in weightMap)
            {
                if (!resolved.TryGetValue(shard, out var shardPath))
                {
                    var problem = SafePaths.CheckInside(folder, shard, out shardPath);
                    if (problem is not null)
                    {
                        throw new CheckpointFormatException(indexPath, null, tensor,
                            $"shard path '{shard}' {problem}; shard paths must be relative paths inside the index's folder");
                    }

                    resolved.Add(shard, shardPath);
                }

                // Keyed by full path, so "a.safetensors" and "./a.safetensors" are one shard.
                if (!fileByPath.TryGetValue(shardPath, out var index))
                {
                    CheckpointFile file;
                    try
                    {
                        file = CheckpointFile.Open(shardPath);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        throw new CheckpointFormatException(indexPath, null, tensor, $"shard '{shard}' cannot be opened: {ex.Message}", ex);
                    }

                    index = files.Count;
                    files.Add(file);
                    fileByPath.Add(shardPath, index);
                    shardNames.Add(shard);
                }

                shardOf.Add(tensor, index);
            }

            var shardTensors = new List<Dictionary<string, TensorLocation>>();
            var metadata = new List<KeyValuePair<string, string>>(indexMetadata);
            var metadataKeys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, _) in indexMetadata)
            {
                metadataKeys.Add(key);
            }

            for (var i = 0; i < files.Count; i++)
            {
                var header = SafetensorsCodec.ReadHeader(files[i].Path, files[i].Handle, files[i].Length, i);
                var byName = new Dictionary<string, TensorLocation>(StringComparer.Ordinal);
                foreach (var location in header.Tensors)
                {
                    byName.Add(location.Info.Name, location);
                    if (!shardOf.TryGetValue(location.Info.Name, out var listed))
                    {
                        throw new CheckpointFormatException(files[i].Path, location.Offset, location.Info.Name,
                            $"the shard holds a tensor that the index {indexPath} does not list");
                    }

                    if (listed != i)
                    {
                        throw new CheckpointFormatException(files[i].Path, location.Offset, location.Info.Name,
                            $"the shard holds a tensor that the index {indexPath} assigns to shard '{shardNames[listed]}'");
                    }
                }

                shardTensors.Add(byName);

                // Shard metadata (e.g. {"format": "pt"}) adds keys the index does not have; the index wins.
                foreach (var (key, value) in header.Metadata)
                {
                    if (metadataKeys.Add(key))
                    {
                        metadata.Add(new(key, value));
                    }
                }
            }

            var tensors = new List<TensorLocation>(weightMap.Count);
            foreach (var (tensor, shard) in weightMap)
            {
                if (!shardTensors[shardOf[tensor]].TryGetValue(tensor, out var location))
                {
                    throw new CheckpointFormatException(indexPath, null, tensor,
                        $"the index lists the tensor in shard '{shard}', which does not hold it");
                }

                tensors.Add(location);
            }

            return new Opened(files, tensors, metadata);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw;
        }
    }

    private static (List<KeyValuePair<string, string>> WeightMap, List<KeyValuePair<string, string>> Metadata) ReadIndex(string indexPath)
    {
        byte[] bytes;
        using (var file = CheckpointFile.Open(indexPath))
        {
            if (file.Length > SafetensorsCodec.MaxHeaderLength)
            {
                throw new CheckpointFormatException(indexPath, 0, null,
                    $"the index has {file.Length} bytes, more than the limit of {SafetensorsCodec.MaxHeaderLength} (not an index)");
            }

            bytes = new byte[file.Length];
            if (FileRead.ReadAtMost(file.Handle, bytes, 0) != bytes.Length)
            {
                throw new CheckpointFormatException(indexPath, 0, null, "the index changed while it was read");
            }
        }

        var weightMap = new List<KeyValuePair<string, string>>();
        var metadata = new List<KeyValuePair<string, string>>();
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException(indexPath, 0, null,
                    "the index is not a JSON object; expected {\"metadata\": {...}, \"weight_map\": {\"tensor\": \"shard file\"}}");
            }

            if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException(indexPath, null, null,
                    "the index has no \"weight_map\" object; expected {\"weight_map\": {\"tensor\": \"shard file\"}}");
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    throw new CheckpointFormatException(indexPath, null, entry.Name,
                        "the weight_map value is not a string; expected the shard's file name");
                }

                if (!names.Add(entry.Name))
                {
                    throw new CheckpointFormatException(indexPath, null, entry.Name, "weight_map lists the tensor twice");
                }

                weightMap.Add(new(entry.Name, entry.Value.GetString()!));
            }

            if (root.TryGetProperty("metadata", out var metadataElement) && metadataElement.ValueKind != JsonValueKind.Null)
            {
                if (metadataElement.ValueKind != JsonValueKind.Object)
                {
                    throw new CheckpointFormatException(indexPath, null, null, "the index's \"metadata\" is not a JSON object");
                }

                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in metadataElement.EnumerateObject())
                {
                    // Hugging Face writes "total_size" as a number: scalars keep their JSON text.
                    var value = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                        _ => throw new CheckpointFormatException(indexPath, null, null,
                            $"index metadata value '{property.Name}' is not a string, number or boolean"),
                    };
                    if (!keys.Add(property.Name))
                    {
                        throw new CheckpointFormatException(indexPath, null, null, $"index metadata has the key '{property.Name}' twice");
                    }

                    metadata.Add(new(property.Name, value));
                }
            }
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(indexPath, null, null,
                $"the index is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new CheckpointFormatException(indexPath, null, null, $"the index holds an invalid string ({ex.Message})", ex);
        }

        return (weightMap, metadata);
    }
}
