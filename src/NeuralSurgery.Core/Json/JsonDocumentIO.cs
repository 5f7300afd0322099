using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace NeuralSurgery.Json;

/// <summary>
/// Document-level I/O shared by the versioned JSON formats (<see cref="GraphJson"/>, <see cref="PlanJson"/>):
/// the writer settings (2-space indentation, <c>\n</c> line endings on every target framework, final newline),
/// the parse entry points (byte order mark skipped, syntax and transcoding errors wrapped in
/// <see cref="JsonFormatException"/>), the format/version header and the raw-text helpers.
/// </summary>
internal static class JsonDocumentIO
{
    /// <summary>The escaping of every string the formats write.</summary>
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>
    /// Runs <paramref name="write"/> on an indented writer and returns the UTF-8 bytes (no byte order mark)
    /// with a final newline and <c>\n</c> line endings.
    /// </summary>
    public static byte[] WriteUtf8<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        var options = new JsonWriterOptions
        {
            Indented = true,
            Encoder = Encoder,
#if NET9_0_OR_GREATER
            IndentCharacter = ' ',
            IndentSize = 2,
            NewLine = "\n",
#endif
        };

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, options))
        {
            write(writer, value);
        }

        stream.WriteByte((byte)'\n');
        return NormalizeNewLines(stream.ToArray());
    }

    /// <summary>The text of what <see cref="WriteUtf8"/> wrote.</summary>
    public static string ToText(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    /// <summary>
    /// Parses <paramref name="json"/> (a leading byte order mark is skipped) and hands the root element and
    /// <paramref name="path"/> to <paramref name="read"/> while the document is alive.
    /// </summary>
    public static T Read<T>(string json, string? path, Func<JsonElement, string?, T> read)
    {
        if (json is null)
        {
            throw new ArgumentNullException(nameof(json));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.Length > 0 && json[0] == '\uFEFF' ? json.AsMemory(1) : json.AsMemory(), default);
        }
        catch (JsonException e)
        {
            throw SyntaxError(e, path);
        }
        catch (ArgumentException e)
        {
            // Lone surrogates: the text cannot be transcoded to UTF-8.
            throw new JsonFormatException(path, null, null, null, "invalid text: " + e.Message, e);
        }

        using (document)
        {
            return read(document.RootElement, path);
        }
    }

    /// <summary>As <see cref="Read"/>, from UTF-8 bytes (a byte order mark is skipped).</summary>
    public static T ReadUtf8<T>(ReadOnlyMemory<byte> utf8Json, string? path, Func<JsonElement, string?, T> read)
    {
        JsonDocument document;
        try
        {
            var span = utf8Json.Span;
            var bom = span.Length >= 3 && span[0] == 0xEF && span[1] == 0xBB && span[2] == 0xBF;
            document = JsonDocument.Parse(bom ? utf8Json.Slice(3) : utf8Json, default);
        }
        catch (JsonException e)
        {
            throw SyntaxError(e, path);
        }

        using (document)
        {
            return read(document.RootElement, path);
        }
    }

    /// <summary>
    /// Opens the root object and checks its <c>"format"</c> and <c>"version"</c> properties (in that order),
    /// then rejects any property not in <paramref name="topLevelProperties"/>.
    /// </summary>
    public static JsonObjectReader OpenRoot(JsonElement rootElement, string? file, string formatName, int formatVersion, string[] topLevelProperties)
    {
        var root = JsonObjectReader.Open(rootElement, "$", file);
        var format = root.String("format");
        if (!string.Equals(format, formatName, StringComparison.Ordinal))
        {
            throw JsonObjectReader.Fail(file, root.PathOf("format"), $"unknown format '{format}'; expected '{formatName}'");
        }

        var version = root.Int64("version");
        if (version != formatVersion)
        {
            throw JsonObjectReader.Fail(file, root.PathOf("version"), $"version {version.ToString(CultureInfo.InvariantCulture)} is not supported; expected {formatVersion.ToString(CultureInfo.InvariantCulture)}");
        }

        root.Allow(topLevelProperties);
        return root;
    }

    /// <summary>Writes <paramref name="rawJson"/> as the value of property <paramref name="name"/>, as is (one line).</summary>
    public static void WriteRawProperty(this Utf8JsonWriter w, string name, string rawJson)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(rawJson);
    }

    /// <summary>Writes <see cref="DoubleText"/> of <paramref name="value"/>; the caller keeps non-finite values out.</summary>
    public static void WriteDouble(this Utf8JsonWriter w, string name, double value) => w.WriteRawProperty(name, DoubleText(value));

    /// <summary>
    /// Round-trip (<c>"R"</c>) text of a double, identical on every target framework (<c>0.5</c>, <c>1</c>,
    /// <c>1E-05</c>). Negative zero is "-0", valid JSON that reads back equal.
    /// </summary>
    public static string DoubleText(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A JSON string literal escaped exactly as the writer escapes strings.</summary>
    public static string Quote(string value) => "\"" + JsonEncodedText.Encode(value, Encoder).ToString() + "\"";

    private static JsonFormatException SyntaxError(JsonException e, string? path) =>
        new(path, null, e.LineNumber + 1, e.BytePositionInLine + 1, "invalid JSON: " + e.Message, e);

    private static byte[] NormalizeNewLines(byte[] bytes)
    {
        // System.Text.Json 8 (netstandard2.0) indents with Environment.NewLine; strings never hold a raw CR.
        if (Array.IndexOf(bytes, (byte)'\r') < 0)
        {
            return bytes;
        }

        return bytes.Where(b => b != (byte)'\r').ToArray();
    }
}
