using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// safetensors (huggingface/safetensors, format description in its README): an 8-byte little-endian header
/// length n, n bytes of a JSON object <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
/// "__metadata__": {string: string}}</c>, then the data section; offsets are relative to the data section.
/// </summary>
internal static class SafetensorsCodec
{
    /// <summary>The reference implementation's <c>MAX_HEADER_SIZE</c>.</summary>
    public const long MaxHeaderLength = 100_000_000;

    public const string MetadataKey = "__metadata__";

    /// <summary>A parsed header; <paramref name="Relative"/> holds each tensor's [begin, end) in the data section.</summary>
    public sealed record Header(
        List<TensorLocation> Tensors,
        List<KeyValuePair<string, string>> Metadata,
        long DataStart,
        List<(long Begin, long End)> Relative);

    /// <summary>
    /// Reads and validates the header the way the reference implementation does (offsets in range, sizes equal
    /// to dtype × shape, data contiguous from 0 with nothing after the last tensor), accepting any key order
    /// and any whitespace padding from other writers. Reads only the header, never the data.
    /// </summary>
    public static Header ReadHeader(string path, SafeFileHandle handle, long length, int fileIndex)
    {
        if (length < 8)
        {
            throw new CheckpointFormatException(path, 0, null,
                $"the file has {length} bytes; a safetensors file starts with an 8-byte little-endian header length (truncated)");
        }

        Span<byte> prefix = stackalloc byte[8];
        if (FileRead.ReadAtMost(handle, prefix, 0) < 8)
        {
            throw new CheckpointFormatException(path, 0, null, "the file ends inside the 8-byte header length (truncated)");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderLength)
        {
            throw new CheckpointFormatException(path, 0, null,
                $"header length {headerLength} is larger than the safetensors limit of {MaxHeaderLength} bytes (corrupt or not safetensors)");
        }

        if ((long)headerLength > length - 8)
        {
            throw new CheckpointFormatException(path, 0, null,
                $"header length {headerLength} reaches beyond the end of the file: the header would end at byte {8 + (long)headerLength} but the file has {length} bytes (truncated)");
        }

        var json = GC.AllocateUninitializedArray<byte>((int)headerLength);
        if (FileRead.ReadAtMost(handle, json, 8) < json.Length)
        {
            throw new CheckpointFormatException(path, 8, null, "the file ends inside the header (truncated)");
        }

        var dataStart = 8 + (long)headerLength;
        var header = ParseHeaderJson(path, json, dataStart, fileIndex);
        ValidateOffsets(path, header, length - dataStart);
        return header;
    }

    /// <summary>
    /// The header as the reference implementation writes it (serde_json, compact): <c>__metadata__</c> first when
    /// there is any, then the tensors in layout order with contiguous offsets, padded with spaces so the data
    /// section starts at a multiple of 8.
    /// </summary>
    public static byte[] EncodeHeader(IReadOnlyList<TensorInfo> layout, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        var json = new StringBuilder("{");
        var first = true;
        if (metadata.Count > 0)
        {
            WriteString(json, MetadataKey);
            json.Append(":{");
            for (var i = 0; i < metadata.Count; i++)
            {
                if (i > 0)
                {
                    json.Append(',');
                }

                WriteString(json, metadata[i].Key);
                json.Append(':');
                WriteString(json, metadata[i].Value);
            }

            json.Append('}');
            first = false;
        }

        long offset = 0;
        foreach (var tensor in layout)
        {
            if (!first)
            {
                json.Append(',');
            }

            first = false;
            WriteString(json, tensor.Name);
            json.Append(":{\"dtype\":\"").Append(tensor.DType.SafetensorsName()).Append("\",\"shape\":[");
            for (var d = 0; d < tensor.Rank; d++)
            {
                if (d > 0)
                {
                    json.Append(',');
                }

                json.Append(tensor.Shape[d].ToString(CultureInfo.InvariantCulture));
            }

            var end = checked(offset + tensor.ByteLength);
            json.Append("],\"data_offsets\":[")
                .Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }

        json.Append('}');
        var text = Utf8Text.Strict.GetBytes(json.ToString());
        var padded = (text.Length + 7) / 8 * 8;
        if (padded > MaxHeaderLength)
        {
            throw new ArgumentException($"The safetensors header would be {padded} bytes, more than the format's limit of {MaxHeaderLength}.");
        }

        var bytes = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        text.CopyTo(bytes, 8);
        bytes.AsSpan(8 + text.Length).Fill((byte)' ');
        return bytes;
    }

