namespace NeuralSurgery.Schema;

/// <summary>
/// Diagnostic IDs for feature schemas (the <c>NS0xxx</c> range). IDs are stable: never renumber one,
/// and keep the generator's diagnostic catalogue in step when adding one.
/// </summary>
public static class SchemaErrorCodes
{
    /// <summary>The file is not well-formed YAML.</summary>
    public const string YamlSyntax = "NS0001";

    /// <summary>A mapping holds a key the format does not define.</summary>
    public const string UnknownKey = "NS0002";

    /// <summary>An input, output, feature, rename source or mapping key is declared twice.</summary>
    public const string DuplicateName = "NS0003";

    /// <summary>A feature width is not an integer of at least 1.</summary>
    public const string InvalidWidth = "NS0004";

    /// <summary>A schema without inputs, or an input or output without features or values.</summary>
    public const string EmptyDeclaration = "NS0005";

    /// <summary>A categorical vocabulary lists a value twice.</summary>
    public const string DuplicateCategoricalValue = "NS0006";

    /// <summary>A rename's new name names nothing in the schema.</summary>
    public const string RenameTargetNotFound = "NS0007";

    /// <summary>A value of the wrong type or shape, a missing required key, an invalid name or a contradictory rename.</summary>
    public const string InvalidValue = "NS0008";

    /// <summary>The schema file could not be read (missing, or not accessible). Only <see cref="FeatureSchemaReader.Load"/> reports it.</summary>
    public const string FileNotReadable = "NS0009";

    /// <summary>A short title for the code, or null for an unknown code.</summary>
    public static string? GetTitle(string id) => id switch
    {
        YamlSyntax => "YAML syntax error",
        UnknownKey => "Unknown key",
        DuplicateName => "Duplicate name",
        InvalidWidth => "Invalid width",
        EmptyDeclaration => "Empty declaration",
        DuplicateCategoricalValue => "Duplicate categorical value",
        RenameTargetNotFound => "Rename points nowhere",
        InvalidValue => "Invalid value or structure",
        FileNotReadable => "Schema file cannot be read",
        _ => null,
    };

    /// <summary>Every code, in numeric order.</summary>
    public static System.Collections.Generic.IReadOnlyList<string> All { get; } = new[]
    {
        YamlSyntax,
        UnknownKey,
        DuplicateName,
        InvalidWidth,
        EmptyDeclaration,
        DuplicateCategoricalValue,
        RenameTargetNotFound,
        InvalidValue,
        FileNotReadable,
    };
}
