using System;
using System.Collections.Generic;
using System.IO;

namespace NeuralSurgery.IO;

/// <summary>
/// The one rule for the files one operation reads and writes, checked before any work: every input is an existing
/// regular file; no output is an input (through links, relative paths, hard links) or another output, with or
/// without overwrite; an output is not a folder, FIFO or device (a rename would replace it) and its folder exists;
/// an existing output is replaced only with overwrite. Each refusal is an <see cref="IOException"/> naming the paths.
/// </summary>
public sealed class CommandFiles
{
    private readonly List<Entry> _inputs = [];
    private readonly List<Entry> _outputs = [];

    /// <summary>A file the operation reads; <paramref name="role"/> names it in messages (an option, "the shard").</summary>
    public CommandFiles Input(string role, string path)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(path);
        _inputs.Add(new Entry(role, path, true, null));
        return this;
    }

    public CommandFiles Inputs(string role, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (var path in paths)
        {
            Input(role, path);
        }

        return this;
    }

    /// <summary>
    /// A file the operation writes (or deletes). <paramref name="replaces"/> false for a file that goes with another
    /// output (a metadata sidecar): it is never an input or another output, but does not need overwrite.
    /// </summary>
    public CommandFiles Output(string role, string path, bool replaces = true) => Output(role, path, replaces, null);

    /// <summary>
    /// An output the operation cannot write (<paramref name="problem"/> says why, e.g. a name it cannot write in
    /// that format); refused by <see cref="Check"/> after the identity checks, so that an input given as the output
    /// is reported as such first.
    /// </summary>
    public CommandFiles Output(string role, string path, bool replaces, string? problem)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(path);
        _outputs.Add(new Entry(role, path, replaces, problem));
        return this;
    }

    public CommandFiles Outputs(string role, IEnumerable<string> paths, bool replaces = true)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (var path in paths)
        {
            Output(role, path, replaces);
        }

        return this;
    }

    /// <summary>Applies the rule; <paramref name="overwriteName"/> is how the caller spells overwrite ("--force").</summary>
    /// <exception cref="IOException">The first file that breaks the rule, named with its role.</exception>
    public void Check(bool overwrite, string overwriteName = "overwrite")
    {
        foreach (var input in _inputs)
        {
            InputFile.EnsureRegular(input.Path);
        }

        for (var o = 0; o < _outputs.Count; o++)
        {
            var output = _outputs[o];
            foreach (var input in _inputs)
            {
                if (FileIdentity.SameFile(output.Path, input.Path))
                {
                    throw new IOException(
                        $"{output} is the same file as the input {input}; surgery never writes over its input, with or without {overwriteName}");
                }
            }

            for (var p = 0; p < o; p++)
            {
                if (FileIdentity.SameFile(output.Path, _outputs[p].Path))
                {
                    throw new IOException($"{_outputs[p]} and {output} are the same file; each output needs a file of its own");
                }
            }
        }

        foreach (var output in _outputs)
        {
            if (output.Problem is not null)
            {
                throw new IOException($"{output}: {output.Problem}");
            }

            var kind = InputFile.KindOf(output.Path);
            if (kind is not (FileKind.Missing or FileKind.Regular))
            {
                throw new IOException($"{output}: is {InputFile.Describe(kind)}; an output must be a regular file (or not exist yet)");
            }

            var folder = Path.GetDirectoryName(Path.GetFullPath(output.Path));
            if (folder is null || !Directory.Exists(folder))
            {
                throw new DirectoryNotFoundException($"{output}: the folder '{folder}' does not exist");
            }

            if (kind == FileKind.Regular && output.Replaces && !overwrite)
            {
                throw new IOException($"{output}: the output already exists; pass {overwriteName} to replace it");
            }
        }
    }

    private sealed record Entry(string Role, string Path, bool Replaces, string? Problem)
    {
        public override string ToString() => Role.Length == 0 ? Path : $"{Role} {Path}";
    }
}
