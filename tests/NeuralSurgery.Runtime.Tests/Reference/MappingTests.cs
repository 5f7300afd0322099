using System;
using NeuralSurgery.Diff;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Mapping;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Runtime.Tests.Reference;

public class MappingTests
{
    [Fact]
    public void Surgery_v1_to_v2_keeps_every_output_on_1000_random_states()
    {
        var (g1, s1) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 2);
        var v1 = ModelSide.Trace(g1, s1);
        var v2 = ModelSide.Trace(g2, s2);
        var plan = SurgeryDiffer.Diff(v1, v2);
        var oldWeights = ReferenceModel.Initialize(g1, 5).ToStateDict();
        var newWeights = PlanExecutor.ApplyInMemory(plan, oldWeights, seed: 6);

        var report = Verifier.Verify(g1, v1.Map.Features, oldWeights, g2, v2.Map.Features, newWeights, samples: 1000, seed: 7);
        Assert.Equal(OpenAiFiveGraphs.Small.HeadSizes.Count + 2, report.Outputs.Count);
        Assert.True(report.MaxAbsDifference <= 1e-5, $"max |F_old - F_new| = {report.MaxAbsDifference}");

        // Negative control: a changed transferred weight shows up.
        newWeights.Float32("core.weight")[0] += 0.5f;
        var broken = Verifier.Verify(g1, v1.Map.Features, oldWeights, g2, v2.Map.Features, newWeights, samples: 100, seed: 7);
        Assert.True(broken.MaxAbsDifference > 1e-3);
    }

    [Fact]
    public void Gradient_map_with_both_remedies_finds_every_boolean_interaction()
    {
        var (graph, schema) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 2);
        var boolean = ModelSide.Trace(graph, schema).Map;
        var remedied = GradientMapper.Map(graph, boolean.Features, new GradientMapOptions { Seed = 1, Init = new InitOptions { PositiveNonBias = true, ZeroBias = true }, AveragePool = true });
        var outside = remedied.CompareWith(boolean, p => !p.StartsWith("lstm.", StringComparison.Ordinal));
        Assert.True(outside.Found == 1, $"found {outside.CommonPairs} of {outside.BooleanPairs} boolean pairs outside the LSTM");
        Assert.Equal(outside.Elements, outside.EqualElements);

        // The real cell on one step from a zero cell state: the forget gate multiplies c0 = 0, so its rows (H..2H of
        // weight_ih and the biases) get no gradient and exactly a quarter of the LSTM's boolean pairs stay unfound;
        // nothing is found that the boolean map does not have (paper 001 section 2.3.3: gradients ⊆ sets).
        var lstm = remedied.CompareWith(boolean, p => p.StartsWith("lstm.", StringComparison.Ordinal));
        Assert.Equal(lstm.BooleanPairs * 3 / 4, lstm.CommonPairs);
        var all = remedied.CompareWith(boolean);
        Assert.Equal(all.CommonPairs, all.GradientPairs);

        // Random weights (biases still 0, else a bias alone makes units non-zero) find a subset: negative weights
        // switch ReLUs off and max passes gradient to one unit (paper 001 Table 3).
        var plain = GradientMapper.Map(graph, boolean.Features, new GradientMapOptions { Seed = 1, Init = new InitOptions { ZeroBias = true } }).CompareWith(boolean);
        Assert.Equal(plain.CommonPairs, plain.GradientPairs);
        Assert.True(plain.CommonPairs < all.CommonPairs, $"random init found {plain.CommonPairs} pairs, the remedies {all.CommonPairs}");
    }
}
