using NeuralSurgery.Graph;
using System;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Plan;
using NeuralSurgery.Tests.Support;
using static NeuralSurgery.Tests.Diff.DiffModels;

namespace NeuralSurgery.Tests.Diff;

public class SurgeryDifferTests
{
    private static (ModelSide Old, ModelSide New) Pair(string oldObs, string newObs, string? renames = null)
    {
        var old = Mlp(ParseSchema(Yaml(1, oldObs), 1));
        var @new = Mlp(ParseSchema(Yaml(2, newObs, renames: renames), 2));
        return (old, @new);
    }

    [Fact]
    public void Identical_models_copy_everything()
    {
        var (old, @new) = Pair("[a, b, c]", "[a, b, c]");
        var plan = MakePlan(old, @new);
        Assert.Equal(plan.Totals.TargetElements, plan.Totals.CopiedElements);
        Assert.Equal(1.0, plan.Totals.ShareOfSource);
        Assert.Empty(plan.Dropped);
        Assert.All(plan.Tensors, t => Assert.Equal(t.Name, t.Source));
        Assert.Equal([0L, 1, 2], Map(plan, "fc1.weight", 1));
    }

    [Fact]
    public void Feature_added_at_the_end_gets_a_zero_column()
    {
        var (old, @new) = Pair("[a, b, c]", "[a, b, c, d]");
        var plan = MakePlan(old, @new);
        var fc1 = plan.FindTensor("fc1.weight")!;
        Assert.Equal([0L, 1, 2, -1], Map(plan, "fc1.weight", 1));
        Assert.Equal([0L, 1, 2, 3], Map(plan, "fc1.weight", 0));
        Assert.Equal(InitRule.Zeros, fc1.RuleFor([0, 3]));
        Assert.Null(fc1.RuleFor([0, 2]));
        Assert.Equal(12, fc1.CopiedElements);
        Assert.Equal(plan.Totals.TargetElements - 4, plan.Totals.CopiedElements);
        Assert.Equal(plan.Totals.SourceElements, plan.Totals.CopiedElements);
    }

    [Fact]
    public void Feature_added_in_the_middle_shifts_later_columns()
    {
        var (old, @new) = Pair("[a, b, c]", "[a, x, b, c]");
        var plan = MakePlan(old, @new);
        Assert.Equal([0L, -1, 1, 2], Map(plan, "fc1.weight", 1));
        var segments = plan.FindTensor("fc1.weight")!.Axes[1].Segments;
        Assert.Equal([new AxisSegment(0, 1, 0), new AxisSegment(1, 1, -1), new AxisSegment(2, 2, 1)], segments.ToArray());
    }

    [Fact]
    public void Removed_feature_is_reported_with_the_weights_it_loses()
    {
        var (old, @new) = Pair("[a, b, c]", "[a, c]");
        var plan = MakePlan(old, @new);
        Assert.Equal([0L, 2], Map(plan, "fc1.weight", 1));
        var dropped = Assert.Single(plan.Dropped);
        Assert.Equal(DroppedKind.Feature, dropped.Kind);
        Assert.Equal("obs.b", dropped.Name);
        Assert.Equal([new LostElements("fc1.weight", 4)], dropped.Parameters.ToArray());
    }

    [Fact]
    public void Reordered_features_follow_their_names()
    {
        var (old, @new) = Pair("[a, b, c]", "[c, a, b]");
        var plan = MakePlan(old, @new);
        Assert.Equal([2L, 0, 1], Map(plan, "fc1.weight", 1));
        Assert.Equal(plan.Totals.TargetElements, plan.Totals.CopiedElements);
    }

    [Fact]
    public void Renamed_feature_keeps_its_weights()
    {
        var (old, @new) = Pair("[a, hp, c]", "[a, max_health, c]", renames: "  hp: max_health\n");
        var plan = MakePlan(old, @new);
        Assert.Equal([0L, 1, 2], Map(plan, "fc1.weight", 1));
        Assert.Empty(plan.Dropped);
        var unrenamed = MakePlan(old, Mlp(ParseSchema(Yaml(2, "[a, max_health, c]"), 2)));
        Assert.Equal([0L, -1, 2], Map(unrenamed, "fc1.weight", 1));
    }

