using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Generator.FrontEnd;

namespace NeuralSurgery.Cli.Models;

/// <summary>
/// A model class as it was at an older commit (<c>surgery snapshot add --from-git &lt;rev&gt;</c>): the file and the
/// schema its <c>[SurgeryModel]</c> names are read with <c>git show rev:path</c>, never checked out, so the work
/// tree is left as it is.
/// </summary>
internal static class GitSource
{
    public static LoadedModel Load(string modelFile, string revision, string? className, string? torchSharp, CliConsole console, CancellationToken cancellation)
    {
        if (!File.Exists(modelFile))
        {
            throw new CliException($"{modelFile}: no such file (--from-git reads the file at the same path in the older commit)");
        }

        var full = Path.GetFullPath(modelFile);
        var folder = Path.GetDirectoryName(full)!;
        var root = Path.GetFullPath(Git(folder, "rev-parse", "--show-toplevel").Trim());
        var relative = Path.GetRelativePath(root, full).Replace('\\', '/');
        var text = Show(root, revision, relative)
            ?? throw new CliException($"--from-git {revision}: {relative} does not exist at that commit");
        var label = revision + ":" + relative;
        var sources = new List<KeyValuePair<string, string>> { new(label, text) };
        return ModelSourceLoader.LoadSources(sources, null, className, torchSharp, (type, _) => Schema(type, root, relative, revision), console, cancellation);
    }

    /// <summary>The schema the attribute names, as the build finds it: next to the file or in a folder above it, up to the repository's root.</summary>
    private static (string Path, string Text)? Schema(Microsoft.CodeAnalysis.INamedTypeSymbol type, string root, string relative, string revision)
    {
        var written = ModelFrontEnd.SchemaPathOf(type);
        if (written is null)
        {
            return null;
        }

        var folder = relative.Contains('/', StringComparison.Ordinal) ? relative[..relative.LastIndexOf('/')] : string.Empty;
        while (true)
        {
            var candidate = folder.Length == 0 ? written : folder + "/" + written;
            if (Show(root, revision, candidate) is { } text)
            {
                return (revision + ":" + candidate, text);
            }

            if (folder.Length == 0)
            {
                throw new CliException($"--from-git {revision}: [SurgeryModel(\"{written}\")] of {type.Name} names a schema that exists neither next to {relative} nor in a folder above it at that commit");
            }

            folder = folder.Contains('/', StringComparison.Ordinal) ? folder[..folder.LastIndexOf('/')] : string.Empty;
        }
    }

    /// <summary>The file at <paramref name="revision"/>, or null when that commit does not have it.</summary>
    private static string? Show(string root, string revision, string path)
    {
        var (code, _, _) = Run(root, "cat-file", "-e", revision + ":" + path);
        if (code != 0)
        {
            // Tell a bad revision from a missing file: the first is the user's typo and must say so.
            var (revCode, _, revError) = Run(root, "rev-parse", "--verify", "--quiet", revision + "^{commit}");
            if (revCode != 0)
            {
                throw new CliException($"--from-git {revision}: not a commit in {root}{(revError.Length > 0 ? " (" + revError.Trim() + ")" : string.Empty)}");
            }

            return null;
        }

        return Git(root, "show", revision + ":" + path);
    }

    private static string Git(string folder, params string[] args)
    {
        var (code, output, error) = Run(folder, args);
        return code == 0
            ? output
            : throw new CliException($"git {string.Join(' ', args)} in {folder} failed: {ErrorReport.OneLine(error.Trim())}");
    }

    private static (int Code, string Output, string Error) Run(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CliException("--from-git: could not start git");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CliException($"--from-git: git is not installed or not on PATH ({e.Message})", e);
        }

        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error.GetAwaiter().GetResult());
        }
    }
}
