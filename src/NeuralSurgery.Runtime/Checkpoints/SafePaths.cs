using System;
using System.IO;
using NeuralSurgery.IO;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>Path checks for files named inside other files (shard paths of an index).</summary>
internal static class SafePaths
{
    public static StringComparison Comparison => FileIdentity.Comparison;

    /// <summary>
    /// Why <paramref name="relative"/> may not be used as a path under <paramref name="folder"/>, or null when it is
    /// safe: it must be relative, without <c>..</c> segments, and stay inside the folder after resolving every
    /// symbolic link on the way (a link to a file outside the folder would let an index read anything).
    /// </summary>
    public static string? CheckInside(string folder, string relative, out string fullPath)
    {
        fullPath = string.Empty;
        if (relative.Length == 0 || relative.Trim().Length == 0)
        {
            return "is empty";
        }

        if (relative.Contains('\0', StringComparison.Ordinal))
        {
            return "holds a NUL character";
        }

        if (Path.IsPathRooted(relative) || relative[0] is '/' or '\\' || (relative.Length >= 2 && relative[1] == ':'))
        {
            return "is absolute";
        }

        foreach (var segment in relative.Split('/', '\\'))
        {
            if (segment == "..")
            {
                return "has a '..' segment";
            }
        }

        var root = Path.GetFullPath(folder);
        fullPath = Path.GetFullPath(Path.Combine(root, relative));
        if (!IsUnder(root, fullPath))
        {
            return "leaves the folder";
        }

        if (!IsUnder(RealPath(root), RealPath(fullPath)))
        {
            return "leaves the folder through a symbolic link";
        }

        return null;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> itself or lies below it.</summary>
    public static bool IsUnder(string folder, string path)
    {
        var prefix = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, Comparison) || string.Equals(path, folder, Comparison);
    }

    /// <summary>The path with every symbolic link resolved (<see cref="FileIdentity.RealPath"/>).</summary>
    public static string RealPath(string fullPath) => FileIdentity.RealPath(fullPath);
}
