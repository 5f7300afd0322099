using System.CommandLine;
using System.Linq;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Commands;

/// <summary><c>surgery schema check &lt;file.features.yaml&gt;</c>: a summary, or every diagnostic with its line and column.</summary>
internal static class SchemaCommand
{
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "A feature schema (*.features.yaml)." };
        var json = CommonOptions.Json("the summary or the diagnostics");
        var check = new Command("check", "Validate a feature schema: OK with a summary, or every error as path(line,col): error NSxxxx: message.")
        {
            file,
            json,
        };
        check.SetAction(parse => Check(console, CommonOptions.Required(parse.GetValue(file), "file"), parse.GetValue(json)));
        return new Command("schema", "Feature schema files (docs/schema.md).") { check };
    }

    private static int Check(CliConsole console, string path, bool json)
    {
        FeatureSchema schema;
        try
        {
            schema = FeatureSchemaReader.Load(path);
        }
        catch (SchemaException ex) when (ex.Diagnostics.Count > 0 && ex.Diagnostics.Any(d => d.Id != SchemaErrorCodes.FileNotReadable))
        {
            // The diagnostics are the command's result (stdout, like a compiler's); stderr gets the one-line verdict.
            if (json)
            {
                WriteFailureJson(console, path, ex);
            }
            else
            {
                foreach (var diagnostic in ex.Diagnostics)
                {
                    console.Out.WriteLine(diagnostic.ToString());
                }
            }

            var count = ex.Diagnostics.Count;
            console.Error.WriteLine($"error: {path}: {count} error{(count == 1 ? string.Empty : "s")} in the feature schema");
            return ExitCodes.UserError;
        }

        if (json)
        {
            WriteSuccessJson(console, path, schema);
        }
        else
        {
            WriteSuccessText(console, path, schema);
        }

        return ExitCodes.Ok;
    }

    private static void WriteSuccessText(CliConsole console, string path, FeatureSchema schema)
    {
        var dense = schema.Inputs.Count(i => i.Kind == InputKind.Dense);
        var categorical = schema.Inputs.Count - dense;
        var renames = schema.Renames.Count == 0 ? string.Empty : $", {schema.Renames.Count} rename{(schema.Renames.Count == 1 ? string.Empty : "s")}";
        console.Out.WriteLine($"{path}: OK: model {schema.Model} v{schema.Version}: "
            + $"{Format.Plural(schema.Inputs.Count, "input")} ({dense} dense, {categorical} categorical; {Format.Plural(schema.Inputs.Sum(i => (long)i.Width), "slot")}), "
            + $"{Format.Plural(schema.Outputs.Count, "output")} ({Format.Plural(schema.Outputs.Sum(o => (long)o.Width), "slot")}){renames}");
        var table = Tables.Create(console, "input/output", "kind", "set", ">features", ">slots");
        foreach (var input in schema.Inputs)
        {
            var kind = input.Kind == InputKind.Categorical ? "categorical" : "dense";
            var features = input.Kind == InputKind.Categorical ? input.Values.Count : input.Features.Count;
            Tables.Row(table, input.Name, kind, input.IsSet ? "yes" : "no", Format.Count(features), Format.Count(input.Width));
        }

        foreach (var output in schema.Outputs)
        {
            Tables.Row(table, output.Name, "output", "no", Format.Count(output.Features.Count), Format.Count(output.Width));
        }

        Tables.Write(console, table);
        foreach (var rename in schema.Renames)
        {
            console.Out.WriteLine($"rename: {rename.From} -> {rename.To}");
        }
    }

    private static void WriteSuccessJson(CliConsole console, string path, FeatureSchema schema) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("path", path);
        w.WriteBoolean("ok", true);
        w.WriteString("model", schema.Model);
        w.WriteNumber("version", schema.Version);
        w.WriteNumber("slots", schema.Inputs.Sum(i => (long)i.Width));
        w.WriteStartArray("inputs");
        foreach (var input in schema.Inputs)
        {
            w.WriteStartObject();
            w.WriteString("name", input.Name);
            w.WriteString("kind", input.Kind == InputKind.Categorical ? "categorical" : "dense");
            w.WriteBoolean("set", input.IsSet);
            w.WriteNumber("features", input.Kind == InputKind.Categorical ? input.Values.Count : input.Features.Count);
            w.WriteNumber("slots", input.Width);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("outputs");
        foreach (var output in schema.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("name", output.Name);
            w.WriteNumber("features", output.Features.Count);
            w.WriteNumber("slots", output.Width);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("renames");
        foreach (var rename in schema.Renames)
        {
            w.WriteStartObject();
            w.WriteString("from", rename.From);
            w.WriteString("to", rename.To);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("diagnostics");
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void WriteFailureJson(CliConsole console, string path, SchemaException ex) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("path", path);
        w.WriteBoolean("ok", false);
        w.WriteStartArray("diagnostics");
        foreach (var d in ex.Diagnostics)
        {
            w.WriteStartObject();
            w.WriteString("id", d.Id);
            w.WriteString("severity", "error");
            w.WriteString("message", d.Message);
            w.WriteString("path", d.Location.Path);
            w.WriteNumber("line", d.Location.Line);
            w.WriteNumber("column", d.Location.Column);
            w.WriteNumber("endLine", d.Location.EndLine);
            w.WriteNumber("endColumn", d.Location.EndColumn);
            w.WriteString("text", d.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });
}
