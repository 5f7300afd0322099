using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>The outcome of <see cref="FeatureSchemaReader.Parse"/>: a schema, or the errors that prevented one.</summary>
/// <param name="Schema">The schema; null when there is any diagnostic.</param>
/// <param name="Diagnostics">All errors found, ordered by position in the file.</param>
public sealed record SchemaReadResult(FeatureSchema? Schema, EquatableArray<SchemaDiagnostic> Diagnostics)
{
    /// <summary>True when the schema was read without errors.</summary>
    public bool Success => Schema is not null && Diagnostics.IsEmpty;
}
