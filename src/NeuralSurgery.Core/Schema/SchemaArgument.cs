using System;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>
/// One entry of the schema's <c>arguments:</c> block: a value for a parameter of the model class's constructor
/// (at the top level), or for a member of a config object (inside a nested mapping). The model reader binds
/// sizes from it; the schema reader only checks that it is a well-formed value.
/// </summary>
/// <param name="Name">The constructor parameter's (or config member's) name.</param>
/// <param name="Value">Its value.</param>
/// <param name="Location">The span of the name (the key) in the YAML file.</param>
public sealed record SchemaArgument(string Name, SchemaValue Value, SourceLocation Location);

/// <summary>What kind of value a <see cref="SchemaValue"/> is.</summary>
public enum SchemaValueKind
{
    /// <summary>An unquoted integer (<c>256</c>, <c>-1</c>).</summary>
    Integer,

    /// <summary>An unquoted number with a fraction or exponent (<c>0.1</c>, <c>1e-5</c>).</summary>
    Float,

    /// <summary>An unquoted <c>true</c> or <c>false</c>.</summary>
    Bool,

    /// <summary>A quoted scalar, or an unquoted one that is no number or boolean.</summary>
    String,

    /// <summary>A list of unquoted integers (<c>[64, 64]</c>).</summary>
    Integers,

    /// <summary>A mapping of member names to values: the properties and fields of a config object.</summary>
    Mapping,
}

/// <summary>
/// A value in the <c>arguments:</c> block. Immutable and value-equatable (it is part of <see cref="FeatureSchema"/>,
/// which the incremental generator caches on).
/// </summary>
/// <param name="Kind">Which of the value fields holds it.</param>
/// <param name="Text">The scalar's text as written (empty for a list or mapping).</param>
/// <param name="Integer">For <see cref="SchemaValueKind.Integer"/>: the value; for <see cref="SchemaValueKind.Bool"/>: 1 or 0.</param>
/// <param name="Float">For <see cref="SchemaValueKind.Float"/> and <see cref="SchemaValueKind.Integer"/>: the value as a double.</param>
/// <param name="Integers">For <see cref="SchemaValueKind.Integers"/>: the elements.</param>
/// <param name="Members">For <see cref="SchemaValueKind.Mapping"/>: the members in declaration order.</param>
/// <param name="Location">The span of the value in the YAML file.</param>
public sealed record SchemaValue(
    SchemaValueKind Kind,
    string Text,
    long Integer,
    double Float,
    EquatableArray<long> Integers,
    EquatableArray<SchemaArgument> Members,
    SourceLocation Location)
{
    public bool Bool => Kind == SchemaValueKind.Bool && Integer != 0;

    public static SchemaValue OfInteger(long value, string text, SourceLocation location) =>
        new(SchemaValueKind.Integer, text, value, value, EquatableArray<long>.Empty, EquatableArray<SchemaArgument>.Empty, location);

    public static SchemaValue OfFloat(double value, string text, SourceLocation location) =>
        new(SchemaValueKind.Float, text, 0, value, EquatableArray<long>.Empty, EquatableArray<SchemaArgument>.Empty, location);

    public static SchemaValue OfBool(bool value, string text, SourceLocation location) =>
        new(SchemaValueKind.Bool, text, value ? 1 : 0, 0, EquatableArray<long>.Empty, EquatableArray<SchemaArgument>.Empty, location);

    public static SchemaValue OfString(string value, SourceLocation location) =>
        new(SchemaValueKind.String, value, 0, 0, EquatableArray<long>.Empty, EquatableArray<SchemaArgument>.Empty, location);

    public static SchemaValue OfIntegers(EquatableArray<long> values, SourceLocation location) =>
        new(SchemaValueKind.Integers, string.Empty, 0, 0, values, EquatableArray<SchemaArgument>.Empty, location);

    public static SchemaValue OfMapping(EquatableArray<SchemaArgument> members, SourceLocation location) =>
        new(SchemaValueKind.Mapping, string.Empty, 0, 0, EquatableArray<long>.Empty, members, location);

    /// <summary>The member with this name (of a mapping), or null.</summary>
    public SchemaArgument? FindMember(string name) => SchemaArguments.Find(Members, name);

    /// <summary>How the value reads in a message: <c>the integer 256</c>, <c>the string 'abc'</c>, <c>a mapping</c>.</summary>
    public string Describe() => Kind switch
    {
        SchemaValueKind.Integer => "the integer " + Text,
        SchemaValueKind.Float => "the number " + Text,
        SchemaValueKind.Bool => "the boolean " + Text,
        SchemaValueKind.String => "the string '" + Text + "'",
        SchemaValueKind.Integers => "the list [" + string.Join(", ", Integers.Select(i => i.ToString(CultureInfo.InvariantCulture))) + "]",
        _ => "a mapping",
    };
}

/// <summary>Look-ups in argument lists.</summary>
public static class SchemaArguments
{
    /// <summary>The argument with this name, or null.</summary>
    public static SchemaArgument? Find(EquatableArray<SchemaArgument> arguments, string name)
    {
        foreach (var argument in arguments)
        {
            if (string.Equals(argument.Name, name, StringComparison.Ordinal))
            {
                return argument;
            }
        }

        return null;
    }
}
