using System;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;
using static NeuralSurgery.Tests.Diff.DiffModels;

namespace NeuralSurgery.Tests.Snapshots;

public class SnapshotTests
{
    private static ModelSnapshot Snapshot(int version, string yaml, long hidden = 4) =>
        ModelSnapshot.Create("Policy", "Game.Policy", version, "policy.features.yaml", yaml, Mlp(ParseSchema(yaml, version), hidden).Graph);

    [Fact]
    public void A_snapshot_reads_back_equal_and_its_fingerprint_follows_meaning_not_layout()
    {
        var yaml = Yaml(1, "[a, b, c]", "[axe, bane]");
        var snapshot = Snapshot(1, yaml.Replace("\n", "\r\n", StringComparison.Ordinal));
        var json = SnapshotJson.Write(snapshot);
        Assert.Equal(snapshot, SnapshotJson.Read(json, "Policy.v1.snapshot.json"));
        Assert.Contains("\"    features: [a, b, c]\",", json, StringComparison.Ordinal);

        // Comments, the version number and renames change no weight; a reorder does.
        Assert.Equal(snapshot.Fingerprint, Snapshot(2, "# policy\n" + Yaml(7, "[a, b, c]", "[axe, bane]", renames: "  x: a\n")).Fingerprint);
        Assert.NotEqual(snapshot.Fingerprint, Snapshot(2, Yaml(1, "[b, a, c]", "[axe, bane]")).Fingerprint);
        Assert.NotEqual(snapshot.Fingerprint, Snapshot(2, yaml, hidden: 5).Fingerprint);
    }

    [Fact]
    public void A_chain_with_a_gap_or_a_duplicate_says_which()
    {
        var v1 = Snapshot(1, Yaml(1, "[a, b]"));
        var v3 = Snapshot(3, Yaml(3, "[a, b, c]"));
        SnapshotChain.Of("Policy", [v1, v3], out var gap);
        Assert.Equal("the snapshots of Policy skip v2: a checkpoint of an earlier version cannot be upgraded past the gap", gap);
        SnapshotChain.Of("Policy", [v1, v1], out var twice);
        Assert.Equal("two snapshots of Policy claim version 1", twice);
        var chain = SnapshotChain.Of("Policy", [v3 with { Version = 2 }, v1, Snapshot(1, Yaml(1, "[z]")) with { Model = "Other" }], out var none);
        Assert.Null(none);
        Assert.Equal([1, 2], chain.Versions.Select(s => s.Version));
        Assert.Single(chain.Steps(1, 2));
    }

