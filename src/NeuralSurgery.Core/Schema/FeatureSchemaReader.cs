using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NeuralSurgery.Collections;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace NeuralSurgery.Schema;

/// <summary>
/// Reads feature schema YAML (DESIGN.md section 3) into a <see cref="FeatureSchema"/>, reporting every
/// error it can find with the line and column of the YAML node concerned.
/// </summary>
public static class FeatureSchemaReader
{
    /// <summary>
    /// Parses schema text. Never throws on bad input: all errors found are returned, ordered by position,
    /// and <see cref="SchemaReadResult.Schema"/> is null when there is any.
    /// </summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="path">The file name used in locations and in <see cref="FeatureSchema.Path"/>.</param>
    public static SchemaReadResult Parse(string yaml, string path)
    {
        _ = yaml ?? throw new ArgumentNullException(nameof(yaml));
        _ = path ?? throw new ArgumentNullException(nameof(path));

        var diagnostics = new List<SchemaDiagnostic>();
        var reader = new SchemaDocumentReader(path, diagnostics);

        // A byte order mark that survived decoding is not content.
        if (yaml.Length > 0 && yaml[0] == '\uFEFF')
        {
            yaml = yaml.Substring(1);
        }

        var parser = new DuplicateKeySkippingParser(new Parser(new StringReader(yaml)));
        var stream = new YamlStream();
        var loaded = false;
        try
        {
            stream.Load(parser);
            loaded = true;
        }
        catch (YamlException ex)
        {
            reader.ReportYamlException(ex, yaml, parser.UnknownAlias);
        }
        catch (Exception ex) when (IsThrownByYamlDotNet(ex))
        {
            // YamlDotNet's scanner occasionally fails on malformed input with a plain .NET exception
            // (e.g. InvalidOperationException for an unclosed flow sequence spanning lines). Bad input
            // must still become a diagnostic; exceptions from our own code are not caught here.
            reader.ReportParserFailure(ex, parser.LastEnd);
        }

        foreach (var duplicate in parser.Duplicates)
        {
            reader.ReportDuplicateKey(duplicate);
        }

        FeatureSchema? schema = null;
        if (loaded)
        {
            schema = reader.ReadStream(stream);
        }

        // Stable sort: errors at the same position keep the order they were found in.
        var ordered = diagnostics
            .OrderBy(d => d.Location.Line)
            .ThenBy(d => d.Location.Column)
            .ToEquatableArray();
        return new SchemaReadResult(ordered.IsEmpty ? schema : null, ordered);
    }

    private static bool IsThrownByYamlDotNet(Exception exception) =>
        exception.TargetSite?.DeclaringType?.Assembly == typeof(Parser).Assembly;

    /// <summary>Parses schema text, throwing <see cref="SchemaException"/> with every error found.</summary>
    public static FeatureSchema ParseOrThrow(string yaml, string path)
    {
        var result = Parse(yaml, path);
        if (result.Schema is null || !result.Success)
        {
            throw new SchemaException(result.Diagnostics);
        }

        return result.Schema;
    }

    /// <summary>
    /// Reads a schema file (UTF-8). Throws <see cref="SchemaException"/> for invalid content and for a file
    /// that cannot be read (<see cref="SchemaErrorCodes.FileNotReadable"/>). Not for use in the generator,
    /// which receives schemas as AdditionalFiles and calls <see cref="Parse"/>.
    /// </summary>
    public static FeatureSchema Load(string path)
    {
        _ = path ?? throw new ArgumentNullException(nameof(path));

        string text;
        try
        {
#if NET
            // Only a regular file, as strict UTF-8 (a FIFO would block; a replaced byte would rename a feature).
            text = NeuralSurgery.IO.InputFile.ReadAllText(path, "feature schema", NeuralSurgery.IO.InputFile.MaxSourceBytes);
#else
            text = File.ReadAllText(path, Encoding.UTF8);
#endif
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException)
        {
            var reason = ex switch
            {
                FileNotFoundException => "the file does not exist",
                DirectoryNotFoundException => "its directory does not exist",
                _ => ex.Message,
            };
            var diagnostic = new SchemaDiagnostic(
                SchemaErrorCodes.FileNotReadable,
                "cannot read feature schema file '" + path + "': " + reason + "; expected a readable UTF-8 YAML file",
                new SourceLocation(path, 1, 1, 1, 1));
            throw new SchemaException(new[] { diagnostic }, ex);
        }

        return ParseOrThrow(text, path);
    }
}
