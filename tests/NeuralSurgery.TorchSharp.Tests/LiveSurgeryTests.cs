using System;
using System.IO;
using System.Linq;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Plans applied to live modules: module to module and checkpoint into module give, on the CPU, exactly the bytes
/// the file executor writes for the same plan and seed, for every evolution case.
/// </summary>
public sealed class LiveSurgeryTests : IDisposable
{
    private const int Seed = 31;

    private readonly string _dir = Directory.CreateTempSubdirectory("ns-live-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Policy_linear_embedding_concat_and_head() => Same(new PolicyV1(), () => new PolicyV2(), PolicyV2.SurgeryFromPolicyV1.Plan);

    [Fact]
    public void Scout_sets_LayerNorm_BatchNorm1d() => Same(new ScoutV1(), () => new ScoutV2(), ScoutV2.SurgeryFromScoutV1.Plan);

    [Fact]
    public void Tracker_LSTM_and_GRU_gate_blocks() => Same(new TrackerV1(), () => new TrackerV2(), TrackerV2.SurgeryFromTrackerV1.Plan);

    [Fact]
    public void Signal_Conv1d_channels_and_filters() => Same(new SignalV1(), () => new SignalV2(), SignalV2.SurgeryFromSignalV1.Plan);

    [Fact]
    public void Attention_heads_packed_in_proj_rows() => Same(new AttentionV1(), () => new AttentionV2(), AttentionV2.SurgeryFromAttentionV1.Plan);

    [Fact]
    public void TransformerEncoder_layers_and_a_position_buffer() => Same(new TranslatorV1(), () => new TranslatorV2(), TranslatorV2.SurgeryFromTranslatorV1.Plan);

    [Fact]
    public void ConvTranspose2d_input_rows_and_filters() => Same(new DecoderV1(), () => new DecoderV2(), DecoderV2.SurgeryFromDecoderV1.Plan);

    [Fact]
    public void The_generated_typed_overloads_apply_the_class_pair_plan()
    {
        torch.manual_seed(3);
        var v1 = new PolicyV1();
        var v1Path = Path.Combine(_dir, "typed.v1.dat");
        var filePath = Path.Combine(_dir, "typed.v2.dat");
        v1.save(v1Path);
        PolicyV2.SurgeryFromPolicyV1.Apply(v1Path, filePath, new ApplyOptions { Seed = Seed, Format = CheckpointFormat.TorchSharp });

        var live = new PolicyV2();
        PolicyV2.SurgeryFromPolicyV1.Apply(v1, live, Seed);
        var loaded = new PolicyV2();
        PolicyV2.SurgeryFromPolicyV1.LoadInto(loaded, v1Path, Seed);
        Assert.Equal(File.ReadAllBytes(filePath), Bytes(live));
        Assert.Equal(File.ReadAllBytes(filePath), Bytes(loaded));
        Assert.True(PolicyV2.SurgeryFromPolicyV1.Verify(v1, live).Passed);
    }

    [Fact]
    public void A_plan_for_other_models_is_refused_naming_the_tensors_and_the_target_is_untouched()
    {
        var target = new ScoutV2();
        var before = Bytes(target);
        var error = Assert.Throws<PlanApplicationException>(() => LiveSurgery.Apply(PolicyV2.SurgeryFromPolicyV1.Plan, new PolicyV1(), target, Seed));
        Assert.Contains("the plan writes 'encoder.weight', which the target module ScoutV2 does not have", error.Message, StringComparison.Ordinal);
        Assert.Contains("has 'unit_encoder.weight', which the plan does not make", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Bytes(target));

        var same = new PolicyV1();
        Assert.Contains("the source and the target are the same module", Assert.Throws<ArgumentException>(() => LiveSurgery.Apply(PolicyV2.SurgeryFromPolicyV1.Plan, same, same, Seed)).Message, StringComparison.Ordinal);

        var wrongSource = Assert.Throws<PlanApplicationException>(() => LiveSurgery.Apply(PolicyV2.SurgeryFromPolicyV1.Plan, new ScoutV1(), new PolicyV2(), Seed));
        Assert.Contains("copies 'encoder.weight', which the source module ScoutV1 does not have", wrongSource.Message, StringComparison.Ordinal);

        var v2Path = Path.Combine(_dir, "v2.dat");
        new PolicyV2().save(v2Path); // a checkpoint of the new version, not the old one
        var wrongFile = Assert.Throws<PlanApplicationException>(() => LiveSurgery.LoadInto(PolicyV2.SurgeryFromPolicyV1.Plan, v2Path, new PolicyV2(), Seed));
        Assert.Contains("v2.dat", wrongFile.Message, StringComparison.Ordinal);
        Assert.Contains("expects 'encoder.weight' of shape [8, 4]", wrongFile.Message, StringComparison.Ordinal);
    }

    private void Same<TNew>(nn.Module v1, Func<TNew> create, SurgeryPlan plan)
        where TNew : nn.Module
    {
        torch.manual_seed(17);
        Weights.Trained(v1);

        var v1Path = Path.Combine(_dir, "v1.dat");
        var filePath = Path.Combine(_dir, "file.dat");
        v1.save(v1Path);
        PlanExecutor.Apply(plan, v1Path, filePath, new ApplyOptions { Seed = Seed, Format = CheckpointFormat.TorchSharp, Overwrite = true });
        var expected = File.ReadAllBytes(filePath);

        var live = create();
        LiveSurgery.Apply(plan, v1, live, Seed);
        Assert.Equal(expected, Bytes(live));

        var loaded = create();
        LiveSurgery.LoadInto(plan, v1Path, loaded, Seed);
        Assert.Equal(expected, Bytes(loaded));
    }

    private byte[] Bytes(nn.Module module)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".dat");
        module.save(path);
        return File.ReadAllBytes(path);
    }
}
