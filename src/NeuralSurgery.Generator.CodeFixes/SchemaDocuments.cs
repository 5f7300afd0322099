using System;
using Microsoft.CodeAnalysis;

namespace NeuralSurgery.Generator.CodeFixes;

/// <summary>Finds the feature schema a diagnostic's <c>SchemaPath</c> names among the project's AdditionalFiles.</summary>
internal static class SchemaDocuments
{
    /// <summary>
    /// The additional document whose path is <paramref name="schemaPath"/> or ends with <c>/</c> + it (separators
    /// normalised, case-insensitive, leading <c>./</c> dropped), the first in ordinal path order: the rule the
    /// generator uses to resolve <c>[SurgeryModel("…")]</c> (SurgeryGenerator.Resolve), so the fix edits the file
    /// the build read. The reader's <c>SchemaPath</c> is the full AdditionalFiles path in a build, which matches
    /// that file alone.
    /// </summary>
    public static TextDocument? Find(Project project, string schemaPath)
    {
        var wanted = Normalize(schemaPath);
        while (wanted.StartsWith("./", StringComparison.Ordinal))
        {
            wanted = wanted.Substring(2);
        }

        if (wanted.Length == 0)
        {
            return null;
        }

        TextDocument? match = null;
        string? matchPath = null;
        foreach (var document in project.AdditionalDocuments)
        {
            var path = document.FilePath ?? document.Name;
            var normalized = Normalize(path);
            var matches = string.Equals(normalized, wanted, StringComparison.OrdinalIgnoreCase)
                || normalized.EndsWith("/" + wanted, StringComparison.OrdinalIgnoreCase);
            if (matches && (matchPath is null || string.CompareOrdinal(path, matchPath) < 0))
            {
                match = document;
                matchPath = path;
            }
        }

        return match;
    }

    private static string Normalize(string path) => path.Replace('\\', '/');
}
