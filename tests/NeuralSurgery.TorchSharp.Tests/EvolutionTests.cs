using System;
using System.IO;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Schema;
using NeuralSurgery.TorchSharp.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Paper 001 eq. 1 by the user's own forward: a trained-looking v1 module is saved with TorchSharp's Module.save, moved
/// by the generated surgery map, loaded into v2 with TorchSharp's strict Module.load, and both modules' real forward
/// agree on 1,000 random world states. Each case also checks both modules against the reference executor.
/// </summary>
public sealed class EvolutionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-torchsharp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Linear_embedding_and_concat_of_encoders_gain_a_feature_a_hero_and_an_action() =>
        Check(
            new PolicyV1(), PolicyV1.Mirror.Graph, PolicyV1.Mirror.Schema,
            () => new PolicyV2(), PolicyV2.Mirror.Graph, PolicyV2.Mirror.Schema,
            (from, to) => PolicyV2.SurgeryFromPolicyV1.Apply(from, to, Options));

    [Fact]
    public void Sets_LayerNorm_and_a_widened_BatchNorm1d_layer_with_a_renamed_and_a_new_unit_feature() =>
        Check(
            new ScoutV1(), ScoutV1.Mirror.Graph, ScoutV1.Mirror.Schema,
            () => new ScoutV2(), ScoutV2.Mirror.Graph, ScoutV2.Mirror.Schema,
            (from, to) => ScoutV2.SurgeryFromScoutV1.Apply(from, to, Options));

    [Fact]
    public void LSTM_and_GRU_widened_in_every_gate_block_with_a_new_input_feature() =>
        Check(
            new TrackerV1(), TrackerV1.Mirror.Graph, TrackerV1.Mirror.Schema,
            () => new TrackerV2(), TrackerV2.Mirror.Graph, TrackerV2.Mirror.Schema,
            (from, to) => TrackerV2.SurgeryFromTrackerV1.Apply(from, to, Options));

    [Fact]
    public void Conv1d_gains_an_input_channel_and_filters() =>
        Check(
            new SignalV1(), SignalV1.Mirror.Graph, SignalV1.Mirror.Schema,
            () => new SignalV2(), SignalV2.Mirror.Graph, SignalV2.Mirror.Schema,
            (from, to) => SignalV2.SurgeryFromSignalV1.Apply(from, to, Options));

    [Fact]
    public void A_CNN_gains_an_image_channel_and_a_wider_convolution_and_BatchNorm2d() =>
        Check(
            new VisionV1(), VisionV1.Mirror.Graph, VisionV1.Mirror.Schema,
            () => new VisionV2(), VisionV2.Mirror.Graph, VisionV2.Mirror.Schema,
            (from, to) => VisionV2.SurgeryFromVisionV1.Apply(from, to, Options));

    [Fact]
    public void Parameter_and_buffer_fields_gain_a_feature_column() =>
        Check(
            new ScaledV1(), ScaledV1.Mirror.Graph, ScaledV1.Mirror.Schema,
            () => new ScaledV2(), ScaledV2.Mirror.Graph, ScaledV2.Mirror.Schema,
            (from, to) => ScaledV2.SurgeryFromScaledV1.Apply(from, to, Options));

    [Fact]
    public void An_EmbeddingBag_over_offsets_gains_a_word_and_a_wider_embedding() =>
        Check(
            new TextV1(), TextV1.Mirror.Graph, TextV1.Mirror.Schema,
            () => new TextV2(), TextV2.Mirror.Graph, TextV2.Mirror.Schema,
            (from, to) => TextV2.SurgeryFromTextV1.Apply(from, to, Options));

    [Fact]
    public void A_SIREN_registered_module_by_module_gains_a_coordinate() =>
        Check(
            new SirenV1(), SirenV1.Mirror.Graph, SirenV1.Mirror.Schema,
            () => new SirenV2(), SirenV2.Mirror.Graph, SirenV2.Mirror.Schema,
            (from, to) => SirenV2.SurgeryFromSirenV1.Apply(from, to, Options));

    [Fact]
    public void A_convolution_gains_a_whole_GroupNorm_group_of_filters() =>
        Check(
            new GroupedV1(), GroupedV1.Mirror.Graph, GroupedV1.Mirror.Schema,
            () => new GroupedV2(), GroupedV2.Mirror.Graph, GroupedV2.Mirror.Schema,
            (from, to) => GroupedV2.SurgeryFromGroupedV1.Apply(from, to, Options));

    [Fact]
    public void Hand_written_attention_gains_a_feature_and_a_third_head() =>
        Check(
            new HeadsV1(), HeadsV1.Mirror.Graph, HeadsV1.Mirror.Schema,
            () => new HeadsV2(), HeadsV2.Mirror.Graph, HeadsV2.Mirror.Schema,
            (from, to) => HeadsV2.SurgeryFromHeadsV1.Apply(from, to, Options));

    [Fact]
    public void TorchSharps_TransformerEncoder_with_a_mask_gains_a_feature_and_an_action() =>
        Check(
            new SequenceV1(), SequenceV1.Mirror.Graph, SequenceV1.Mirror.Schema,
            () => new SequenceV2(), SequenceV2.Mirror.Graph, SequenceV2.Mirror.Schema,
            (from, to) => SequenceV2.SurgeryFromSequenceV1.Apply(from, to, Options));

    [Fact]
    public void TorchSharps_MultiheadAttention_gains_a_head_of_the_same_width() =>
        Check(
            new AttentionV1(), AttentionV1.Mirror.Graph, AttentionV1.Mirror.Schema,
            () => new AttentionV2(), AttentionV2.Mirror.Graph, AttentionV2.Mirror.Schema,
            (from, to) => AttentionV2.SurgeryFromAttentionV1.Apply(from, to, Options));

    [Fact]
    public void An_encoder_decoder_with_a_ConvTranspose2d_gains_a_channel_and_wider_convolutions() =>
        Check(
            new DecoderV1(), DecoderV1.Mirror.Graph, DecoderV1.Mirror.Schema,
            () => new DecoderV2(), DecoderV2.Mirror.Graph, DecoderV2.Mirror.Schema,
            (from, to) => DecoderV2.SurgeryFromDecoderV1.Apply(from, to, Options));

    [Fact]
    public void The_sequence_example_with_a_position_buffer_cut_to_the_sequence_gains_a_word_and_an_action() =>
        Check(
            new TranslatorV1(), TranslatorV1.Mirror.Graph, TranslatorV1.Mirror.Schema,
            () => new TranslatorV2(), TranslatorV2.Mirror.Graph, TranslatorV2.Mirror.Schema,
            (from, to) => TranslatorV2.SurgeryFromTranslatorV1.Apply(from, to, Options));

    [Fact]
    public void RMSNorm_and_a_division_by_a_norm_gain_a_feature_and_an_action() =>
        Check(
            new NormedV1(), NormedV1.Mirror.Graph, NormedV1.Mirror.Schema,
            () => new NormedV2(), NormedV2.Mirror.Graph, NormedV2.Mirror.Schema,
            (from, to) => NormedV2.SurgeryFromNormedV1.Apply(from, to, Options));

    [Fact]
    public void A_learned_position_table_read_through_arange_gains_a_word_and_an_action() =>
        Check(
            new PositionsV1(), PositionsV1.Mirror.Graph, PositionsV1.Mirror.Schema,
            () => new PositionsV2(), PositionsV2.Mirror.Graph, PositionsV2.Mirror.Schema,
            (from, to) => PositionsV2.SurgeryFromPositionsV1.Apply(from, to, Options));

    [Fact]
    public void A_new_model_that_did_not_go_through_surgery_fails_and_the_surgery_is_named_as_the_cause()
    {
        torch.manual_seed(7);
        var v1 = Weights.Trained(new PolicyV1());
        var v2 = new PolicyV2(); // its own random initialisation: not the old function
        var report = ModuleVerifier.Verify(v1, PolicyV1.Mirror.Graph, PolicyV1.Mirror.Schema, v2, PolicyV2.Mirror.Graph, PolicyV2.Mirror.Schema);
        Assert.False(report.Passed);
        Assert.True(report.MaxAbsDifference > 1e-2, report.Diagnosis);
        Assert.True(report.OldAgainstReference <= 1e-5 && report.NewAgainstReference <= 1e-5, report.Diagnosis);
        Assert.Contains("the surgery changed the function", report.Diagnosis, StringComparison.Ordinal);
    }

    [Fact]
    public void The_generated_Verify_takes_the_two_model_classes()
    {
        torch.manual_seed(9);
        var v1 = Weights.Trained(new PolicyV1());
        var v1Path = Path.Combine(_dir, "v1.dat");
        var v2Path = Path.Combine(_dir, "v2.dat");
        v1.save(v1Path);
        PolicyV2.SurgeryFromPolicyV1.Apply(v1Path, v2Path, Options);
        var v2 = new PolicyV2();
        v2.load(v2Path);
        var report = PolicyV2.SurgeryFromPolicyV1.Verify(v1, v2);
        Assert.True(report.Passed, report.Diagnosis);
        Assert.Equal(1000, report.Surgery.Samples);
        Assert.StartsWith("the new model computes what the old one did", report.Diagnosis, StringComparison.Ordinal);
    }

    [Fact]
    public void A_module_of_another_class_is_refused_with_the_forward_it_lacks()
    {
        var error = Assert.Throws<ArgumentException>(() => ModuleVerifier.Verify(
            new ScoutV1(), PolicyV1.Mirror.Graph, PolicyV1.Mirror.Schema, new PolicyV2(), PolicyV2.Mirror.Graph, PolicyV2.Mirror.Schema));
        Assert.Contains("'ScoutV1' has no forward(Tensor, Tensor)", error.Message, StringComparison.Ordinal);
    }

    private static ApplyOptions Options => new() { Seed = 11, Overwrite = true, Format = CheckpointFormat.TorchSharp };

    private void Check<TOld, TNew>(
        TOld v1,
        ModelGraph oldGraph,
        FeatureSchema oldSchema,
        Func<TNew> create,
        ModelGraph newGraph,
        FeatureSchema newSchema,
        Action<string, string> apply)
        where TOld : nn.Module
        where TNew : nn.Module
    {
        torch.manual_seed(20261206);
        Weights.Trained(v1);
        var v1Path = Path.Combine(_dir, "v1.dat");
        var v2Path = Path.Combine(_dir, "v2.dat");
        v1.save(v1Path);
        apply(v1Path, v2Path);
        var v2 = create();
        v2.load(v2Path); // TorchSharp's own strict load: names, dtypes and shapes must all match

        var report = ModuleVerifier.Verify(v1, oldGraph, oldSchema, v2, newGraph, newSchema, new ModuleVerificationOptions { Samples = 1000, Seed = 3 });
        Assert.True(report.Passed, report.Diagnosis);
        Assert.True(report.MaxAbsDifference <= 1e-5, report.Diagnosis);
        Assert.True(report.OldAgainstReference <= 1e-5, $"old model: TorchSharp vs reference {report.OldAgainstReference}");
        Assert.True(report.NewAgainstReference <= 1e-5, $"new model: TorchSharp vs reference {report.NewAgainstReference}");
    }
}
