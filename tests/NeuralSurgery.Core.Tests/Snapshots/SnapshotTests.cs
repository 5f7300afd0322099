using System;
using System.Linq;
using NeuralSurgery.Json;
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
