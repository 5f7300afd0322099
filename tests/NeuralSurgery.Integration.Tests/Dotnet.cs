using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace NeuralSurgery.Integration.Tests;

/// <summary>What one run of the <c>dotnet</c> CLI printed and returned.</summary>
public sealed record DotnetResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    public string[] Lines => Output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    public override string ToString() =>
        $"{Command}\nexit {ExitCode.ToString(CultureInfo.InvariantCulture)} after {Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s\n{Output}";
}

/// <summary>Runs the <c>dotnet</c> CLI as a child process, the way a user or CI runs it.</summary>
public static class Dotnet
{
    /// <summary>
    /// Long enough for a cold restore and build of every referenced src/ project on a loaded 2-core machine; a build
    /// that takes longer is stuck, and the test says so instead of hanging the test run.
    /// </summary>
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(8);

    /// <summary>The repository root: the first folder above the test binaries that holds NeuralSurgery.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// <c>dotnet build</c> of <paramref name="project"/> into <paramref name="artifacts"/>, so neither the checkout
    /// nor the src/ projects' own bin/obj are touched, and a clean clone builds the same way as a used one.
    /// With <paramref name="referencesBuilt"/>, an earlier build into the same folder restored and built the project
    /// references, so this one skips both (on a loaded machine that is most of a build's time).
    /// </summary>
    public static DotnetResult Build(string project, string artifacts, bool referencesBuilt, params string[] properties)
    {
        var args = new List<string>
        {
            "build", project, "-c", "Release", "--artifacts-path", artifacts, "-nologo",
            // No MSBuild nodes or compiler server outlive the build: they would hold this process's output pipes open
            // (so the wait below would not end) and keep files of the temporary folder in use.
            "-nodeReuse:false", "-p:UseSharedCompilation=false",
            // Plain line-by-line output: the test reads warnings as MSBuild prints them for a console or CI log.
            "-tl:off",
        };
        if (referencesBuilt)
        {
            args.AddRange(["--no-restore", "--no-dependencies"]);
        }

        args.AddRange(properties.Select(p => "-p:" + p));
        return Run(args, Path.GetDirectoryName(project)!, BuildTimeout);
    }

    /// <summary><c>dotnet pack</c> of <paramref name="project"/> into the folder feed <paramref name="output"/>, built under <paramref name="artifacts"/>.</summary>
    public static DotnetResult Pack(string project, string artifacts, string output) =>
        Run(
            ["pack", project, "-c", "Release", "-o", output, "--artifacts-path", artifacts, "-nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false", "-tl:off"],
            Path.GetDirectoryName(project)!,
            BuildTimeout);

    public static DotnetResult Run(IReadOnlyList<string> args, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(DotnetPath())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // `dotnet test` runs this process with the MSBuild settings of its own build in the environment
        // (MSBuildExtensionsPath, MSBuildSDKsPath, MSBUILD_EXE_PATH, ...); a nested build must find its own.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        var output = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var command = "dotnet " + string.Join(' ', args);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{command} did not finish in {timeout.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes; output so far:\n{Snapshot(output)}");
        }

        // The parameterless wait also waits for the end of both redirected streams.
        process.WaitForExit();
        return new DotnetResult(command, process.ExitCode, Snapshot(output), sw.Elapsed);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Append(line).Append('\n');
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>The dotnet executable that runs this test (so the build uses the same SDK), else the one on PATH.</summary>
    private static string DotnetPath()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NeuralSurgery.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NeuralSurgery.sln not found above " + AppContext.BaseDirectory);
    }
}
