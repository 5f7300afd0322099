using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Plan;
using NeuralSurgery.Tests.Support;
using static NeuralSurgery.Tests.Diff.DiffModels;

namespace NeuralSurgery.Tests.Diff;

/// <summary>
/// Paper 001 eq. 1 on numbers: after a plan is applied to random weights, the new model computes what the old
/// one did on every state (new features and new state units take random values). Removals are excluded: they
/// change outputs by definition and are reported as dropped instead.
/// </summary>
public class FunctionPreservationTests
{
    private const double Tolerance = 1e-9;

    public static TheoryData<string, string, string?, string, string?, string?, long, long> MlpCases => new()
    {
        // old obs, new obs, new heroes (old: [axe, bane]), new actions, renames, extra group, old hidden, new hidden
        { "[a, b, c]", "[a, b, c, d]", null, "[noop, move, attack]", null, null, 4, 4 },
        { "[a, b, c]", "[a, x, b, c]", null, "[noop, move, attack]", null, null, 4, 4 },
        { "[a, b, c]", "[c, a, b]", null, "[noop, move, attack]", null, null, 4, 4 },
        { "[a, b, c]", "[a, b2, c]", null, "[noop, move, attack]", "  b: b2\n", null, 4, 4 },
        { "[a, {name: p, width: 2}]", "[{name: p, width: 3}, a]", null, "[noop, move, attack]", null, null, 4, 4 },
        { "[a, b]", "[a, b]", "[bane, drow, axe]", "[noop, move, attack]", null, null, 4, 4 },
        { "[a, b]", "[a, b]", null, "[noop, jump, move, attack, flee]", null, null, 4, 4 },
        { "[a, b]", "[a, b]", null, "[noop, move, attack]", null, "[e1, e2]", 4, 4 },
        { "[a, b]", "[a, z, b]", null, "[noop, move, attack]", null, null, 4, 7 },
    };

    [Theory]
    [MemberData(nameof(MlpCases))]
    public void Mlp_surgeries_preserve_outputs(string oldObs, string newObs, string? heroes, string actions, string? renames, string? extra, long oldHidden, long newHidden)
    {
        var old = Mlp(ParseSchema(Yaml(1, oldObs, heroes: heroes is null ? null : "[axe, bane]"), 1), hidden: oldHidden);
        var @new = Mlp(ParseSchema(Yaml(2, newObs, heroes: heroes, actions: actions, renames: renames, extra: extra), 2), hidden: newHidden);
        var plan = MakePlan(old, @new, PlanOptions.Default with { NewOutputBias = -3 });
        Assert.True(Review.ReviewNumeric.MaxOutputDifference(old, @new, plan, states: 20, seed: 7) < Tolerance);
    }

    [Theory]
    [InlineData(3, 2, 5, 2)]
    [InlineData(3, 2, 3, 4)]
    [InlineData(3, 2, 6, 5)]
    public void Lstm_surgeries_preserve_outputs(long oldCore, long oldHidden, long newCore, long newHidden)
    {
        var old = Recurrent(ParseSchema(Yaml(1, "[a, b]"), 1), oldCore, oldHidden);
        var @new = Recurrent(ParseSchema(Yaml(2, "[a, q, b]"), 2), newCore, newHidden);
        var plan = MakePlan(old, @new);
        Assert.True(Review.ReviewNumeric.MaxOutputDifference(old, @new, plan, states: 20, seed: 11) < Tolerance);
    }

    [Fact]
    public void OpenAi_five_v1_to_v2_preserves_outputs()
    {
        var c = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        foreach (var (g2, s2) in new[] { OpenAiFiveGraphs.Build(c, 2), OpenAiFiveGraphs.BuildWithNewGroup(c) })
        {
            var old = ModelSide.Trace(g1, s1);
            var @new = ModelSide.Trace(g2, s2);
            var plan = SurgeryDiffer.Diff(old, @new);
            Assert.True(Review.ReviewNumeric.MaxOutputDifference(old, @new, plan, states: 10, seed: 3) < Tolerance);
        }
    }

    [Fact]
    public void The_check_detects_a_plan_that_does_not_preserve_outputs()
    {
        var old = Mlp(ParseSchema(Yaml(1, "[a, b, c]"), 1));
        var @new = Mlp(ParseSchema(Yaml(2, "[a, b, c, d]"), 2));
        var plan = MakePlan(old, @new);
        // Break the rule for the new column: uniform instead of zero.
        var broken = plan with
        {
            Tensors = plan.Tensors.Select(t => t.Name == "fc1.weight"
                ? t with { Axes = t.Axes.Select(a => a.Role == AxisRole.Input ? a with { Unmapped = InitRule.Uniform(1) } : a).ToEquatableArray() }
                : t).ToEquatableArray(),
        };
        Assert.True(Review.ReviewNumeric.MaxOutputDifference(old, @new, broken, states: 20, seed: 7) > 1e-3);
    }
}
