using System;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>
/// A parsed feature schema (one model version). Immutable and value-equatable, so the incremental
/// generator can cache on it: every collection is an <see cref="EquatableArray{T}"/>, and no field may
/// hold a lookup cache or anything without structural equality.
/// </summary>
/// <param name="Model">The model class the schema describes.</param>
/// <param name="Version">The schema version (a non-negative integer).</param>
/// <param name="Inputs">The inputs in declaration order.</param>
/// <param name="Outputs">The outputs in declaration order.</param>
/// <param name="Renames">Old name to new name, in declaration order.</param>
/// <param name="Path">The file the schema was read from.</param>
public sealed record FeatureSchema(
    string Model,
    int Version,
    EquatableArray<SchemaInput> Inputs,
    EquatableArray<SchemaOutput> Outputs,
    EquatableArray<SchemaRename> Renames,
    string Path)
{
    /// <summary>
    /// The <c>arguments:</c> block: values for the model constructor's parameters (and, nested, for the members of a
    /// config-object parameter), in declaration order. Empty when the schema has none.
    /// </summary>
    public EquatableArray<SchemaArgument> Arguments { get; init; } = EquatableArray<SchemaArgument>.Empty;

    /// <summary>
    /// The <c>factory:</c> key: a static method of the model class that builds it (<c>ResNet.ResNet18(classes)</c>),
    /// read instead of a constructor; <see cref="Arguments"/> then bind the factory's parameters. Null when absent.
    /// </summary>
    public string? Factory { get; init; }

    /// <summary>Where <see cref="Factory"/> is written in the YAML file.</summary>
    public SourceLocation? FactoryLocation { get; init; }

    /// <summary>The argument with this name, or null.</summary>
    public SchemaArgument? FindArgument(string name) => SchemaArguments.Find(Arguments, name);

    /// <summary>The input with this name, or null.</summary>
    public SchemaInput? FindInput(string name)
    {
        foreach (var input in Inputs)
        {
            if (string.Equals(input.Name, name, StringComparison.Ordinal))
            {
                return input;
            }
        }

        return null;
    }

    /// <summary>The output with this name, or null.</summary>
    public SchemaOutput? FindOutput(string name)
    {
        foreach (var output in Outputs)
        {
            if (string.Equals(output.Name, name, StringComparison.Ordinal))
            {
                return output;
            }
        }

        return null;
    }
}
