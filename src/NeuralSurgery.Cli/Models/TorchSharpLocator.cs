using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NeuralSurgery.Cli.Infrastructure;

namespace NeuralSurgery.Cli.Models;

/// <summary>
/// Finds the TorchSharp assembly that model source is compiled against: <c>--torchsharp</c>, else the newest
/// <c>&lt;packages&gt;/torchsharp*/&lt;version&gt;/lib/*/TorchSharp.dll</c> in the NuGet package folder
/// (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>).
/// </summary>
internal static class TorchSharpLocator
{
    public const string Hint = "pass --torchsharp <path to TorchSharp.dll> (or restore the TorchSharp package so it is in ~/.nuget/packages)";

    /// <summary>The assembly path and whether it was found rather than given.</summary>
    public static (string Path, bool Discovered) Resolve(string? explicitPath)
    {
        if (explicitPath is not null)
        {
            if (!File.Exists(explicitPath))
            {
                throw new CliException($"--torchsharp {explicitPath}: no such file; {Hint}");
            }

            NeuralSurgery.IO.InputFile.EnsureRegular(explicitPath);

            return (Path.GetFullPath(explicitPath), false);
        }

        var found = FindNewest(PackagesFolder());
        return found is null
            ? throw new CliException($"TorchSharp.dll not found in the NuGet package folder; {Hint}")
            : (found, true);
    }

    public static string? PackagesFolder()
    {
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".nuget", "packages");
    }

    /// <summary>The newest TorchSharp.dll under a NuGet package folder, or null.</summary>
    public static string? FindNewest(string? packagesFolder)
    {
        if (packagesFolder is null || !Directory.Exists(packagesFolder))
        {
            return null;
        }

        var candidates = new List<(Version Version, string Tail, string Framework, string Path)>();
        try
        {
            foreach (var package in Directory.EnumerateDirectories(packagesFolder, "torchsharp*"))
            {
                foreach (var versionDir in Directory.EnumerateDirectories(package))
                {
                    var lib = Path.Combine(versionDir, "lib");
                    if (!Directory.Exists(lib))
                    {
                        continue;
                    }

                    var (version, tail) = ParseVersion(Path.GetFileName(versionDir));
                    foreach (var framework in Directory.EnumerateDirectories(lib))
                    {
                        var dll = Path.Combine(framework, "TorchSharp.dll");
                        if (File.Exists(dll))
                        {
                            candidates.Add((version, tail, Path.GetFileName(framework), dll));
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // Highest version; a release before its prereleases; then the highest target framework name.
        return candidates
            .OrderByDescending(c => c.Version)
            .ThenBy(c => c.Tail.Length == 0 ? 0 : 1)
            .ThenByDescending(c => c.Tail, StringComparer.Ordinal)
            .ThenByDescending(c => FrameworkRank(c.Framework))
            .Select(c => c.Path)
            .FirstOrDefault();
    }

    /// <summary>net8.0 over net6.0 over netcoreapp3.1 over netstandard2.1.</summary>
    private static (int Family, Version Version) FrameworkRank(string framework)
    {
        static Version V(string text) => Version.TryParse(text.Contains('.', StringComparison.Ordinal) ? text : text + ".0", out var v) ? v : new Version(0, 0);
        if (framework.StartsWith("netstandard", StringComparison.OrdinalIgnoreCase))
        {
            return (0, V(framework["netstandard".Length..]));
        }

        if (framework.StartsWith("netcoreapp", StringComparison.OrdinalIgnoreCase))
        {
            return (1, V(framework["netcoreapp".Length..]));
        }

        return framework.StartsWith("net", StringComparison.OrdinalIgnoreCase) && framework.Length > 3 && char.IsDigit(framework[3])
            ? (2, V(framework[3..].Split('-')[0]))
            : (-1, new Version(0, 0));
    }

    private static (Version Version, string Tail) ParseVersion(string text)
    {
        var dash = text.IndexOfAny(['-', '+']);
        var numeric = dash < 0 ? text : text[..dash];
        var tail = dash < 0 ? string.Empty : text[dash..];
        return Version.TryParse(numeric, out var version) ? (version, tail) : (new Version(0, 0), text);
    }
}
