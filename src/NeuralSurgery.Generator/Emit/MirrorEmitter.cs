using System.Globalization;
using System.Linq;
using NeuralSurgery.Generator.Specs;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Emit;

/// <summary>
/// Emits <c>Model.Mirror</c> (DESIGN.md section 7): the graph IR of <c>forward</c> as JSON, the schema as
/// constructor calls, <c>Trace()</c> returning the interaction map Φ (paper 001 section 2.3.2) and the feature
/// queries over it. Needs NeuralSurgery.Core at run time, nothing else; no reflection.
/// </summary>
internal static class MirrorEmitter
{
    private const string Core = "global::NeuralSurgery.";

    /// <summary>Core's factory of the schema's arrays, called with an explicit type argument (empty arrays need one).</summary>
    private const string Items = Core + "Collections.EquatableArray.Create";

    public static GeneratedSource Emit(TracedModel traced)
    {
        var mirror = traced.Mirror;
        var writer = new SourceWriter();
        writer.Line(SourceWriter.Header.TrimEnd('\n'));
        writer.Line();
        writer.OpenType(mirror.Type);

        writer.Line("/// <summary>");
        writer.Line("/// The mirror of " + Xml(mirror.Type.Name) + ".forward bound to " + Xml(mirror.Schema.Path) + ": its graph, its schema and the");
        writer.Line("/// interaction map of every state_dict entry (which features and units each element interacts with).");
        writer.Line("/// </summary>");
        writer.Open("public static class Mirror");
        writer.Line("/// <summary>The graph IR of forward in NeuralSurgery's graph JSON (version-stamped, byte-stable).</summary>");
        writer.Line("public const string GraphJson = " + SourceWriter.Verbatim(traced.GraphJson) + ";");
        writer.Line();
        // Explicit types, no target-typed new or generic local functions: the user's project may compile with C# 8, and a
        // type parameter of the generated code could clash with one of a generic model class (warning CS0693).
        writer.Line("private static readonly global::System.Lazy<" + Core + "Graph.ModelGraph> s_graph =");
        writer.Line("    new global::System.Lazy<" + Core + "Graph.ModelGraph>(() => " + Core + "Json.GraphJson.Read(GraphJson), global::System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);");
        writer.Line();
        writer.Line("private static readonly global::System.Lazy<" + Core + "Schema.FeatureSchema> s_schema =");
        writer.Line("    new global::System.Lazy<" + Core + "Schema.FeatureSchema>(CreateSchema, global::System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);");
        writer.Line();
        writer.Line("private static readonly global::System.Lazy<" + Core + "Tracing.InteractionMap> s_map =");
        writer.Line("    new global::System.Lazy<" + Core + "Tracing.InteractionMap>(() => " + Core + "Tracing.StructuredTracer.Trace(Graph, " + Core + "Tracing.FeatureSpace.Bind(Graph, Schema)), global::System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);");
        writer.Line();
        writer.Line("/// <summary>The graph IR of forward.</summary>");
        writer.Line("public static " + Core + "Graph.ModelGraph Graph => s_graph.Value;");
        writer.Line();
        writer.Line("/// <summary>The feature schema the graph's inputs are bound to.</summary>");
        writer.Line("public static " + Core + "Schema.FeatureSchema Schema => s_schema.Value;");
        writer.Line();
        writer.Line("/// <summary>The interaction map: per state_dict entry, per axis, the features and units its elements interact with (computed once).</summary>");
        writer.Line("public static " + Core + "Tracing.InteractionMap Trace() => s_map.Value;");
        writer.Line();
        writer.Line("/// <summary>The elements of every parameter that interact with a feature (or categorical value) of a schema input.</summary>");
        writer.Line("public static global::System.Collections.Generic.IReadOnlyList<" + Core + "Tracing.ParameterInteraction> InteractionsOf(string input, string feature) =>");
        writer.Line("    Trace().InteractionsOf(input, feature);");
        writer.Line();
        writer.Line("/// <summary>Feature slots no parameter element interacts with (build warning NS1015 names them).</summary>");
        writer.Line("public static global::System.Collections.Generic.IReadOnlyList<" + Core + "Tracing.FeatureSlot> UnmappedFeatures() => Trace().UnmappedFeatures();");
        writer.Line();
        WriteSchema(writer, mirror.Schema);
        writer.Close();
        writer.CloseType(mirror.Type);
        return new GeneratedSource(mirror.Type.FullName + ".Mirror.g.cs", writer.ToString());
    }

    private static void WriteSchema(SourceWriter writer, FeatureSchema schema)
    {
        writer.Open("private static " + Core + "Schema.FeatureSchema CreateSchema()");
        writer.Line("var at = new " + Core + "Schema.SourceLocation(" + SourceWriter.Quote(schema.Path) + ", 1, 1, 1, 1);");
        writer.Line("return new " + Core + "Schema.FeatureSchema(");
        writer.Line("    " + SourceWriter.Quote(schema.Model) + ",");
        writer.Line("    " + Int(schema.Version) + ",");
        writer.Line("    " + Items + "<" + Core + "Schema.SchemaInput>(");
        for (var i = 0; i < schema.Inputs.Count; i++)
        {
            var input = schema.Inputs[i];
            writer.Line(
                "        new " + Core + "Schema.SchemaInput(" + SourceWriter.Quote(input.Name) + ", " + Core + "Schema.InputKind." + input.Kind + ", "
                + (input.IsSet ? "true" : "false") + ", " + Features(input.Features) + ", " + Items + "<string>(" + string.Join(", ", input.Values.Select(SourceWriter.Quote)) + "), at)"
                + (i + 1 < schema.Inputs.Count ? "," : string.Empty));
        }

        writer.Line("    ),");
        writer.Line("    " + Items + "<" + Core + "Schema.SchemaOutput>(");
        for (var i = 0; i < schema.Outputs.Count; i++)
        {
            var output = schema.Outputs[i];
            writer.Line("        new " + Core + "Schema.SchemaOutput(" + SourceWriter.Quote(output.Name) + ", " + Features(output.Features) + ", at)" + (i + 1 < schema.Outputs.Count ? "," : string.Empty));
        }

        writer.Line("    ),");
        writer.Line("    " + Items + "<" + Core + "Schema.SchemaRename>(" + string.Join(", ", schema.Renames.Select(r => "new " + Core + "Schema.SchemaRename(" + SourceWriter.Quote(r.From) + ", " + SourceWriter.Quote(r.To) + ", at)")) + "),");
        writer.Line("    " + SourceWriter.Quote(schema.Path) + ");");
        writer.Close();
    }

    private static string Features(Collections.EquatableArray<SchemaFeature> features) =>
        Items + "<" + Core + "Schema.SchemaFeature>(" + string.Join(", ", features.Select(f =>
            "new " + Core + "Schema.SchemaFeature(" + SourceWriter.Quote(f.Name) + ", " + Int(f.Width) + ", " + Int(f.Offset) + ", at)")) + ")";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
