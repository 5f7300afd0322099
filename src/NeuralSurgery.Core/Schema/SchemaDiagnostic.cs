using System.Globalization;

namespace NeuralSurgery.Schema;

/// <summary>An error found while reading a feature schema.</summary>
/// <param name="Id">One of <see cref="SchemaErrorCodes"/>.</param>
/// <param name="Message">Names the offending input, feature or key and says what was expected.</param>
/// <param name="Location">The span of the YAML node concerned.</param>
public sealed record SchemaDiagnostic(string Id, string Message, SourceLocation Location)
{
    /// <summary>Formats as <c>path(line,col): error ID: message</c>, the shape MSBuild recognises.</summary>
    public override string ToString() =>
        string.Format(CultureInfo.InvariantCulture, "{0}: error {1}: {2}", Location, Id, Message);
}