    [Fact]
    public void Wide_features_map_slot_by_slot()
    {
        var (old, @new) = Pair("[a, {name: pos, width: 2}]", "[{name: pos, width: 3}, a]");
        var plan = MakePlan(old, @new);
        Assert.Equal([1L, 2, -1, 0], Map(plan, "fc1.weight", 1));
    }

    /// <summary>obs → fc1 → unsqueeze to [B, C, 1] → GroupNorm → flatten → head.</summary>
    private static ModelSide Grouped(NeuralSurgery.Schema.FeatureSchema schema, long channels, long groups)
    {
        var b = new GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", Dim.Batch, schema.FindInput("obs")!.Width);
        var normed = b.GroupNorm("gn", b.Unsqueeze(b.Linear("fc1", obs, channels), 2), groups);
        b.Output("logits", b.Linear("head", b.Flatten(normed, 1), schema.FindOutput("logits")!.Width));
        return ModelSide.Trace(b.Build(), schema);
    }

    [Theory]
    [InlineData(4, 2, 6, 3, false)] // a whole new group of two channels
    [InlineData(4, 2, 6, 2, true)]  // groups of three: old channels share groups with new ones
    [InlineData(4, 2, 4, 1, true)]  // the two old groups merged
    public void A_GroupNorm_keeps_the_old_function_only_when_whole_groups_are_added(long oldChannels, long oldGroups, long newChannels, long newGroups, bool regroups)
    {
        var schema1 = ParseSchema(Yaml(1, "[a, b]"), 1);
        var plan = MakePlan(Grouped(schema1, oldChannels, oldGroups), Grouped(ParseSchema(Yaml(2, "[a, b]"), 2), newChannels, newGroups));

        Assert.Equal(regroups, plan.Notes.Any(n => n.Contains("GroupNorm 'gn' regroups its channels", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_single_filter_flattened_keeps_its_columns_when_the_layer_widens()
    {
        // conv with one filter [B, 1, 3] → flatten → head: the filter's identity must survive the flatten of its
        // length-1 channel axis, so the head's three columns are copied and only the new filter's start at zero.
        ModelSide Build(NeuralSurgery.Schema.FeatureSchema schema, long filters)
        {
            var b = new GraphBuilder("Policy");
            var obs = b.FeatureInput("obs", Dim.Batch, schema.FindInput("obs")!.Width);
            var conv = b.Conv1d("conv", b.Unsqueeze(obs, 1), filters, 1);
            b.Output("logits", b.Linear("head", b.Flatten(b.Relu(conv), 1), schema.FindOutput("logits")!.Width));
            return ModelSide.Trace(b.Build(), schema);
        }

        var plan = MakePlan(Build(ParseSchema(Yaml(1, "[a, b, c]"), 1), 1), Build(ParseSchema(Yaml(2, "[a, b, c]"), 2), 2));

        Assert.Equal([0L, 1, 2, -1, -1, -1], Map(plan, "head.weight", 1));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("head.weight")!.RuleFor([0, 4]));
    }

    [Fact]
    public void A_new_feature_group_with_its_own_encoder_leaves_old_weights_untouched()
    {
        var old = Mlp(ParseSchema(Yaml(1, "[a, b]"), 1));
        var @new = Mlp(ParseSchema(Yaml(2, "[a, b]", extra: "[e1, e2, e3]"), 2));
        var plan = MakePlan(old, @new);
        Assert.Null(plan.FindTensor("extra_encoder.weight")!.Source);
        Assert.Equal(InitRule.Uniform(1 / Math.Sqrt(3)), plan.FindTensor("extra_encoder.weight")!.Init);
        // head columns: 4 fc1 units then 2 new encoder units, which start with zero fan-out.
        Assert.Equal([0L, 1, 2, 3, -1, -1], Map(plan, "head.weight", 1));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("head.weight")!.RuleFor([0, 5]));
        Assert.Contains(plan.Notes, n => n.Contains("'extra_encoder.weight' is new"));
        Assert.Equal(old.Graph.ParameterElementCount, plan.Totals.CopiedElements);
    }

    [Fact]
    public void Categorical_values_added_removed_and_reordered_move_embedding_rows()
    {
        var old = Mlp(ParseSchema(Yaml(1, "[a]", heroes: "[axe, bane, crystal_maiden]"), 1));
        var @new = Mlp(ParseSchema(Yaml(2, "[a]", heroes: "[crystal_maiden, axe, drow]"), 2));
        var plan = MakePlan(old, @new);
        Assert.Equal([2L, 0, -1], Map(plan, "hero_embedding.weight", 0));
        Assert.Equal([0L, 1, 2], Map(plan, "hero_embedding.weight", 1));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("hero_embedding.weight")!.RuleFor([2, 0]));
        var dropped = Assert.Single(plan.Dropped);
        Assert.Equal((DroppedKind.CategoricalValue, "hero_id=bane"), (dropped.Kind, dropped.Name));
    }

    [Fact]
    public void Output_action_added_gets_zero_weights_and_the_configured_bias()
    {
        var old = Mlp(ParseSchema(Yaml(1, "[a, b]"), 1));
        var @new = Mlp(ParseSchema(Yaml(2, "[a, b]", actions: "[noop, jump, move, attack]"), 2));
        var plan = MakePlan(old, @new, PlanOptions.Default with { NewOutputBias = -20 });
        Assert.Equal([0L, -1, 1, 2], Map(plan, "head.weight", 0));
        Assert.Equal([0L, -1, 1, 2], Map(plan, "head.bias", 0));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("head.weight")!.RuleFor([1, 0]));
        Assert.Equal(InitRule.Constant(-20), plan.FindTensor("head.bias")!.RuleFor([1]));
    }

