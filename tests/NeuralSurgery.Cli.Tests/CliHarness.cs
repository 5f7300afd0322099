using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Cli.Tests;

/// <summary>What one run of the tool printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Err}";
}

/// <summary>
/// A temporary folder of real files (graph JSON, schemas, checkpoints) and the tool run in-process on them
/// through <see cref="Program.Run"/>, exactly as Main runs it but with the output captured.
/// </summary>
public sealed class CliHarness : IDisposable
{
    /// <summary>The usings of a model file that builds with the package (<c>[SurgeryModel]</c> without a namespace prefix).</summary>
    public const string PackageUsings = """
        using NeuralSurgery;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;


        """;

    public CliHarness() => Dir = Directory.CreateTempSubdirectory("ns-cli-").FullName;

    public string Dir { get; }

    public string PathOf(string name) => Path.Combine(Dir, name);

    public static CliResult Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return new CliResult(code, stdout.ToString().ReplaceLineEndings("\n"), stderr.ToString().ReplaceLineEndings("\n"));
    }

    /// <summary>
    /// The built tool as its own process, as a user runs it (stdout redirected, so plain progress lines), in
    /// <paramref name="workingDirectory"/> (null: this process's) so that relative paths mean what they mean to a user.
    /// </summary>
    public static CliResult Exec(string? workingDirectory, params string[] args) => Exec(workingDirectory, [], args);

    /// <summary>As <see cref="Exec(string?, string[])"/>, with <paramref name="environment"/> set for the tool (a heap limit).</summary>
    public static CliResult Exec(string? workingDirectory, (string Name, string Value)[] environment, params string[] args)
    {
        // The tool's assembly is copied beside the tests (project reference), with its runtimeconfig and deps.
        var tool = Path.Combine(AppContext.BaseDirectory, "surgery.dll");
        Assert.True(File.Exists(tool), $"{tool} is missing");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(tool);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "the tool did not finish in two minutes");
        return new CliResult(process.ExitCode, stdout.Result.ReplaceLineEndings("\n"), stderr.Result.ReplaceLineEndings("\n"));
    }

    /// <summary>A user error: exit 1 and exactly one line on stderr, which holds every fragment given.</summary>
    public static void AssertUserError(CliResult result, params string[] fragments)
    {
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.True(result.ErrLines.Length == 1, result.ToString());
        Assert.StartsWith("error: ", result.ErrLines[0]);
        foreach (var fragment in fragments)
        {
            Assert.True(result.Err.Contains(fragment, StringComparison.Ordinal), $"stderr lacks '{fragment}':\n{result}");
        }
    }

    public static void AssertOk(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Err.Length == 0, result.ToString());
    }

    public string Write(string name, string text)
    {
        var path = PathOf(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The OpenAI-Five-shaped model (small) of version 1 or 2: graph JSON and schema YAML on disk.</summary>
    public (string Graph, string Schema, ModelGraph Model) Five(int version)
    {
        var (graph, _) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, version);
        var graphPath = Write($"five.v{version}.graph.json", GraphJson.Write(graph));
        var schemaPath = Write($"five.v{version}.features.yaml", OpenAiFiveGraphs.SchemaYaml(OpenAiFiveGraphs.Small, version));
        return (graphPath, schemaPath, graph);
    }

    /// <summary>A checkpoint holding every parameter of <paramref name="graph"/> with distinct float32 values.</summary>
    public static StateDict CheckpointFor(ModelGraph graph, IEnumerable<string>? leaveOut = null)
    {
        var skip = new HashSet<string>(leaveOut ?? [], StringComparer.Ordinal);
        var dict = new StateDict();
        var k = 0;
        foreach (var p in graph.Parameters)
        {
            k++;
            if (skip.Contains(p.Name))
            {
                continue;
            }

            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = k + (i * 0.001f);
            }

            dict.Add(p.Name, values, shape);
        }

        return dict;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