    private static Header ParseHeaderJson(string path, byte[] json, long dataStart, int fileIndex)
    {
        var tensors = new List<TensorLocation>();
        var metadata = new List<KeyValuePair<string, string>>();
        var relative = new List<(long Begin, long End)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sawMetadata = false;
        long entryAt = 8;
        string? entryName = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new CheckpointFormatException(path, 8, null,
                    $"the header is {(reader.TokenType == JsonTokenType.None ? "empty" : "a JSON " + Kind(reader.TokenType))}; expected a JSON object of tensors");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                entryAt = 8 + reader.TokenStartIndex;
                var name = reader.GetString()!;
                entryName = name;
                if (!reader.Read())
                {
                    break;
                }

                using var value = JsonDocument.ParseValue(ref reader);
                var element = value.RootElement;
                if (name == MetadataKey)
                {
                    if (sawMetadata)
                    {
                        throw new CheckpointFormatException(path, entryAt, null, "the header has two __metadata__ entries");
                    }

                    sawMetadata = true;
                    ReadMetadata(path, entryAt, element, metadata);
                    entryName = null;
                    continue;
                }

                if (!seen.Add(name))
                {
                    throw new CheckpointFormatException(path, entryAt, name, "duplicate tensor name in the header; names must be unique");
                }

                var (info, begin, end) = ReadEntry(path, entryAt, name, element);
                tensors.Add(new TensorLocation(info, fileIndex, dataStart + begin));
                relative.Add((begin, end));
                entryName = null;
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new CheckpointFormatException(path, 8 + reader.TokenStartIndex, null, "expected a tensor name or the end of the header object");
            }

