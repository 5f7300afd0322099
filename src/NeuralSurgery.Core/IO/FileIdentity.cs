using System;
using System.IO;

namespace NeuralSurgery.IO;

/// <summary>Whether two paths name one file: through symbolic links, relative paths and (on Linux) hard links.</summary>
public static class FileIdentity
{
    private const int MaxLinkDepth = 40;

    /// <summary>How this platform's file system compares names.</summary>
    public static StringComparison Comparison { get; } =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// True when both paths name the same file: the same device and inode where the platform reports them (hard
    /// links too), else the same path once every symbolic link is resolved.
    /// </summary>
    public static bool SameFile(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var sa = NativeStat.Stat(a);
        var sb = NativeStat.Stat(b);
        if (sa.HasIdentity && sb.HasIdentity)
        {
            return sa.Device == sb.Device && sa.Inode == sb.Inode;
        }

        return string.Equals(RealPath(a), RealPath(b), Comparison);
    }

    /// <summary>
    /// The full path with every symbolic link resolved, component by component (like <c>realpath</c>, but a missing
    /// final component is kept as it is). Link loops give an <see cref="IOException"/>.
    /// </summary>
    public static string RealPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return RealPath(Path.GetFullPath(path), 0);
    }

    private static string RealPath(string fullPath, int depth)
    {
        if (depth > MaxLinkDepth)
        {
            throw new IOException($"Too many levels of symbolic links resolving '{fullPath}'.");
        }

        var root = Path.GetPathRoot(fullPath) ?? string.Empty;
        var current = root;
        foreach (var part in fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                // current is already real, so a relative target's ".." means what the OS means by it.
                next = RealPath(Path.GetFullPath(target, current), depth + 1);
            }

            current = next;
        }

        return current;
    }
}
