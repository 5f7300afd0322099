using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace NeuralSurgery.Cli.Models;

/// <summary>The folder whose files the build sees as AdditionalFiles: the nearest one above a model file with a .csproj.</summary>
internal static class ProjectFolder
{
    /// <summary>The folder of the nearest .csproj at or above <paramref name="modelPath"/>'s folder, else that folder.</summary>
    public static string Of(string modelPath)
    {
        var modelDir = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        for (var dir = modelDir; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.EnumerateFiles(dir, "*.csproj").Any())
            {
                return dir;
            }
        }

        return modelDir;
    }

    /// <summary>Whether <paramref name="path"/> lies under <paramref name="folder"/> where the build sees it (not under bin, obj or a hidden folder).</summary>
    public static bool Holds(string folder, string path)
    {
        var relative = Path.GetRelativePath(folder, Path.GetFullPath(path));
        if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return false;
        }

        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return !parts.Take(parts.Length - 1).Any(LeftOut);
    }

    /// <summary>The files named <c>*<paramref name="suffix"/></c> under <paramref name="folder"/> that the build sees, in ordinal order.</summary>
    public static IEnumerable<string> Files(string folder, string suffix)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*" + suffix).Order(StringComparer.Ordinal))
        {
            yield return file;
        }

        foreach (var sub in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal).Where(d => !LeftOut(Path.GetFileName(d))))
        {
            foreach (var file in Files(sub, suffix))
            {
                yield return file;
            }
        }
    }

    /// <summary>Folders the SDK's default item excludes leave out of the project's globs.</summary>
    private static bool LeftOut(string name) => name is "bin" or "obj" || name.StartsWith('.');
}