    /// <summary>Issue 15: a version made by a unit removal records that plan as its step; the chain follows it and checks it fits.</summary>
    [Fact]
    public void A_recorded_step_is_the_chain_step_and_must_fit_both_versions()
    {
        var yaml = Yaml(1, "[a, b]");
        var schema = ParseSchema(yaml, 1);
        var v1 = Snapshot(1, yaml, hidden: 6);
        var removal = UnitRemoval.Plan(Mlp(schema, hidden: 6), "fc1", [1, 4]);
        var v2 = ModelSnapshot.Create("Policy", "Game.Policy", 2, "policy.features.yaml", yaml, removal.Narrowed, removal.Plan);

        // The narrowed graph is the class at width 4, so the plan leads to that class's fingerprint.
        Assert.Equal(Snapshot(2, yaml, hidden: 4).Fingerprint, v2.Fingerprint);
        Assert.Equal(v2, SnapshotJson.Read(SnapshotJson.Write(v2), "Policy.v2.snapshot.json"));
        var chain = SnapshotChain.Of("Policy", [v1, v2], out var problem);
        Assert.Null(problem);
        Assert.Equal(removal.Plan, Assert.Single(chain.Steps(1, 2)));
        Assert.NotEqual(removal.Plan, SurgeryPlanner.Plan(v1.Graph, schema, v2.Graph, schema).Plan); // the differ keeps units 0..3

        // A step made from another version, or one that leads elsewhere, is refused.
        SnapshotChain.Of("Policy", [Snapshot(1, yaml, hidden: 7), v2], out var other);
        Assert.StartsWith("Policy v2 records a step from Policy " + v1.Fingerprint[..12] + " (schema version 1), but Policy v1 is ", other, StringComparison.Ordinal);
        Assert.EndsWith("the step was made for another version", other, StringComparison.Ordinal);
        var error = Assert.Throws<ArgumentException>(() => ModelSnapshot.Create("Policy", "Game.Policy", 2, "policy.features.yaml", yaml, Mlp(schema, hidden: 5).Graph, removal.Plan));
        Assert.Contains("the step plan leads to Policy " + v2.Fingerprint[..12] + " (schema version 1), not to this Policy", error.Message, StringComparison.Ordinal);
        var json = SnapshotJson.Write(v2);
        var last = json.LastIndexOf(v2.Fingerprint, StringComparison.Ordinal); // the step's "to"
        var edited = json[..last] + Snapshot(2, yaml, hidden: 5).Fingerprint + json[(last + v2.Fingerprint.Length)..];
        var read = Assert.Throws<JsonFormatException>(() => SnapshotJson.Read(edited, "Policy.v2.snapshot.json"));
        Assert.Contains("$.step", read.Message, StringComparison.Ordinal);
        Assert.Contains("the recorded step plan leads to Policy " + Snapshot(2, yaml, hidden: 5).Fingerprint[..12] + " (schema version 1)", read.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A mean-replacement plan adds bias terms measured on one checkpoint: as a chain step they would shift every other
    /// checkpoint, so the step keeps the units only (and plans between two classes are no steps at all).
    /// </summary>
    [Fact]
    public void A_step_taken_from_a_plan_keeps_its_units_and_none_of_its_measured_values()
    {
        var yaml = Yaml(1, "[a, b]");
        var schema = ParseSchema(yaml, 1);
        var side = Mlp(schema, hidden: 6);
        var removal = UnitRemoval.Plan(side, "fc1", [2]);
        var bias = removal.Plan.FindTensor("head.bias")!;
        var measured = removal.Plan with
        {
            Tensors = removal.Plan.Tensors.Select(t => t.Name == "head.bias" ? t with { Add = Enumerable.Repeat(0.25, (int)t.TotalElements).ToEquatableArray() } : t).ToEquatableArray(),
        };

        var step = SnapshotSteps.FromPlan(measured, side.Graph, schema, removal.Narrowed, schema)!;
        Assert.All(step.Tensors, t => Assert.Empty(t.Add));
        Assert.Equal(removal.Plan.Tensors, step.Tensors);
        Assert.Contains(step.Notes, n => n.Contains("not part of the step, so other checkpoints get zero replacement", StringComparison.Ordinal));
        Assert.Equal(bias.Shape, step.FindTensor("head.bias")!.Shape);
        Assert.Null(SnapshotSteps.FromPlan(SurgeryPlanner.Plan(side.Graph, schema, removal.Narrowed, schema).Plan, side.Graph, schema, removal.Narrowed, schema));
    }

    [Fact]
    public void Unit_maps_of_plans_made_one_after_the_other_compose_and_a_broken_chain_is_refused()
    {
        var schema = ParseSchema(Yaml(1, "[a, b]"), 1);
        var removal = UnitRemoval.Plan(Mlp(schema, hidden: 4), "fc1", [1]);               // keeps 0 2 3
        var growth = UnitGrowth.Plan(ModelSide.Trace(removal.Narrowed, schema), "fc1", 2); // 3 kept, 2 new
        Assert.Equal([0L, 2, 3, -1, -1], Assert.Single(SnapshotSteps.ComposeUnitMaps([removal.Plan, growth.Plan])).Sources);

        var error = Assert.Throws<ArgumentException>(() => SnapshotSteps.ComposeUnitMaps([growth.Plan, removal.Plan]));
        Assert.Contains("plan 2 starts from Policy ", error.Message, StringComparison.Ordinal);
        Assert.Contains("the plans are not a chain", error.Message, StringComparison.Ordinal);

        // Chains are found through the fingerprints, shortest first, each plan once.
        var chains = SnapshotSteps.Chains([growth.Plan, removal.Plan], p => p, removal.Plan.From.Fingerprint!, growth.Plan.To.Fingerprint!);
        Assert.Equal([removal.Plan, growth.Plan], Assert.Single(chains));
        Assert.Empty(SnapshotSteps.Chains([removal.Plan], p => p, growth.Plan.To.Fingerprint!, removal.Plan.From.Fingerprint!));
    }

    [Fact]
    public void Width_changes_follow_a_plan_that_only_resizes_and_nothing_else()
    {
        var schema = ParseSchema(Yaml(1, "[a, b]"), 1);
        var side = Mlp(schema, hidden: 6);
        var removal = UnitRemoval.Plan(side, "fc1", [0]);
        var target = WidthChanges.TargetOf(side.Graph, removal.Plan)!;
        Assert.Equal(
            [new WidthChange("fc1", "Linear", "outputSize", 1, 6, 5), new WidthChange("head", "Linear", "inputSize", 0, 6, 5)],
            WidthChanges.Between(side.Graph, target));
        Assert.Same(side.Graph, WidthChanges.TargetOf(side.Graph, SurgeryPlanner.Plan(side.Graph, schema, side.Graph, schema).Plan));

        // A plan that adds a parameter (a new input's encoder) is not a change of widths.
        var grown = ParseSchema(Yaml(2, "[a, b]", extra: "[e]"), 2);
        Assert.Null(WidthChanges.TargetOf(side.Graph, SurgeryPlanner.Plan(side.Graph, schema, Mlp(grown, hidden: 6).Graph, grown).Plan));
    }

    [Fact]
    public void Changes_are_described_in_words()
    {
        var old = ParseSchema(Yaml(1, "[a, b, c]", "[axe, bane]"), 1);
        var now = ParseSchema(Yaml(2, "[c, a2, d]", "[axe, bane, lich]", "[noop, move, attack, cast]", renames: "  a: a2\n"), 2);
        var changes = ModelChanges.Describe(Mlp(old).Graph, old, Mlp(now, hidden: 6).Graph, now);
        Assert.Equal(
            [
                "input 'obs': feature added: 'd'",
                "input 'obs': feature removed: 'b'",
                "input 'obs': renamed 'a' -> 'a2'",
                "input 'obs': features reordered: 'a2', 'c' -> 'c', 'a2'",
                "input 'hero_id': categorical value added: 'lich'",
                "output 'logits': feature added: 'cast'",
                "parameter 'fc1.weight' [4, 3] -> [6, 3]",
                "parameter 'fc1.bias' [4] -> [6]",
                "parameter 'hero_embedding.weight' [2, 3] -> [3, 3]",
                "parameter 'head.weight' [3, 7] -> [4, 9]",
                "parameter 'head.bias' [3] -> [4]",
            ],
            changes);
        Assert.Empty(ModelChanges.Describe(Mlp(old).Graph, old, Mlp(old).Graph, old));
    }
}
