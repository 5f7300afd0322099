using System;
using System.IO;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

/// <summary>The built tool run as its own process, as a user runs it: stdout redirected, so plain progress lines.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static CliResult Exec(params string[] args) => CliHarness.Exec(null, args);

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
        Assert.DoesNotContain("apply: ", apply.Out); // no progress lines when redirected
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
