using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace NeuralSurgery.Json;

/// <summary>
/// Strict reading of one JSON object of a versioned NeuralSurgery file: duplicate, unknown and missing
/// properties and wrong value types are <see cref="JsonFormatException"/>s naming the file and JSON path.
/// </summary>
internal sealed class JsonObjectReader
{
    private readonly Dictionary<string, JsonElement> _properties;

    private JsonObjectReader(JsonElement element, string path, string? file, Dictionary<string, JsonElement> properties)
    {
        Element = element;
        Path = path;
        File = file;
        _properties = properties;
    }

    public JsonElement Element { get; }

    /// <summary>JSON path of this object (<c>$.nodes[3].op</c>).</summary>
    public string Path { get; }

    public string? File { get; }

    /// <summary>Opens <paramref name="element"/> as an object, rejecting duplicate property names.</summary>
    public static JsonObjectReader Open(JsonElement element, string path, string? file)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Fail(file, path, $"expected an object, found {Describe(element)}");
        }

        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException e)
            {
                throw new JsonFormatException(file, path, null, null, "a property name is not valid UTF-8", e);
            }

            if (properties.ContainsKey(name))
            {
                throw Fail(file, PropertyPath(path, name), $"duplicate property '{name}'");
            }

            properties.Add(name, property.Value);
        }

        return new JsonObjectReader(element, path, file, properties);
    }

    public static JsonFormatException Fail(string? file, string path, string detail) => new(file, path, null, null, detail, null);

    public JsonFormatException Fail(string detail) => Fail(File, Path, detail);

    /// <summary>Rejects any property not in <paramref name="allowed"/>.</summary>
    public void Allow(params string[] allowed)
    {
        foreach (var name in _properties.Keys)
        {
            if (System.Array.IndexOf(allowed, name) < 0)
            {
                throw Fail(File, PropertyPath(Path, name), $"unknown property '{name}'; expected {Join(allowed)}");
            }
        }
    }

    public string PathOf(string name) => PropertyPath(Path, name);

    public bool Has(string name) => _properties.ContainsKey(name);

    public JsonElement Required(string name)
    {
        if (!_properties.TryGetValue(name, out var value))
        {
            throw Fail($"missing required property '{name}'");
        }

        return value;
    }

    public string String(string name) => ReadString(Required(name), PathOf(name), File);

    public string? NullableString(string name)
    {
        var value = Required(name);
        return value.ValueKind == JsonValueKind.Null ? null : ReadString(value, PathOf(name), File);
    }

    public bool Boolean(string name) => ReadBoolean(Required(name), PathOf(name), File);

    public int Int32(string name) => ReadInt32(Required(name), PathOf(name), File);

    public long Int64(string name) => ReadInt64(Required(name), PathOf(name), File);

    public double Double(string name) => ReadDouble(Required(name), PathOf(name), File);

    public JsonObjectReader Object(string name) => Open(Required(name), PathOf(name), File);

    /// <summary>The items of an array property, each with its JSON path.</summary>
    public IReadOnlyList<(JsonElement Element, string Path)> Array(string name) => ReadArray(Required(name), PathOf(name), File);

    public static IReadOnlyList<(JsonElement Element, string Path)> ReadArray(JsonElement element, string path, string? file)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Fail(file, path, $"expected an array, found {Describe(element)}");
        }

        return element.EnumerateArray()
            .Select((e, i) => (e, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]"))
            .ToList();
    }

    public static string ReadString(JsonElement element, string path, string? file)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            throw Fail(file, path, $"expected a string, found {Describe(element)}");
        }

        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new JsonFormatException(file, path, null, null, "the string is not valid UTF-8", e);
        }
    }

    public static bool ReadBoolean(JsonElement element, string path, string? file) => element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Fail(file, path, $"expected true or false, found {Describe(element)}"),
    };

    public static int ReadInt32(JsonElement element, string path, string? file) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var value)
            ? value
            : throw Fail(file, path, $"expected a 32-bit integer, found {Describe(element)}");

    public static long ReadInt64(JsonElement element, string path, string? file) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value)
            ? value
            : throw Fail(file, path, $"expected a 64-bit integer, found {Describe(element)}");

    /// <summary>
    /// Reads a number with the runtime's double parser (the writer's <c>"R"</c> text parses back to the same
    /// value on every target framework).
    /// </summary>
    public static double ReadDouble(JsonElement element, string path, string? file)
    {
        if (element.ValueKind == JsonValueKind.Number
            && double.TryParse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && !double.IsNaN(value)
            && !double.IsInfinity(value))
        {
            return value;
        }

        throw Fail(file, path, $"expected a finite number, found {Describe(element)}");
    }

    /// <summary>Reads a string that must be one of <paramref name="names"/>; returns its index.</summary>
    public static int ReadChoice(JsonElement element, string path, string? file, IReadOnlyList<string> names, string what)
    {
        var text = ReadString(element, path, file);
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], text, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw Fail(file, path, $"unknown {what} '{text}'; expected {Join(names)}");
    }

    public static string PropertyPath(string path, string name) =>
        IsPlainName(name) ? path + "." + name : path + "['" + name.Replace("\\", "\\\\").Replace("'", "\\'") + "']";

    public static string Describe(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                return "an object";
            case JsonValueKind.Array:
                return "an array";
            case JsonValueKind.String:
                string text;
                try
                {
                    text = element.GetString() ?? string.Empty;
                }
                catch (InvalidOperationException)
                {
                    return "a string that is not valid UTF-8";
                }

                return "the string \"" + (text.Length > 40 ? text.Substring(0, 40) + "..." : text) + "\"";
            case JsonValueKind.Number:
                return "the number " + element.GetRawText();
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            case JsonValueKind.Null:
                return "null";
            default:
                return "nothing";
        }
    }

    public static string Join(IEnumerable<string> names) => string.Join(", ", names.Select(n => "'" + n + "'"));

    private static bool IsPlainName(string name)
    {
        if (name.Length == 0 || char.IsDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
