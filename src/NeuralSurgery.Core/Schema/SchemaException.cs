using System;
using System.Collections.Generic;
using System.Globalization;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>
/// Thrown when a feature schema cannot be read. <see cref="Diagnostics"/> holds every error found; the
/// message is the first one, formatted as <c>path(line,col): error ID: message</c>.
/// </summary>
public sealed class SchemaException : Exception
{
    public SchemaException(IReadOnlyList<SchemaDiagnostic> diagnostics)
        : base(FormatMessage(diagnostics))
    {
        Diagnostics = diagnostics.ToEquatableArray();
    }

    internal SchemaException(IReadOnlyList<SchemaDiagnostic> diagnostics, Exception innerException)
        : base(FormatMessage(diagnostics), innerException)
    {
        Diagnostics = diagnostics.ToEquatableArray();
    }

    public SchemaException()
        : this("The feature schema is invalid.")
    {
    }

    public SchemaException(string message)
        : base(message)
    {
        Diagnostics = EquatableArray<SchemaDiagnostic>.Empty;
    }

    public SchemaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Diagnostics = EquatableArray<SchemaDiagnostic>.Empty;
    }

    /// <summary>Every error found, ordered by position in the file.</summary>
    public IReadOnlyList<SchemaDiagnostic> Diagnostics { get; }

    private static string FormatMessage(IReadOnlyList<SchemaDiagnostic> diagnostics)
    {
        if (diagnostics is null)
        {
            throw new ArgumentNullException(nameof(diagnostics));
        }

        if (diagnostics.Count == 0)
        {
            return "The feature schema is invalid.";
        }

        var first = diagnostics[0].ToString();
        return diagnostics.Count == 1
            ? first
            : string.Format(CultureInfo.InvariantCulture, "{0} (and {1} more)", first, diagnostics.Count - 1);
    }
}
