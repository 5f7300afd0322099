using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace NeuralSurgery.Generator.Emit;

/// <summary>C# identifiers for schema names: <c>max_health</c> becomes <c>MaxHealth</c>.</summary>
internal static class Identifiers
{
    /// <summary>
    /// PascalCase from a snake_case (or otherwise separated) name: every run of letters and digits starts upper-case,
    /// the rest of each run is kept as written. A name starting with a digit gets a leading underscore.
    /// </summary>
    public static string ToPascalCase(string name)
    {
        var builder = new StringBuilder(name.Length);
        var startOfWord = true;
        foreach (var c in name)
        {
            if (!char.IsLetterOrDigit(c))
            {
                startOfWord = true;
                continue;
            }

            builder.Append(startOfWord ? char.ToUpperInvariant(c) : c);
            startOfWord = false;
        }

        if (builder.Length == 0 || char.IsDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return Escape(builder.ToString());
    }

    /// <summary>A C# name as it must be written in source: <c>@</c> before a reserved keyword (<c>@event</c>).</summary>
    public static string Escape(string name) => SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None ? name : "@" + name;

    /// <summary>
    /// A unique member name: <paramref name="name"/> in PascalCase, with underscores appended while it clashes with a
    /// name already <paramref name="taken"/> (which it is then added to). Callers put the enclosing type's name and the
    /// generated members (<c>Width</c>) in <paramref name="taken"/> first, since C# forbids a member named like its type.
    /// </summary>
    public static string Unique(string name, HashSet<string> taken)
    {
        var identifier = ToPascalCase(name);
        while (!taken.Add(identifier))
        {
            identifier += "_";
        }

        return identifier;
    }
}
