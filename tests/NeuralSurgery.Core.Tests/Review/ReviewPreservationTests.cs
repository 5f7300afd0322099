using System;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using static NeuralSurgery.Tests.Review.ReviewSupport;

namespace NeuralSurgery.Tests.Review;

/// <summary>Realistic surgeries that must keep the old model's outputs (paper 001 eq. 1).</summary>
public class ReviewPreservationTests
{
    private const double Tol = 1e-9;

    private static ModelSide Mlp(FeatureSchema s, long hidden = 4, string input = "obs")
    {
        var b = new GraphBuilder("Policy");
        var x = b.FeatureInput(input, B, Width(s, input));
        b.Output("logits", b.Linear("head", b.Relu(b.Linear("fc1", x, hidden)), s.FindOutput("logits")!.Width));
        return ModelSide.Trace(b.Build(), s);
    }

    private static void AssertPreserved(ModelSide old, ModelSide @new, PlanOptions? options = null)
    {
        var plan = SurgeryDiffer.Diff(old, @new, options);
        var diff = ReviewNumeric.MaxOutputDifference(old, @new, plan);
        Assert.True(diff < Tol, $"max |F_old - F_new| = {diff}\n{Describe(plan)}");
    }

    // ---- sanity of the review's own check ----

    [Fact]
    public void Review_check_is_zero_for_identical_models_and_detects_a_broken_plan()
    {
        var s = Sch(Yaml(1, "  obs:\n    features: [a, b, c]\n"));
        var old = Mlp(s);
        var @new = Mlp(Sch(Yaml(2, "  obs:\n    features: [a, b, c, d]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.True(ReviewNumeric.MaxOutputDifference(old, @new, plan) < Tol);
        var broken = plan with
        {
            Tensors = plan.Tensors.Select(t => t.Name == "fc1.weight"
                ? t with { Axes = t.Axes.Select(a => a.Role == AxisRole.Input ? a with { Unmapped = InitRule.Uniform(1) } : a).ToEquatableArray() }
                : t).ToEquatableArray(),
        };
        Assert.True(ReviewNumeric.MaxOutputDifference(old, @new, broken) > 1e-3);
    }

    // ---- renames ----

    [Fact]
    public void Feature_renamed_and_moved_keeps_its_column()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [hp, x, y]\n")));
        var @new = Mlp(Sch(Yaml(2, "  obs:\n    features: [x, y, max_health]\n", renames: "  hp: max_health\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([1L, 2, 0], Map(plan, "fc1.weight", 1));
        Assert.Empty(plan.Dropped);
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Two_features_swapped_by_renames_swap_their_columns()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [a, b, c]\n")));
        var @new = Mlp(Sch(Yaml(2, "  obs:\n    features: [a, b, c]\n", renames: "  a: b\n  b: a\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([1L, 0, 2], Map(plan, "fc1.weight", 1));
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Categorical_value_renamed_keeps_its_embedding_row()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var obs = b.FeatureInput("obs", B, Width(s, "obs"));
            var emb = b.Embedding("hero_embedding", b.CategoricalInput("hero_id", B), Width(s, "hero_id"), 3);
            b.Output("logits", b.Linear("head", b.Concat(1, b.Relu(b.Linear("fc1", obs, 4)), emb), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  obs:\n    features: [a]\n  hero_id:\n    categorical: [axe, bane, lina]\n")));
        var @new = Build(Sch(Yaml(2, "  obs:\n    features: [a]\n  hero_id:\n    categorical: [lina, mogul_khan, bane]\n", renames: "  hero_id.axe: hero_id.mogul_khan\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([2L, 0, 1], Map(plan, "hero_embedding.weight", 0));
        Assert.Empty(plan.Dropped);
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Input_renamed_keeps_every_weight()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [a, b, c]\n")));
        var @new = Mlp(Sch(Yaml(2, "  observation:\n    features: [a, b, c]\n", renames: "  obs: observation\n"), 2), input: "observation");
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal(plan.Totals.TargetElements, plan.Totals.CopiedElements);
        Assert.Empty(plan.Dropped);
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Input_renamed_and_a_feature_inside_it_renamed()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [hp, b, c]\n")));
        var @new = Mlp(Sch(Yaml(2, "  observation:\n    features: [b, health, c]\n", renames: "  obs: observation\n  observation.hp: observation.health\n"), 2), input: "observation");
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([1L, 0, 2], Map(plan, "fc1.weight", 1));
        AssertPreserved(old, @new);
    }

    /// <summary>
    /// docs/schema.md: "Either side may be qualified by an input or output name". A rename whose old side is
    /// qualified (<c>obs.hp: health</c>) concerns obs only; another input's pre-existing <c>health</c> must keep its column.
    /// </summary>
    [Fact]
    public void Rename_qualified_on_the_old_side_does_not_leak_into_another_input()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var obs = b.Relu(b.Linear("obs_enc", b.FeatureInput("obs", B, Width(s, "obs")), 3));
            var units = b.Relu(b.Linear("unit_enc", b.FeatureInput("units", B, Width(s, "units")), 3));
            b.Output("logits", b.Linear("head", b.Concat(1, obs, units), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  obs:\n    features: [hp, x]\n  units:\n    features: [health, y]\n")));
        var @new = Build(Sch(Yaml(2, "  obs:\n    features: [health, x]\n  units:\n    features: [health, y]\n", renames: "  obs.hp: health\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.True(Map(plan, "obs_enc.weight", 1).SequenceEqual([0L, 1]), Describe(plan));
        Assert.Equal([0L, 1], Map(plan, "unit_enc.weight", 1));
        Assert.Empty(plan.Dropped);
        AssertPreserved(old, @new);
    }

    // ---- heads ----

    [Fact]
    public void Head_actions_reordered_and_one_added()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [a, b]\n")));
        var @new = Mlp(Sch(Yaml(2, "  obs:\n    features: [a, b]\n", actions: "[attack, noop, jump, move]"), 2));
        var plan = SurgeryDiffer.Diff(old, @new, PlanOptions.Default with { NewOutputBias = -5 });
        Assert.Equal([2L, 0, -1, 1], Map(plan, "head.weight", 0));
        Assert.Equal(InitRule.Constant(-5), plan.FindTensor("head.bias")!.RuleFor([2]));
        AssertPreserved(old, @new, PlanOptions.Default with { NewOutputBias = -5 });
    }

    [Fact]
    public void Output_feature_renamed_keeps_its_row()
    {
        var old = Mlp(Sch(Yaml(1, "  obs:\n    features: [a, b]\n")));
        var @new = Mlp(Sch(Yaml(2, "  obs:\n    features: [a, b]\n", actions: "[noop, walk, attack]", renames: "  logits.move: logits.walk\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([0L, 1, 2], Map(plan, "head.weight", 0));
        Assert.Empty(plan.Dropped);
    }

    /// <summary>logits = policy_head(h) + prior_head(h): both heads' rows are the schema's output features.</summary>
    [Fact]
    public void Logits_summed_from_two_heads_copy_both_heads_when_nothing_changes()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var h = b.Relu(b.Linear("fc1", b.FeatureInput("obs", B, Width(s, "obs")), 4));
            b.Output("logits", b.Add(b.Linear("policy_head", h, 3), b.Linear("prior_head", h, 3)));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  obs:\n    features: [a, b]\n")));
        var @new = Build(Sch(Yaml(2, "  obs:\n    features: [a, b]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.True(plan.Totals.CopiedElements == plan.Totals.TargetElements, Describe(plan));
        Assert.Empty(plan.Dropped);
    }

    [Fact]
    public void Logits_summed_from_two_heads_follow_a_reordered_action_list()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var h = b.Relu(b.Linear("fc1", b.FeatureInput("obs", B, Width(s, "obs")), 4));
            b.Output("logits", b.Add(b.Linear("policy_head", h, 3), b.Linear("prior_head", h, 3)));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  obs:\n    features: [a, b]\n")));
        var @new = Build(Sch(Yaml(2, "  obs:\n    features: [a, b]\n", actions: "[attack, noop, move]"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([2L, 0, 1], Map(plan, "policy_head.weight", 0));
        Assert.Equal([2L, 0, 1], Map(plan, "prior_head.weight", 0));
        AssertPreserved(old, @new);
    }

    // ---- shared encoders, sets, branches ----

    /// <summary>One unit encoder applied to allies and enemies (same features), max-pooled; a feature added to both.</summary>
    [Fact]
    public void Shared_encoder_on_two_set_inputs_with_a_feature_added_to_both()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var allies = b.FeatureInput("allies", B, N, Width(s, "allies"));
            var enemies = b.FeatureInput("enemies", B, N, Width(s, "enemies"));
            var pa = b.Max(b.Relu(b.Linear("unit_enc", allies, 4)), 1);
            var pe = b.Max(b.Relu(b.Linear("unit_enc", enemies, 4)), 1);
            b.Output("logits", b.Linear("head", b.Concat(1, pa, pe), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  allies:\n    set: true\n    features: [hp, x, y]\n  enemies:\n    set: true\n    features: [hp, x, y]\n")));
        var @new = Build(Sch(Yaml(2, "  allies:\n    set: true\n    features: [hp, armor, x, y]\n  enemies:\n    set: true\n    features: [hp, armor, x, y]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([0L, -1, 1, 2], Map(plan, "unit_enc.weight", 1));
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Shared_encoder_on_two_set_inputs_with_features_reordered_in_both()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var pa = b.Max(b.Relu(b.Linear("unit_enc", b.FeatureInput("allies", B, N, Width(s, "allies")), 4)), 1);
            var pe = b.Max(b.Relu(b.Linear("unit_enc", b.FeatureInput("enemies", B, N, Width(s, "enemies")), 4)), 1);
            b.Output("logits", b.Linear("head", b.Concat(1, pa, pe), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  allies:\n    set: true\n    features: [hp, x, y]\n  enemies:\n    set: true\n    features: [hp, x, y]\n")));
        var @new = Build(Sch(Yaml(2, "  allies:\n    set: true\n    features: [y, hp, x]\n  enemies:\n    set: true\n    features: [y, hp, x]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([2L, 0, 1], Map(plan, "unit_enc.weight", 1));
        AssertPreserved(old, @new);
    }

    [Fact]
    public void New_feature_in_a_max_pooled_set_input()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var obs = b.Relu(b.Linear("fc1", b.FeatureInput("obs", B, Width(s, "obs")), 4));
            var units = b.Max(b.Relu(b.Linear("unit_enc", b.FeatureInput("units", B, N, Width(s, "units")), 5)), 1);
            b.Output("logits", b.Linear("head", b.Concat(1, obs, units), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  obs:\n    features: [a, b]\n  units:\n    set: true\n    features: [hp, x, y]\n")));
        var @new = Build(Sch(Yaml(2, "  obs:\n    features: [a, b]\n  units:\n    set: true\n    features: [hp, is_enemy, x, y]\n"), 2));
        AssertPreserved(old, @new);
    }

    /// <summary>units [B, N, F] flattened to [B, N·F] and encoded: a feature added in the middle of F.</summary>
    [Fact]
    public void Flattened_set_input_with_a_feature_added()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var units = b.FeatureInput("units", B, 3, Width(s, "units"));
            b.Output("logits", b.Linear("head", b.Relu(b.Linear("fc1", b.Flatten(units), 4)), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  units:\n    set: true\n    features: [hp, x, y]\n")));
        var @new = Build(Sch(Yaml(2, "  units:\n    set: true\n    features: [hp, armor, x, y]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([0L, -1, 1, 2, 3, -1, 4, 5, 6, -1, 7, 8], Map(plan, "fc1.weight", 1));
        AssertPreserved(old, @new);
    }

    [Fact]
    public void Sum_of_two_branches_both_widened()
    {
        ModelSide Build(FeatureSchema s, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var a = b.Relu(b.Linear("fa", b.FeatureInput("obs", B, Width(s, "obs")), hidden));
            var z = b.Relu(b.Linear("fz", b.FeatureInput("extra", B, Width(s, "extra")), hidden));
            b.Output("logits", b.Linear("head", b.Add(a, z), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n  extra:\n    features: [e]\n"));
        var s2 = Sch(Yaml(2, "  obs:\n    features: [a, q, b]\n  extra:\n    features: [e, f]\n"), 2);
        AssertPreserved(Build(s1, 4), Build(s2, 6));
    }

    [Fact]
    public void Residual_block_widened()
    {
        ModelSide Build(FeatureSchema s, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var h = b.Relu(b.Linear("fc1", b.FeatureInput("obs", B, Width(s, "obs")), hidden));
            var r = b.Add(h, b.Relu(b.Linear("fc2", h, hidden)));
            b.Output("logits", b.Linear("head", r, 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        AssertPreserved(Build(s1, 4), Build(Sch(Yaml(2, "  obs:\n    features: [a, b, c]\n"), 2), 7));
    }

    [Fact]
    public void Gated_branches_multiplied_and_widened()
    {
        ModelSide Build(FeatureSchema s, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var x = b.FeatureInput("obs", B, Width(s, "obs"));
            var g = b.Mul(b.Tanh(b.Linear("value", x, hidden)), b.Sigmoid(b.Linear("gate", x, hidden)));
            b.Output("logits", b.Linear("head", g, 3));
            return ModelSide.Trace(b.Build(), s);
        }

        AssertPreserved(Build(Sch(Yaml(1, "  obs:\n    features: [a, b]\n")), 3), Build(Sch(Yaml(2, "  obs:\n    features: [c, a, b]\n"), 2), 5));
    }

    [Fact]
    public void Shared_embedding_for_two_categorical_inputs_with_vocabulary_changes()
    {
        ModelSide Build(FeatureSchema s)
        {
            var b = new GraphBuilder("Policy");
            var v = Width(s, "my_hero");
            var e1 = b.Embedding("hero_embedding", b.CategoricalInput("my_hero", B), v, 3);
            var e2 = b.Embedding("hero_embedding", b.CategoricalInput("enemy_hero", B), v, 3);
            b.Output("logits", b.Linear("head", b.Concat(1, e1, e2), 3));
            return ModelSide.Trace(b.Build(), s);
        }

        var old = Build(Sch(Yaml(1, "  my_hero:\n    categorical: [axe, bane, lina]\n  enemy_hero:\n    categorical: [axe, bane, lina]\n")));
        var @new = Build(Sch(Yaml(2, "  my_hero:\n    categorical: [lina, drow, axe, bane]\n  enemy_hero:\n    categorical: [lina, drow, axe, bane]\n"), 2));
        var plan = SurgeryDiffer.Diff(old, @new);
        Assert.Equal([2L, -1, 0, 1], Map(plan, "hero_embedding.weight", 0));
        AssertPreserved(old, @new);
    }

    // ---- recurrent ----

    private static ModelSide Rnn(FeatureSchema s, bool gru, long hidden, int layers = 1, bool bidirectional = false, bool state = false, bool batchFirst = false)
    {
        var b = new GraphBuilder("Policy");
        var x = b.Relu(b.Linear("fc", b.FeatureInput("obs", T, B, Width(s, "obs")), 3));
        if (batchFirst)
        {
            x = b.Transpose(x, 0, 1);
        }

        var d = bidirectional ? 2 : 1;
        GraphValue output;
        if (gru)
        {
            var h0 = state ? b.StateInput("h0", layers * d, B, hidden) : (GraphValue?)null;
            var (o, hn) = b.Gru("rnn", x, hidden, numLayers: layers, bidirectional: bidirectional, batchFirst: batchFirst, h0: h0);
            output = o;
            b.StateOutput("hn", hn);
        }
        else
        {
            var h0 = state ? b.StateInput("h0", layers * d, B, hidden) : (GraphValue?)null;
            var c0 = state ? b.StateInput("c0", layers * d, B, hidden) : (GraphValue?)null;
            var (o, hn, cn) = b.Lstm("rnn", x, hidden, numLayers: layers, bidirectional: bidirectional, batchFirst: batchFirst, h0: h0, c0: c0);
            output = o;
            b.StateOutput("hn", hn).StateOutput("cn", cn);
        }

        b.Output("logits", b.Linear("head", output, 3));
        return ModelSide.Trace(b.Build(), s);
    }

    private static readonly FeatureSchema Seq1 = Sch(Yaml(1, "  obs:\n    set: true\n    features: [a, b]\n"));
    private static readonly FeatureSchema Seq2 = Sch(Yaml(2, "  obs:\n    set: true\n    features: [a, q, b]\n"), 2);

    [Theory]
    [InlineData(false, 1, false, false)]
    [InlineData(true, 1, false, false)]
    [InlineData(true, 1, false, true)]
    [InlineData(false, 1, false, true)]
    [InlineData(false, 2, false, false)]
    [InlineData(true, 2, false, false)]
    [InlineData(false, 1, true, false)]
    [InlineData(true, 1, true, false)]
    [InlineData(false, 2, true, true)]
    [InlineData(true, 2, true, true)]
    public void Recurrent_hidden_widened_with_a_new_feature(bool gru, int layers, bool bidirectional, bool state)
    {
        AssertPreserved(Rnn(Seq1, gru, 2, layers, bidirectional, state), Rnn(Seq2, gru, 3, layers, bidirectional, state));
    }

    [Fact]
    public void Batch_first_lstm_widened()
    {
        AssertPreserved(Rnn(Seq1, false, 2, batchFirst: true), Rnn(Seq2, false, 4, batchFirst: true));
    }

    [Fact]
    public void Gru_hidden_widened_maps_r_z_n_blocks()
    {
        var plan = SurgeryDiffer.Diff(Rnn(Seq1, true, 2), Rnn(Seq1, true, 3));
        long[] rows = [0, 1, -1, 2, 3, -1, 4, 5, -1];
        Assert.Equal(rows, Map(plan, "rnn.weight_ih_l0", 0));
        Assert.Equal(rows, Map(plan, "rnn.bias_hh_l0", 0));
        Assert.Equal([0L, 1, -1], Map(plan, "rnn.weight_hh_l0", 1));
    }

    [Fact]
    public void Bidirectional_two_layer_lstm_widened_maps_deeper_input_columns_per_direction()
    {
        var plan = SurgeryDiffer.Diff(Rnn(Seq1, false, 2, 2, true), Rnn(Seq1, false, 3, 2, true));
        Assert.Equal([0L, 1, -1, 2, 3, -1], Map(plan, "rnn.weight_ih_l1", 1));
        Assert.Equal([0L, 1, -1, 2, 3, -1], Map(plan, "rnn.weight_ih_l1_reverse", 1));
        Assert.Equal([0L, 1, -1, 2, 3, -1], Map(plan, "head.weight", 1));
    }

    [Fact]
    public void Lstm_hidden_narrowed_reports_the_dropped_units_with_exact_counts()
    {
        var plan = SurgeryDiffer.Diff(Rnn(Seq1, false, 4), Rnn(Seq1, false, 2));
        Assert.Equal([0L, 1, 4, 5, 8, 9, 12, 13], Map(plan, "rnn.weight_ih_l0", 0));
        var dropped = Assert.Single(plan.Dropped);
        Assert.Equal((DroppedKind.Units, "rnn.l0"), (dropped.Kind, dropped.Name));
        // 8 of 16 gate rows lost: weight_ih 8x3; weight_hh (16x4) keeps 8x2 = 16 of 64, so 48 lost; biases 8 each; head 3x2.
        var expected = new[]
        {
            new LostElements("head.weight", 6),
            new LostElements("rnn.bias_hh_l0", 8),
            new LostElements("rnn.bias_ih_l0", 8),
            new LostElements("rnn.weight_hh_l0", 48),
            new LostElements("rnn.weight_ih_l0", 8 * 3),
        };
        Assert.True(expected.SequenceEqual(dropped.Parameters), Describe(plan));
        Assert.Equal(plan.Totals.SourceElements - plan.Totals.CopiedElements, dropped.Elements);
    }

    /// <summary>A dropped item never claims more elements of a tensor than the tensor loses.</summary>
    [Fact]
    public void Dropped_items_never_claim_copied_elements()
    {
        var plan = SurgeryDiffer.Diff(Rnn(Seq1, true, 3, layers: 2), Rnn(Seq1, true, 2, layers: 2));
        foreach (var item in plan.Dropped)
        {
            foreach (var lost in item.Parameters)
            {
                var t = plan.FindTensor(lost.Parameter);
                var lostThere = t is null ? lost.Elements : t.TotalElements - t.CopiedElements;
                var sourceElements = t is null ? lost.Elements : t.SourceShape.Aggregate(1L, (a, b) => a * b) - t.CopiedElements;
                Assert.True(lost.Elements <= sourceElements, $"{item.Name} claims {lost.Elements} elements of {lost.Parameter}, which loses only {sourceElements}\n{Describe(plan)}");
            }
        }
    }

    // ---- conv and norms ----

    private static ModelSide Conv(FeatureSchema s, long channels, long groups = 1, bool batchNorm = false)
    {
        var b = new GraphBuilder("Policy");
        var x = b.FeatureInput("obs", B, 5, Width(s, "obs")); // [B, L, F]
        var c = b.Conv1d("conv", b.Transpose(x, 1, 2), channels, kernelSize: 3, padding: 1, groups: groups);
        if (batchNorm)
        {
            c = b.BatchNorm1d("bn", c);
        }

        b.Output("logits", b.Linear("head", b.Max(b.Relu(c), 2), 3));
        return ModelSide.Trace(b.Build(), s);
    }

    [Fact]
    public void Conv1d_channels_widened_and_a_feature_added()
    {
        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var s2 = Sch(Yaml(2, "  obs:\n    features: [a, z, b]\n"), 2);
        AssertPreserved(Conv(s1, 4), Conv(s2, 6));
    }

    [Fact]
    public void Conv1d_with_batchnorm_channels_widened()
    {
        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var s2 = Sch(Yaml(2, "  obs:\n    features: [a, z, b]\n"), 2);
        AssertPreserved(Conv(s1, 4, batchNorm: true), Conv(s2, 6, batchNorm: true));
    }

    /// <summary>Grouped conv (2 groups): widening from 4 to 6 channels puts output channel 2 in group 0.</summary>
    [Fact]
    public void Grouped_conv1d_widened_preserves_outputs()
    {
        var s = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        AssertPreserved(Conv(s, 4, groups: 2), Conv(s, 6, groups: 2));
    }

    [Fact]
    public void BatchNorm1d_after_a_widened_layer_and_on_a_new_input_feature()
    {
        ModelSide Build(FeatureSchema sc, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var x = b.BatchNorm1d("input_norm", b.FeatureInput("obs", B, Width(sc, "obs")));
            var h = b.Relu(b.BatchNorm1d("bn", b.Linear("fc1", x, hidden)));
            b.Output("logits", b.Linear("head", h, 3));
            return ModelSide.Trace(b.Build(), sc);
        }

        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var s2 = Sch(Yaml(2, "  obs:\n    features: [a, z, b]\n"), 2);
        AssertPreserved(Build(s1, 4), Build(s2, 6));
        var same = SurgeryDiffer.Diff(Build(s1, 4), Build(s1, 4));
        Assert.Equal(1.0, same.Totals.ShareOfSource);
        Assert.Empty(same.Dropped);
        Assert.All(same.Tensors, t => Assert.Equal(t.TotalElements, t.CopiedElements));
    }

    [Fact]
    public void LayerNorm_over_a_widened_layer_is_noted()
    {
        ModelSide Build(FeatureSchema sc, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var h = b.Relu(b.LayerNorm("ln", b.Linear("fc1", b.FeatureInput("obs", B, Width(sc, "obs")), hidden)));
            b.Output("logits", b.Linear("head", h, 3));
            return ModelSide.Trace(b.Build(), sc);
        }

        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var plan = SurgeryDiffer.Diff(Build(s1, 4), Build(s1, 6));
        Assert.Equal([0L, 1, 2, 3, -1, -1], Map(plan, "ln.weight", 0));
        Assert.Contains(plan.Notes, n => n.Contains("LayerNorm 'ln'"));
    }

    /// <summary>
    /// A value computed as a sum over the hidden axis (e.g. a scalar critic/baseline head written as
    /// <c>fc1(x).sum(-1)</c> or mean-pooled channels): new units' default-initialised rows are not fan-out free here.
    /// </summary>
    [Fact]
    public void Widened_layer_reduced_over_its_units_is_preserved_or_noted()
    {
        ModelSide Build(FeatureSchema sc, long hidden)
        {
            var b = new GraphBuilder("Policy");
            var h = b.Relu(b.Linear("fc1", b.FeatureInput("obs", B, Width(sc, "obs")), hidden));
            var pooled = b.Sum(h, 1, keepDim: true);
            b.Output("logits", b.Linear("head", b.Concat(1, h, pooled), 3));
            return ModelSide.Trace(b.Build(), sc);
        }

        var s1 = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var old = Build(s1, 4);
        var @new = Build(s1, 6);
        var plan = SurgeryDiffer.Diff(old, @new);
        var diff = ReviewNumeric.MaxOutputDifference(old, @new, plan);
        Assert.True(diff < Tol || plan.Notes.Any(n => n.Contains("fc1")), $"outputs change by {diff} and no note says so\n{Describe(plan)}");
    }

    // ---- options ----

    /// <summary>Copying a shared encoder into two new ones (actor/critic split) must not count the old weights twice.</summary>
    [Fact]
    public void Two_module_renames_from_one_old_module_are_refused_or_counted_once()
    {
        var s = Sch(Yaml(1, "  obs:\n    features: [a, b]\n"));
        var old = Mlp(s);
        var b = new GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", B, 2);
        var h = b.Concat(1, b.Relu(b.Linear("actor_enc", obs, 4)), b.Relu(b.Linear("critic_enc", obs, 4)));
        b.Output("logits", b.Linear("head", h, 3));
        var @new = ModelSide.Trace(b.Build(), s);
        var options = PlanOptions.Default with { ModuleRenames = new[] { new ModuleRename("fc1", "actor_enc"), new ModuleRename("fc1", "critic_enc") } };
        SurgeryPlan plan;
        try
        {
            plan = SurgeryDiffer.Diff(old, @new, options);
        }
        catch (PlanException)
        {
            return;
        }

        Assert.True(plan.Totals.ShareOfSource <= 1, $"shareOfSource {plan.Totals.ShareOfSource}\n{Describe(plan)}");
    }

    [Fact]
    public void Unit_map_on_an_lstm_moves_gate_blocks_with_their_units()
    {
        var options = PlanOptions.Default with { UnitMaps = new[] { new UnitMap("rnn.l0", new long[] { 3, -1, 1 }) } };
        var plan = SurgeryDiffer.Diff(Rnn(Seq1, false, 4), Rnn(Seq1, false, 3), options);
        Assert.Equal([3L, -1, 1, 7, -1, 5, 11, -1, 9, 15, -1, 13], Map(plan, "rnn.weight_ih_l0", 0));
        Assert.Equal([3L, -1, 1], Map(plan, "rnn.weight_hh_l0", 1));
        Assert.Equal([3L, -1, 1], Map(plan, "head.weight", 1));
    }
}