            // Whatever follows the object must be whitespace (the padding): Read throws on anything else.
            if (reader.Read())
            {
                throw new CheckpointFormatException(path, 8 + reader.TokenStartIndex, null, "unexpected JSON after the header object");
            }
        }
        catch (JsonException ex)
        {
            var at = ex.LineNumber == 0 && ex.BytePositionInLine is { } column ? 8 + column : (long?)null;
            throw new CheckpointFormatException(path, at ?? entryAt, entryName,
                $"the header is not valid JSON ({ex.Message.Split(" Path:", StringSplitOptions.None)[0].Split(" LineNumber:", StringSplitOptions.None)[0]})", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader.GetString on invalid UTF-8 or bad escapes.
            throw new CheckpointFormatException(path, entryAt, entryName, $"the header holds an invalid string ({ex.Message})", ex);
        }

        return new Header(tensors, metadata, dataStart, relative);
    }

    private static void ReadMetadata(string path, long at, JsonElement element, List<KeyValuePair<string, string>> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointFormatException(path, at, null,
                $"__metadata__ is a JSON {Kind(element.ValueKind)}; expected an object of string values");
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                throw new CheckpointFormatException(path, at, null,
                    $"__metadata__ value '{property.Name}' is a JSON {Kind(property.Value.ValueKind)}; expected a string");
            }

            if (!keys.Add(property.Name))
            {
                throw new CheckpointFormatException(path, at, null, $"__metadata__ has the key '{property.Name}' twice");
            }

            metadata.Add(new(property.Name, property.Value.GetString()!));
        }
    }

    private static (TensorInfo Info, long Begin, long End) ReadEntry(string path, long at, string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new CheckpointFormatException(path, at, name,
                $"the header entry is a JSON {Kind(element.ValueKind)}; expected an object with dtype, shape and data_offsets");
        }

        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new CheckpointFormatException(path, at, name, "the header entry needs \"dtype\" as a string such as \"F32\"");
        }

        var dtypeName = dtypeElement.GetString()!;
        if (!DTypes.TryFromSafetensorsName(dtypeName, out var dtype))
        {
            throw new CheckpointFormatException(path, at, name,
                $"unknown or unsupported dtype '{dtypeName}'; expected one of {DTypes.DescribeSafetensorsNames()}");
        }

        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new CheckpointFormatException(path, at, name, "the header entry needs \"shape\" as an array of non-negative integers");
        }

        if (shapeElement.GetArrayLength() > TensorInfo.MaxRank)
        {
            throw new CheckpointFormatException(path, at, name,
                $"the shape has {shapeElement.GetArrayLength()} dims, more than the {TensorInfo.MaxRank} NeuralSurgery accepts");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        var d = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var value) || value < 0)
            {
                throw new CheckpointFormatException(path, at, name,
                    $"shape element {d} is {dim.GetRawText()}; expected a non-negative integer");
            }

            shape[d++] = value;
        }

        var error = TensorInfo.CheckShape(dtype, shape, out _, out var byteLength);
        if (error is not null)
        {
            throw new CheckpointFormatException(path, at, name, error);
        }

        if (!element.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2)
        {
            throw new CheckpointFormatException(path, at, name, "the header entry needs \"data_offsets\" as an array [begin, end]");
        }

        var begin = Offset(path, at, name, offsets[0], "begin");
        var end = Offset(path, at, name, offsets[1], "end");
        if (end < begin)
        {
            throw new CheckpointFormatException(path, at, name, $"data_offsets [{begin}, {end}] end before they begin");
        }

        if (end - begin != byteLength)
        {
            throw new CheckpointFormatException(path, at, name,
                $"data_offsets [{begin}, {end}] hold {end - begin} bytes but {TensorInfo.Describe(dtype, shape)} needs {byteLength}");
        }

        return (new TensorInfo(name, dtype, shape), begin, end);
    }

    private static long Offset(string path, long at, string name, JsonElement element, string which) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) && value >= 0
            ? value
            : throw new CheckpointFormatException(path, at, name,
                $"data_offsets {which} is {element.GetRawText()}; expected a non-negative integer");

    /// <summary>
    /// Every range inside the data section; sorted by offset, each begins where the previous ended (no overlap,
    /// no gap, starting at 0), and the last ends where the file ends: the reference implementation's checks.
    /// </summary>
    private static void ValidateOffsets(string path, Header header, long dataLength)
    {
        var ranges = header.Relative;
        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].End > dataLength)
            {
                throw new CheckpointFormatException(path, header.DataStart + Math.Min(ranges[i].Begin, dataLength), header.Tensors[i].Info.Name,
                    $"data_offsets [{ranges[i].Begin}, {ranges[i].End}] reach beyond the data section, which has {dataLength} bytes (the file ends at byte {header.DataStart + dataLength}; truncated?)");
            }
        }

        var order = new int[ranges.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => ranges[a].Begin != ranges[b].Begin
            ? ranges[a].Begin.CompareTo(ranges[b].Begin)
            : ranges[a].End != ranges[b].End ? ranges[a].End.CompareTo(ranges[b].End) : a.CompareTo(b));
        long previousEnd = 0;
        string? previous = null;
        foreach (var i in order)
        {
            var (begin, end) = ranges[i];
            var name = header.Tensors[i].Info.Name;
            if (begin < previousEnd)
            {
                throw new CheckpointFormatException(path, header.DataStart + begin, name,
                    $"data_offsets [{begin}, {end}] overlap tensor '{previous}', which ends at {previousEnd}");
            }

            if (begin > previousEnd)
            {
                throw new CheckpointFormatException(path, header.DataStart + previousEnd, name,
                    $"data_offsets [{begin}, {end}] leave bytes [{previousEnd}, {begin}) of the data section unused{(previous is null ? "" : $" after tensor '{previous}'")}; safetensors data must be contiguous");
            }

            previousEnd = end;
            previous = name;
        }

        if (previousEnd != dataLength)
        {
            throw new CheckpointFormatException(path, header.DataStart + previousEnd, null,
                $"{dataLength - previousEnd} unexpected bytes after the last tensor's data{(previous is null ? "" : $" ('{previous}')")}; the data section must end with the last tensor");
        }
    }

    /// <summary>Compact JSON string as serde_json writes it: raw UTF-8, escapes for quote, backslash and controls.</summary>
    private static void WriteString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        json.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        json.Append(c);
                    }

                    break;
            }
        }

        json.Append('"');
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "object",
    };

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => "value",
    };
}
