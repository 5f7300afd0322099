using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests.Tracing;

/// <summary>
/// The worked example of docs/mirror.md (two features → Linear → ReLU → Linear, then a third feature added): every
/// number the page states, so the page cannot drift from the tracers and the differ.
/// </summary>
public class MirrorWorkedExampleTests
{
    private static ModelSide Tiny(string features, long inFeatures, int version)
    {
        var schema = FeatureSchemaReader.ParseOrThrow(
            $"model: Tiny\nversion: {version}\ninputs:\n  x:\n    features: [{features}]\noutputs:\n  y:\n    features: [attack, retreat]\n",
            "tiny.features.yaml");
        var b = new GraphBuilder("Tiny");
        var x = b.FeatureInput("x", Dim.Batch, inFeatures);
        b.Output("y", b.Linear("fc2", b.Relu(b.Linear("fc1", x, 3)), 2));
        return ModelSide.Trace(b.Build(), schema);
    }

    [Fact]
    public void Phi_of_the_tiny_model_is_what_the_page_says_with_both_tracers()
    {
        var side = Tiny("health, mana", 2, 1);
        var map = side.Map;
        Assert.Equal(0, map.Features.FeatureSlots("x", "health")!.Value.Start);
        Assert.Equal(1, map.Features.FeatureSlots("x", "mana")!.Value.Start);
        var health = FeatureSet.Range(0, 1);
        var mana = FeatureSet.Range(1, 1);
        var both = FeatureSet.Range(0, 2);

        var expected = new (string Parameter, long[] Index, FeatureSet Features)[]
        {
            ("fc1.weight", [2, 0], health),
            ("fc1.weight", [0, 1], mana),
            ("fc1.bias", [1], both),
            ("fc2.weight", [1, 2], both),
            ("fc2.bias", [0], both),
        };
        var reference = ReferenceTracer.Trace(side.Graph, map.Features);
        foreach (var (parameter, index, features) in expected)
        {
            Assert.Equal(features, map.FeaturesAt(parameter, index));

            // The reference tracer's per-element sets are row-major over the parameter's shape.
            var shape = side.Graph.Parameters.Single(p => p.Name == parameter).Shape.Dims.Select(d => d.Value).ToArray();
            var flat = index.Length == 1 ? index[0] : (index[0] * shape[1]) + index[1];
            Assert.Equal(features, reference.Parameters[parameter][flat]);
        }

        // Rows of fc1 and columns of fc2 carry fc1's unit identities; fc1's columns carry the feature slots.
        var fc1 = map.KeySpaces.Single(s => s.Name == "fc1").Id;
        var slots = map.KeySpaces.Single(s => s.Kind == KeySpaceKind.Slots).Id;
        var fc1Weight = Assert.Single(map["fc1.weight"].Blocks);
        Assert.Equal([(fc1, 0L), (fc1, 1L), (fc1, 2L)], Enumerable.Range(0, 3).Select(i => fc1Weight.Axes[0].KeysAt(i).Single()));
        Assert.Equal([(slots, 0L), (slots, 1L)], Enumerable.Range(0, 2).Select(i => fc1Weight.Axes[1].KeysAt(i).Single()));
        var fc2Weight = Assert.Single(map["fc2.weight"].Blocks);
        Assert.Equal([(fc1, 0L), (fc1, 1L), (fc1, 2L)], Enumerable.Range(0, 3).Select(i => fc2Weight.Axes[1].KeysAt(i).Single()));

        // health: column 0 of fc1.weight (3), fc1.bias (3), fc2.weight (6), fc2.bias (2); 28 pairs in all.
        var interactions = map.InteractionsOf("x", "health").ToDictionary(i => i.Parameter, i => i.Elements);
        Assert.Equal(3, interactions["fc1.weight"]);
        Assert.Equal("[0:3, 0]", map.InteractionsOf("x", "health").Single(i => i.Parameter == "fc1.weight").Regions.Single().ToString());
        Assert.Equal(3, interactions["fc1.bias"]);
        Assert.Equal(6, interactions["fc2.weight"]);
        Assert.Equal(2, interactions["fc2.bias"]);
        Assert.Equal(28, map.InteractionCount());
        Assert.Empty(map.UnmappedFeatures());
    }

    [Fact]
    public void Adding_a_feature_leaves_only_its_new_column_uncopied()
    {
        var plan = SurgeryDiffer.Diff(Tiny("health, mana", 2, 1), Tiny("health, mana, armor", 3, 2));

        var fc1 = plan.FindTensor("fc1.weight")!;
        Assert.Equal((6L, 9L), (fc1.CopiedElements, fc1.TotalElements));
        Assert.Equal(-1, fc1.Axes[1].SourceIndex(2));
        Assert.Equal(InitKind.Zeros, fc1.Axes[1].Unmapped.Kind);
        Assert.All(new[] { "fc1.bias", "fc2.weight", "fc2.bias" }, name => Assert.Equal(plan.FindTensor(name)!.TotalElements, plan.FindTensor(name)!.CopiedElements));
        Assert.Equal(new PlanTotals(17, 20, 17), plan.Totals);
    }
}
