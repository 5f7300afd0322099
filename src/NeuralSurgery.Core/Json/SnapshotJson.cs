using System;
using System.Collections.Generic;
using System.Text.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Json;

/// <summary>
/// The snapshot file format: one JSON file per model version, written by tools and read in code review, never
/// edited by hand. The schema is kept as its YAML lines (so a review shows the features that changed, line by
/// line) and the graph as the graph JSON object of <see cref="GraphJson"/>.
/// </summary>
/// <remarks>
/// <code>
/// {
///   "format": "neuralsurgery.snapshot", "version": 1,
///   "model": "Policy", "class": "Game.Policy", "modelVersion": 3,
///   "fingerprint": "9f2c…",
///   "schemaFile": "policy.features.yaml",
///   "schema": ["model: Policy", "version: 3", "inputs:", …],
///   "graph": { "format": "neuralsurgery.graph", … },
///   "step": { "format": "neuralsurgery.plan", … }
/// }
/// </code>
/// The fingerprint is checked on reading: a snapshot whose graph or schema was edited is refused. <c>"step"</c>,
/// only in a version recorded with a plan (<c>surgery snapshot add --plan</c>), is the plan from the previous
/// version (<see cref="ModelSnapshot.Step"/>).
/// </remarks>
public static class SnapshotJson
{
    /// <summary>The value of the top-level <c>"format"</c> property.</summary>
    public const string FormatName = "neuralsurgery.snapshot";

    /// <summary>The only version this code reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The file name suffix of snapshot files.</summary>
    public const string FileSuffix = ".snapshot.json";

    private static readonly string[] TopLevelProperties = ["format", "version", "model", "class", "modelVersion", "fingerprint", "schemaFile", "schema", "graph", "step"];

    /// <summary>The file name of a snapshot: <c>Policy.v3.snapshot.json</c>.</summary>
    public static string FileName(string model, int version) =>
        model + ".v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + FileSuffix;

    public static string Write(ModelSnapshot snapshot) => JsonDocumentIO.ToText(WriteUtf8(snapshot));

    public static byte[] WriteUtf8(ModelSnapshot snapshot)
    {
        if (snapshot is null)
        {
            throw new ArgumentNullException(nameof(snapshot));
        }

        return JsonDocumentIO.WriteUtf8(snapshot, static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("version", FormatVersion);
            w.WriteString("model", s.Model);
            w.WriteString("class", s.ClassName);
            w.WriteNumber("modelVersion", s.Version);
            w.WriteString("fingerprint", s.Fingerprint);
            w.WriteString("schemaFile", s.SchemaFile);
            w.WriteStartArray("schema");
            foreach (var line in SchemaLines(s.SchemaText))
            {
                w.WriteStringValue(line);
            }

            w.WriteEndArray();
            w.WritePropertyName("graph");
            GraphJson.WriteGraph(w, s.Graph);
            if (s.Step is { } step)
            {
                w.WritePropertyName("step");
                PlanJson.WriteObject(w, step);
            }

            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Reads a snapshot written by <see cref="Write"/>; a structural error, a schema that does not parse or a
    /// fingerprint that disagrees with the content is an exception naming <paramref name="path"/>.
    /// </summary>
    public static ModelSnapshot Read(string json, string? path = null) => JsonDocumentIO.Read(json, path, ReadSnapshot);

    private static ModelSnapshot ReadSnapshot(JsonElement rootElement, string? file)
    {
        var root = JsonDocumentIO.OpenRoot(rootElement, file, FormatName, FormatVersion, TopLevelProperties);
        var model = root.String("model");
        var className = root.String("class");
        var version = root.Int32("modelVersion");
        if (version < 1)
        {
            throw JsonObjectReader.Fail(file, root.PathOf("modelVersion"), $"snapshot version {version}; expected 1 or more");
        }

        var fingerprint = root.String("fingerprint");
        var schemaFile = root.String("schemaFile");
        var lines = new List<string>();
        foreach (var (element, at) in root.Array("schema"))
        {
            lines.Add(JsonObjectReader.ReadString(element, at, file));
        }

        var graph = GraphJson.ReadGraph(root.Required("graph"), file);
        var schemaText = string.Join("\n", lines) + "\n";
        Schema.FeatureSchema schema;
        try
        {
            schema = Schema.FeatureSchemaReader.ParseOrThrow(schemaText, (file ?? "snapshot") + " (schema of " + model + " v" + version + ")");
        }
        catch (Schema.SchemaException e)
        {
            throw JsonObjectReader.Fail(file, root.PathOf("schema"), "the recorded schema does not parse: " + e.Message);
        }

        var actual = ModelSnapshot.FingerprintOf(graph, schema);
        if (!string.Equals(actual, fingerprint, StringComparison.Ordinal))
        {
            throw JsonObjectReader.Fail(file, root.PathOf("fingerprint"), $"'{fingerprint}' disagrees with the recorded graph and schema ('{actual}'); snapshots are written by 'surgery snapshot add', never edited by hand");
        }

        SurgeryPlan? step = null;
        if (root.Has("step"))
        {
            try
            {
                step = PlanJson.Read(root.Required("step").GetRawText(), file);
            }
            catch (JsonFormatException e)
            {
                throw JsonObjectReader.Fail(file, root.PathOf("step"), "the recorded step plan is not valid: " + e.Message);
            }

            if (!string.Equals(step.To.Fingerprint, fingerprint, StringComparison.Ordinal))
            {
                throw JsonObjectReader.Fail(file, root.PathOf("step"), $"the recorded step plan leads to {ModelSnapshot.Describe(step.To)}, not to this snapshot ({fingerprint})");
            }
        }

        return new ModelSnapshot(model, className, version, schemaFile, schemaText, graph, fingerprint, step);
    }

    /// <summary>The YAML's lines without line endings (a final newline adds no empty line).</summary>
    private static IEnumerable<string> SchemaLines(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var count = lines.Length > 0 && lines[lines.Length - 1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++)
        {
            yield return lines[i];
        }
    }
}
