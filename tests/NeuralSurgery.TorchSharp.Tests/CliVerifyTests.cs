using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Cli;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// <c>surgery verify --assembly</c>: the tool loads a training project's build output (here this test assembly, whose
/// model classes the generator read) with its own TorchSharp and runs the classes' own forward on the checkpoints.
/// </summary>
public sealed class CliVerifyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-cli-verify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Assembly => typeof(PolicyV1).Assembly.Location;

    [Fact]
    public void A_surgered_checkpoint_passes_by_the_models_own_forward()
    {
        var (v1, v2) = Checkpoints(surgered: true);
        var result = Run("verify", "--assembly", Assembly, "--old-class", "PolicyV1", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2, "--samples", "200");
        Assert.True(result.Code == 0, result.ToString());
        Assert.Contains("by their own forward in TorchSharp (cpu) on 200 random states", result.Out, StringComparison.Ordinal);
        Assert.Contains("ok: the new model computes what the old one did", result.Out, StringComparison.Ordinal);
        Assert.Contains("TorchSharp against the reference executor", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_that_did_not_go_through_surgery_fails_with_exit_3_and_the_surgery_named()
    {
        var (v1, v2) = Checkpoints(surgered: false);
        var result = Run("verify", "--assembly", Assembly, "--old-class", "PolicyV1", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2, "--json");
        Assert.True(result.Code == 3, result.ToString());
        Assert.Contains("\"passed\":false", result.Out, StringComparison.Ordinal);
        Assert.Contains("the surgery changed the function", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_a_user_error_that_names_it()
    {
        var (v1, v2) = Checkpoints(surgered: true);
        var wrongVersion = Run("verify", "--assembly", Assembly, "--old-class", "PolicyV1", "--old-checkpoint", v2, "--new-class", "PolicyV2", "--new-checkpoint", v2);
        Assert.True(wrongVersion.Code == 1, wrongVersion.ToString());
        Assert.Contains(v2 + ": TorchSharp cannot load it into 'PolicyV1'", wrongVersion.Err, StringComparison.Ordinal);

        var noClass = Run("verify", "--assembly", Assembly, "--old-class", "Nope", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2);
        Assert.True(noClass.Code == 1, noClass.ToString());
        Assert.Contains("has no class 'Nope'", noClass.Err, StringComparison.Ordinal);

        var notModel = Run("verify", "--assembly", Assembly, "--old-class", "CliVerifyTests", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2);
        Assert.Contains("is not a TorchSharp module", notModel.Err, StringComparison.Ordinal);

        var missing = Run("verify", "--assembly", Path.Combine(_dir, "Training.dll"), "--old-class", "PolicyV1", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2);
        Assert.True(missing.Code == 1, missing.ToString());
        Assert.Contains("Training.dll: no such file", missing.Err, StringComparison.Ordinal);

        var both = Run("verify", "--assembly", Assembly, "--old-model", "V1.cs", "--old-class", "PolicyV1", "--old-checkpoint", v1, "--new-class", "PolicyV2", "--new-checkpoint", v2);
        Assert.Contains("give --old-class and --new-class, not --old-model/--new-model", both.Err, StringComparison.Ordinal);
    }

    private (string V1, string V2) Checkpoints(bool surgered)
    {
        torch.manual_seed(13);
        var model = Weights.Trained(new PolicyV1());

        var v1 = Path.Combine(_dir, "v1.dat");
        var v2 = Path.Combine(_dir, "v2.dat");
        model.save(v1);
        if (surgered)
        {
            PolicyV2.SurgeryFromPolicyV1.Apply(v1, v2, new ApplyOptions { Seed = 1, Overwrite = true, Format = CheckpointFormat.TorchSharp });
        }
        else
        {
            new PolicyV2().save(v2);
        }

        return (v1, v2);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