    [Fact]
    public void Output_action_removed_is_reported()
    {
        var old = Mlp(ParseSchema(Yaml(1, "[a, b]"), 1));
        var @new = Mlp(ParseSchema(Yaml(2, "[a, b]", actions: "[noop, attack]"), 2));
        var plan = MakePlan(old, @new);
        Assert.Equal([0L, 2], Map(plan, "head.weight", 0));
        var dropped = Assert.Single(plan.Dropped);
        Assert.Equal((DroppedKind.OutputFeature, "logits.move"), (dropped.Kind, dropped.Name));
        Assert.Equal(new[] { new LostElements("head.bias", 1), new LostElements("head.weight", 4) }, dropped.Parameters.ToArray());
    }

    [Fact]
    public void Widened_hidden_layer_gets_default_rows_and_zero_fan_out()
    {
        var schema = ParseSchema(Yaml(1, "[a, b, c]"), 1);
        var plan = MakePlan(Mlp(schema, hidden: 4), Mlp(schema, hidden: 6));
        Assert.Equal([0L, 1, 2, 3, -1, -1], Map(plan, "fc1.weight", 0));
        Assert.Equal(InitRule.Uniform(1 / Math.Sqrt(3)), plan.FindTensor("fc1.weight")!.RuleFor([5, 0]));
        Assert.Equal(InitRule.Uniform(1 / Math.Sqrt(3)), plan.FindTensor("fc1.bias")!.RuleFor([4]));
        Assert.Equal([0L, 1, 2, 3, -1, -1], Map(plan, "head.weight", 1));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("head.weight")!.RuleFor([0, 4]));
        Assert.Empty(plan.Dropped);
    }

    [Fact]
    public void Narrowed_hidden_layer_reports_the_dropped_units()
    {
        var schema = ParseSchema(Yaml(1, "[a, b, c]"), 1);
        var plan = MakePlan(Mlp(schema, hidden: 6), Mlp(schema, hidden: 4));
        Assert.Equal([0L, 1, 2, 3], Map(plan, "fc1.weight", 0));
        var dropped = Assert.Single(plan.Dropped);
        Assert.Equal((DroppedKind.Units, "fc1"), (dropped.Kind, dropped.Name));
        Assert.Equal(new[] { new LostElements("fc1.bias", 2), new LostElements("fc1.weight", 6), new LostElements("head.weight", 6) }, dropped.Parameters.ToArray());
    }

    [Fact]
    public void Explicit_unit_map_selects_which_units_survive()
    {
        var schema = ParseSchema(Yaml(1, "[a, b, c]"), 1);
        var options = PlanOptions.Default with { UnitMaps = new[] { new UnitMap("fc1", new long[] { 5, 0, 2, -1 }) } };
        var plan = MakePlan(Mlp(schema, hidden: 6), Mlp(schema, hidden: 4), options);
        Assert.Equal([5L, 0, 2, -1], Map(plan, "fc1.weight", 0));
        Assert.Equal([5L, 0, 2, -1], Map(plan, "head.weight", 1));
    }

    [Fact]
    public void Renamed_module_keeps_its_weights()
    {
        var schema = ParseSchema(Yaml(1, "[a, b]"), 1);
        var old = Mlp(schema);
        var b = new NeuralSurgery.Graph.GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", NeuralSurgery.Graph.Dim.Batch, 2);
        b.Output("logits", b.Linear("head", b.Relu(b.Linear("encoder", obs, 4)), 3));
        var @new = ModelSide.Trace(b.Build(), schema);
        var plan = MakePlan(old, @new, PlanOptions.Default with { ModuleRenames = new[] { new ModuleRename("fc1", "encoder") } });
        Assert.Equal("fc1.weight", plan.FindTensor("encoder.weight")!.Source);
        Assert.Equal([0L, 1, 2, 3], Map(plan, "head.weight", 1));
        Assert.Equal(plan.Totals.TargetElements, plan.Totals.CopiedElements);
    }

    [Fact]
    public void A_new_module_reusing_a_renamed_modules_name_is_new()
    {
        // fc1 was renamed to encoder; the new model's fc1 is another layer and must not copy old fc1 again.
        var schema = ParseSchema(Yaml(1, "[a, b]"), 1);
        var old = Mlp(schema);
        var b = new NeuralSurgery.Graph.GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", NeuralSurgery.Graph.Dim.Batch, 2);
        b.Output("logits", b.Linear("head", b.Relu(b.Linear("fc1", b.Relu(b.Linear("encoder", obs, 4)), 4)), 3));
        var plan = MakePlan(old, ModelSide.Trace(b.Build(), schema), PlanOptions.Default with { ModuleRenames = new[] { new ModuleRename("fc1", "encoder") } });
        Assert.Equal("fc1.weight", plan.FindTensor("encoder.weight")!.Source);
        Assert.Null(plan.FindTensor("fc1.weight")!.Source);
        Assert.True(plan.Totals.ShareOfSource <= 1);
    }

    [Fact]
    public void Lstm_input_widened_keeps_every_gate_block()
    {
        var old = Recurrent(ParseSchema(Yaml(1, "[a, b]"), 1), core: 3, hidden: 2);
        var @new = Recurrent(ParseSchema(Yaml(2, "[a, b]"), 2), core: 5, hidden: 2);
        var plan = MakePlan(old, @new);
        Assert.Equal([0L, 1, 2, -1, -1], Map(plan, "lstm.weight_ih_l0", 1));
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6, 7], Map(plan, "lstm.weight_ih_l0", 0));
        Assert.Equal(InitRule.Zeros, plan.FindTensor("lstm.weight_ih_l0")!.RuleFor([0, 4]));
    }

    [Fact]
    public void Lstm_hidden_widened_maps_rows_per_gate_block()
    {
        var old = Recurrent(ParseSchema(Yaml(1, "[a, b]"), 1), core: 3, hidden: 2);
        var @new = Recurrent(ParseSchema(Yaml(2, "[a, b]"), 2), core: 3, hidden: 3);
        var plan = MakePlan(old, @new);
        // Rows are gate blocks i, f, g, o of H units: old H = 2, new H = 3.
        long[] rows = [0, 1, -1, 2, 3, -1, 4, 5, -1, 6, 7, -1];
        Assert.Equal(rows, Map(plan, "lstm.weight_ih_l0", 0));
        Assert.Equal(rows, Map(plan, "lstm.weight_hh_l0", 0));
        Assert.Equal(rows, Map(plan, "lstm.bias_hh_l0", 0));
        Assert.Equal([0L, 1, -1], Map(plan, "lstm.weight_hh_l0", 1));
        Assert.Equal([0L, 1, -1], Map(plan, "head.weight", 1));
        var whh = plan.FindTensor("lstm.weight_hh_l0")!;
        Assert.Equal(InitRule.Zeros, whh.RuleFor([0, 2]));
        Assert.Equal(InitRule.Uniform(1 / Math.Sqrt(3)), whh.RuleFor([2, 0]));
        Assert.Empty(plan.Dropped);
    }

    [Fact]
    public void OpenAi_five_v1_to_v2_copies_all_but_the_new_hero_columns()
    {
        var c = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(c, 2);
        var plan = MakePlan(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
        Assert.Equal(OpenAiFiveGraphs.ExpectedTransferredElements(c), plan.Totals.CopiedElements);
        Assert.Equal(g1.ParameterElementCount, plan.Totals.CopiedElements);
        Assert.Equal(g2.ParameterElementCount - (c.Encoder * 12), plan.Totals.CopiedElements);
        Assert.Empty(plan.Dropped);
        var encoder = plan.Tensors.Single(t => t.CopiedElements < t.TotalElements);
        Assert.Equal(c.Encoder * 12, encoder.TotalElements - encoder.CopiedElements);
    }

    [Fact]
    public void OpenAi_five_new_group_copies_all_old_weights()
    {
        var c = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        var (g2, s2) = OpenAiFiveGraphs.BuildWithNewGroup(c);
        var plan = MakePlan(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
        Assert.Equal(OpenAiFiveGraphs.ExpectedTransferredElementsWithNewGroup(c), plan.Totals.CopiedElements);
        Assert.Equal(1.0, plan.Totals.ShareOfSource);
        Assert.Empty(plan.Dropped);
    }
}

public class SurgeryDifferOptionErrorTests
{
    private static readonly ModelSide Old = Mlp(ParseSchema(Yaml(1, "[a, b, c]"), 1), hidden: 6);
    private static readonly ModelSide New = Mlp(ParseSchema(Yaml(2, "[a, b, c]"), 2), hidden: 4);

    [Fact]
    public void Rename_from_a_module_the_old_model_lacks_is_refused()
    {
        var e = Assert.Throws<PlanException>(() => MakePlan(Old, New, PlanOptions.Default with { ModuleRenames = new[] { new ModuleRename("encoder", "fc1") } }));
        Assert.Equal("module rename 'encoder' -> 'fc1': the old model 'Policy' has no module 'encoder'; expected one of 'fc1', 'head'", e.Message);
    }

    [Fact]
    public void Rename_to_a_module_the_new_model_lacks_is_refused()
    {
        var e = Assert.Throws<PlanException>(() => MakePlan(Old, New, PlanOptions.Default with { ModuleRenames = new[] { new ModuleRename("fc1", "encoder") } }));
        Assert.Contains("the new model 'Policy' has no module 'encoder'", e.Message);
    }

    [Fact]
    public void Unit_map_of_an_unknown_layer_is_refused()
    {
        var e = Assert.Throws<PlanException>(() => MakePlan(Old, New, PlanOptions.Default with { UnitMaps = new[] { new UnitMap("fc9", new long[] { 0 }) } }));
        Assert.Equal("unit map 'fc9': the new model has no layer units of that name; expected one of 'fc1', 'head'", e.Message);
    }

    [Theory]
    [InlineData(new long[] { 0, 1, 2 }, "unit map 'fc1' lists 3 sources but the layer has 4 units; expected one source (or -1) per unit")]
    [InlineData(new long[] { 0, 1, 1, -1 }, "unit map 'fc1' takes old unit 1 twice; each old unit can be copied once")]
    [InlineData(new long[] { 0, 1, 6, -1 }, "unit map 'fc1' takes old unit 6 but the old layer 'fc1' has 6 units")]
    [InlineData(new long[] { 0, 1, -2, -1 }, "unit map 'fc1' has source -2; expected an old unit index or -1")]
    public void Bad_unit_maps_are_refused_with_the_reason(long[] sources, string message)
    {
        var e = Assert.Throws<PlanException>(() => MakePlan(Old, New, PlanOptions.Default with { UnitMaps = new[] { new UnitMap("fc1", sources) } }));
        Assert.Equal(message, e.Message);
    }
}
