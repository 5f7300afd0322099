using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// What <see cref="ModelReader.Read"/> found in one model class. Plain, value-equatable data: no symbols, syntax
/// nodes or compilations, so the incremental generator can cache on it.
/// </summary>
/// <param name="ModelName">The model class name (also the graph name).</param>
/// <param name="Graph">
/// The graph of <c>forward</c>, or null when the reader could not follow the model: every such case has an error
/// diagnostic whose <see cref="ReaderDiagnostic.Fallback"/> is <see cref="ReaderDiagnostic.GraphNotBuilt"/>.
/// </param>
/// <param name="Modules">
/// Modules with weights in registration order (hence state_dict order), read from the fields even when
/// <paramref name="Graph"/> is null.
/// </param>
/// <param name="Diagnostics">NS1xxx diagnostics, in the order found, without duplicates.</param>
/// <param name="SourceMap">Where modules, inputs, outputs, the forward method and the class are in C# source.</param>
/// <param name="WidthSites">Where each layer's integer arguments are written, and the literal that decides each (see <see cref="WidthSite"/>).</param>
public sealed record ModelReadResult(
    string ModelName,
    ModelGraph? Graph,
    EquatableArray<GraphModule> Modules,
    EquatableArray<ReaderDiagnostic> Diagnostics,
    EquatableArray<SourceMapEntry> SourceMap,
    EquatableArray<WidthSite> WidthSites = default)
{
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>The source location of a module, input or output by name, or null.</summary>
    public ReaderLocation? Find(SourceMapKind kind, string name) =>
        SourceMap.FirstOrDefault(e => e.Kind == kind && e.Name == name)?.Location;
}

/// <summary>What a <see cref="SourceMapEntry"/> locates.</summary>
public enum SourceMapKind
{
    /// <summary>The model class's identifier.</summary>
    Class,

    /// <summary>The forward method's identifier.</summary>
    Forward,

    /// <summary>A module (by state_dict path): the factory call or object creation that makes it.</summary>
    Module,

    /// <summary>A graph input: the forward parameter.</summary>
    Input,

    /// <summary>A graph output: the returned expression.</summary>
    Output,
}

public sealed record SourceMapEntry(SourceMapKind Kind, string Name, ReaderLocation Location);

/// <summary>
/// A source location without a syntax tree reference (so it stays equatable and cacheable): file path, span and
/// 0-based line span, as Roslyn's <see cref="Location.Create(string, TextSpan, LinePositionSpan)"/> takes them.
/// </summary>
public sealed record ReaderLocation(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    /// <summary>1-based line of the start.</summary>
    public int Line => LineSpan.Start.Line + 1;

    /// <summary>1-based column of the start.</summary>
    public int Column => LineSpan.Start.Character + 1;

    public Location ToLocation() => FilePath.Length == 0 ? Location.None : Location.Create(FilePath, Span, LineSpan);

    public static ReaderLocation From(Location location)
    {
        var line = location.GetLineSpan();
        return new ReaderLocation(line.Path ?? string.Empty, location.SourceSpan, line.Span);
    }

    /// <summary>A location in a schema file (1-based line and column, as <see cref="Schema.SourceLocation"/> has them).</summary>
    public static ReaderLocation FromSchema(Schema.SourceLocation location) =>
        new(
            location.Path,
            default,
            new LinePositionSpan(
                new LinePosition(System.Math.Max(location.Line - 1, 0), System.Math.Max(location.Column - 1, 0)),
                new LinePosition(System.Math.Max(location.EndLine - 1, 0), System.Math.Max(location.EndColumn - 1, 0))));

    /// <summary><c>path(line,col)</c>, as MSBuild prints it.</summary>
    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}({1},{2})", FilePath, Line, Column);
}

/// <summary>A key/value pair carried to code fixes (e.g. the size a layer argument should have).</summary>
public sealed record DiagnosticProperty(string Key, string Value);

/// <summary>
/// One NS1xxx diagnostic as data: id, severity, formatted message and its arguments, location, and the fallback
/// the reader took (null when none applies).
/// </summary>
public sealed record ReaderDiagnostic(
    string Id,
    DiagnosticSeverity Severity,
    string Message,
    ReaderLocation Location,
    string? Fallback,
    EquatableArray<string> MessageArgs,
    EquatableArray<ReaderLocation> AdditionalLocations,
    EquatableArray<DiagnosticProperty> Properties)
{
    /// <summary>The fallback of every error that leaves <see cref="ModelReadResult.Graph"/> null.</summary>
    public const string GraphNotBuilt = "the model graph is not built";

    /// <summary>The Roslyn diagnostic, with the catalogue's descriptor (<see cref="ModelDiagnostics.Find"/>).</summary>
    public Diagnostic ToDiagnostic()
    {
        var properties = ImmutableDictionary.CreateRange(
            Properties.Select(p => new System.Collections.Generic.KeyValuePair<string, string?>(p.Key, p.Value)));
        return Diagnostic.Create(
            ModelDiagnostics.Find(Id),
            Location.ToLocation(),
            AdditionalLocations.Select(l => l.ToLocation()),
            properties,
            MessageArgs.Cast<object>().ToArray());
    }

    public override string ToString() => $"{Location}: {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
}
