using System;
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

    /// <summary>Whether <paramref name="path"/> lies under <paramref name="folder"/>, outside bin and obj (which the build leaves out).</summary>
    public static bool Holds(string folder, string path)
    {
        var relative = Path.GetRelativePath(folder, Path.GetFullPath(path));
        if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return false;
        }

        var first = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)[0];
        return first is not ("bin" or "obj");
    }
}
