using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Metadata of a TorchSharp-format checkpoint, which has no place for it: <c>&lt;checkpoint&gt;.meta.json</c>
/// beside the file, written by <see cref="CheckpointWriter.Commit"/> and read by <see cref="CheckpointReader.Open"/>.
/// <code>
/// {
///   "format": "neuralsurgery.checkpoint-metadata",
///   "version": 1,
///   "checkpoint": { "length": 52, "fingerprint": "sha256-sampled-v1:…" },
///   "metadata": { "key": "value" }
/// }
/// </code>
/// </summary>
/// <remarks>
/// TorchSharp's own <c>Module.save</c> does not know the sidecar, so a user who re-saves the checkpoint leaves a
/// stale one behind, usually with the same length (same architecture). The fingerprint (SHA-256 of the length
/// and 64 blocks of 4 KiB spread over the file, the whole file when smaller) detects that without reading a large
/// file whole; a reader then ignores the sidecar and says why in <see cref="CheckpointReader.Warnings"/>.
/// It is a staleness check, not an integrity check.
/// </remarks>
internal static class MetadataSidecar
{
    public const string Suffix = ".meta.json";
    public const string FormatName = "neuralsurgery.checkpoint-metadata";
    private const int Version = 1;
    private const int BlockSize = 4096;
    private const int Blocks = 64;
    private const string FingerprintPrefix = "sha256-sampled-v1:";

    public static string PathFor(string checkpointPath) => checkpointPath + Suffix;

    public static string Fingerprint(SafeFileHandle handle, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, length);
        hash.AppendData(lengthBytes);
        var block = new byte[BlockSize];
        if (length <= (long)BlockSize * Blocks)
        {
            for (long at = 0; at < length; at += BlockSize)
            {
                var n = FileRead.ReadAtMost(handle, block.AsSpan(0, (int)Math.Min(BlockSize, length - at)), at);
                hash.AppendData(block, 0, n);
            }
        }
        else
        {
            for (var k = 0; k < Blocks; k++)
            {
                var at = (length - BlockSize) / (Blocks - 1) * k;
                var n = FileRead.ReadAtMost(handle, block, at);
                hash.AppendData(block, 0, n);
            }
        }

        return FingerprintPrefix + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static byte[] Encode(long checkpointLength, string fingerprint, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("format", FormatName);
            json.WriteNumber("version", Version);
            json.WriteStartObject("checkpoint");
            json.WriteNumber("length", checkpointLength);
            json.WriteString("fingerprint", fingerprint);
            json.WriteEndObject();
            json.WriteStartObject("metadata");
            foreach (var (key, value) in metadata)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>
    /// The sidecar's metadata for the open checkpoint, or null when there is no sidecar; a sidecar that belongs to
    /// other contents gives null and a <paramref name="warning"/>; a malformed one a <see cref="CheckpointFormatException"/>.
    /// </summary>
    public static List<KeyValuePair<string, string>>? Read(string sidecarPath, SafeFileHandle checkpoint, long checkpointLength, out string? warning)
    {
        warning = null;
        if (InputFile.KindOf(sidecarPath) == FileKind.Missing)
        {
            return null;
        }

        byte[] bytes;
        using (var handle = InputFile.OpenHandle(sidecarPath))
        {
            var length = RandomAccess.GetLength(handle);
            if (length > SafetensorsCodec.MaxHeaderLength)
            {
                throw new CheckpointFormatException(sidecarPath, 0, null,
                    $"the metadata sidecar has {length} bytes, more than the limit of {SafetensorsCodec.MaxHeaderLength}");
            }

            bytes = new byte[length];
            if (FileRead.ReadAtMost(handle, bytes, 0) != length)
            {
                throw new CheckpointFormatException(sidecarPath, 0, null, "the metadata sidecar changed while it was read");
            }
        }

        long recordedLength;
        string recordedFingerprint;
        var metadata = new List<KeyValuePair<string, string>>();
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
                || format.GetString() != FormatName)
            {
                throw Malformed(sidecarPath, $"expected a JSON object with \"format\": \"{FormatName}\"");
            }

            if (!root.TryGetProperty("version", out var version) || !version.TryGetInt32(out var v) || v != Version)
            {
                throw Malformed(sidecarPath, $"expected \"version\": {Version}");
            }

            if (!root.TryGetProperty("checkpoint", out var checkpointElement) || checkpointElement.ValueKind != JsonValueKind.Object
                || !checkpointElement.TryGetProperty("length", out var lengthElement) || lengthElement.ValueKind != JsonValueKind.Number
                || !lengthElement.TryGetInt64(out recordedLength)
                || !checkpointElement.TryGetProperty("fingerprint", out var fingerprintElement) || fingerprintElement.ValueKind != JsonValueKind.String)
            {
                throw Malformed(sidecarPath, "expected \"checkpoint\": {\"length\": integer, \"fingerprint\": string}");
            }

            recordedFingerprint = fingerprintElement.GetString()!;
            if (!root.TryGetProperty("metadata", out var metadataElement) || metadataElement.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(sidecarPath, "expected \"metadata\" as an object of string values");
            }

            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in metadataElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    throw Malformed(sidecarPath, $"metadata value '{property.Name}' is not a string");
                }

                if (!keys.Add(property.Name))
                {
                    throw Malformed(sidecarPath, $"metadata has the key '{property.Name}' twice");
                }

                metadata.Add(new(property.Name, property.Value.GetString()!));
            }
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(sidecarPath, null, null,
                $"the metadata sidecar is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", ex);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on an escaped lone surrogate ("\ud800"): not text a metadata value can hold.
            throw new CheckpointFormatException(sidecarPath, null, null, $"the metadata sidecar holds an invalid string ({ex.Message})", ex);
        }

        if (recordedLength != checkpointLength || recordedFingerprint != Fingerprint(checkpoint, checkpointLength))
        {
            warning = $"{sidecarPath} was written for other contents of the checkpoint (it was changed or re-saved since); its metadata is ignored";
            return null;
        }

        return metadata;
    }

    private static CheckpointFormatException Malformed(string path, string expected) =>
        new(path, null, null, $"not a NeuralSurgery metadata sidecar: {expected}");
}
