using System.Globalization;

namespace NeuralSurgery.Schema;

/// <summary>
/// The span of a YAML node in a schema file. Lines and columns are 1-based; <see cref="EndLine"/> and
/// <see cref="EndColumn"/> give the position just after the node (exclusive), as YamlDotNet's end marks do.
/// </summary>
public sealed record SourceLocation(string Path, int Line, int Column, int EndLine, int EndColumn)
{
    /// <summary>Formats as <c>path(line,col)</c>, the shape MSBuild and IDEs recognise.</summary>
    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "{0}({1},{2})", Path, Line, Column);
}
