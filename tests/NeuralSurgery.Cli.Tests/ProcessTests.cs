using System;
using System.Diagnostics;
using System.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

/// <summary>The built tool run as its own process, as a user runs it: stdout redirected, so plain progress lines.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static CliResult Exec(params string[] args)
    {
        // The tool's assembly is copied beside the tests (project reference), with its runtimeconfig and deps.
        var tool = Path.Combine(AppContext.BaseDirectory, "surgery.dll");
        Assert.True(File.Exists(tool), $"{tool} is missing");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
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

    [Fact]
    public void Version_and_plan_and_apply_run_as_a_process()
    {
        var version = Exec("--version");
        CliHarness.AssertOk(version);
        Assert.Equal(Program.Version, version.Out.Trim());

        var (v1, s1, g1) = _h.Five(1);
        var (v2, s2, _) = _h.Five(2);
        var plan = _h.PathOf("plan.json");
        CliHarness.AssertOk(Exec("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--out", plan));
        var source = _h.PathOf("old.bin");
        CliHarness.CheckpointFor(g1).Save(source, CheckpointFormat.TorchSharp);
        var target = _h.PathOf("new.safetensors");
        var apply = Exec("apply", "--plan", plan, "--in", source, "--out", target);
        CliHarness.AssertOk(apply);
        Assert.Contains("apply: ", apply.Out);
        Assert.DoesNotContain("\u001b[", apply.Out); // no ANSI escapes when redirected
        Assert.True(File.Exists(target));
    }

    [Fact]
    public void Errors_exit_with_1_and_one_stderr_line()
    {
        var missing = _h.PathOf("missing.safetensors");
        var result = Exec("inspect", missing);
        CliHarness.AssertUserError(result, missing);
        Assert.Equal(string.Empty, result.Out);
    }
}
