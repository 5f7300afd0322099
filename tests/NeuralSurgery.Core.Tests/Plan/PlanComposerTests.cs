using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using static NeuralSurgery.Tests.Diff.DiffModels;

namespace NeuralSurgery.Tests.Diff;

/// <summary>
/// Issue 13: a chain of step plans composed into one plan gives every element what applying the steps in sequence
/// gives it, or says which tensors it cannot (and those are exactly the tensors where some element differs).
/// </summary>
public class PlanComposerTests
{
    /// <summary>Where an element of the last version comes from: a copy of a first-version element, or an init.</summary>
    private readonly record struct Provenance(string? CopiedFrom, long SourceElement, InitRule? Rule, string? Stream, long StreamElement);

    [Fact]
    public void Random_evolution_chains_compose_into_the_plan_of_sequential_application_element_for_element()
    {
        var exact = 0;
        var inexact = 0;
        for (var seed = 1; seed <= 150; seed++)
        {
            var rng = new Random(seed);
            var versions = Evolve(rng, 2 + rng.Next(4));
            var steps = new List<SurgeryPlan>();
            for (var v = 1; v < versions.Count; v++)
            {
                steps.Add(SurgeryPlanner.Plan(versions[v - 1].Graph, versions[v - 1].Schema, versions[v].Graph, versions[v].Schema).Plan);
            }

            var composition = PlanComposer.Compose(steps);
            var plan = composition.Plan;

            // A plan like any other: it survives its own JSON checks (segments tile axes, counts agree).
            Assert.Equal(plan, PlanJson.Read(PlanJson.Write(plan)));
            Assert.Equal(steps[0].From, plan.From);
            Assert.Equal(steps[^1].To, plan.To);

            var differing = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tensor in plan.Tensors)
            {
                foreach (var element in Elements(tensor.Shape))
                {
                    if (Sequential(steps, tensor.Name, element) != Sequential([plan], tensor.Name, element))
                    {
                        differing.Add(tensor.Name);
                    }
                }
            }

            var reported = composition.Inexact.Select(line => line[1..line.IndexOf('\'', 1)]).ToHashSet(StringComparer.Ordinal);
            Assert.True(differing.SetEquals(reported), $"seed {seed}: differing [{string.Join(", ", differing)}], reported:\n{string.Join("\n", composition.Inexact)}\nsteps: {string.Join(" / ", steps.Select(s => string.Join(", ", s.Tensors.Select(t => t.Name + (t.Source is null ? "(new)" : string.Empty) + "[" + string.Join(",", t.Shape) + "]"))))}");
            if (composition.IsExact)
            {
                exact++;
            }
            else
            {
                inexact++;
            }
        }

        // Both outcomes occur, so neither branch of the property is vacuous.
        Assert.True(exact > 0 && inexact > 0, $"exact {exact}, inexact {inexact}");
    }

    [Fact]
    public void A_feature_a_middle_step_drops_is_reported_when_the_last_version_has_it_again()
    {
        var v1 = Version(1, "[a, b, c]");
        var v2 = Version(2, "[a, c]");
        var v3 = Version(3, "[a, b, c]");
        var steps = new[] { Step(v1, v2), Step(v2, v3) };
        var composition = PlanComposer.Compose(steps);
        Assert.True(composition.IsExact, string.Join("\n", composition.Inexact));

        var direct = Step(v1, v3);
        var lost = PlanComposer.LostInTheMiddle(composition.Plan, direct);
        Assert.Equal(["'fc1.weight': the chain copies 8 of its 12 elements, a direct plan 12: a middle step dropped 4 the last version has again"], lost);
        Assert.True(composition.Plan.Dropped.Any(d => d.Kind == DroppedKind.Feature), string.Join(", ", composition.Plan.Dropped.Select(d => d.Kind + " " + d.Name)));
        Assert.Contains(composition.Plan.Notes, n => n.StartsWith("Policy v1 -> Policy v2 drops feature '", StringComparison.Ordinal) && n.EndsWith("even if Policy v3 has it again", StringComparison.Ordinal));

        // The column of b is zero in v3, as sequential application leaves it.
        Assert.Equal([0L, -1, 2], Map(composition.Plan, "fc1.weight", 1));
    }

    [Fact]
    public void A_column_new_in_one_step_and_a_row_new_in_a_later_one_compose_exactly()
    {
        // v2 adds feature d (a zero column of fc1), v3 widens fc1 (random rows): the new rows' column d is random in
        // sequential application, so the composed plan initialises rows before columns.
        var v1 = Version(1, "[a, b, c]");
        var v2 = Version(2, "[b, a, c, d]");
        var v3 = Version(3, "[b, a, c, d]", hidden: 8);
        var composition = PlanComposer.Compose([Step(v1, v2), Step(v2, v3)]);
        Assert.True(composition.IsExact, string.Join("\n", composition.Inexact));
        Assert.Equal([0, 1], composition.Plan.FindTensor("fc1.weight")!.InitOrder);
    }

    [Fact]
    public void A_scalar_buffer_composes_like_any_tensor()
    {
        // BatchNorm1d's num_batches_tracked has rank 0: copied along the chain, element for element.
        static ModelSide Normed(int version, string obs, long hidden)
        {
            var schema = ParseSchema(Yaml(version, obs), version);
            var b = new NeuralSurgery.Graph.GraphBuilder("Policy");
            var x = b.FeatureInput("obs", NeuralSurgery.Graph.Dim.Batch, schema.FindInput("obs")!.Width);
            b.Output("logits", b.Linear("head", b.BatchNorm1d("bn", b.Linear("fc1", x, hidden)), schema.FindOutput("logits")!.Width));
            return ModelSide.Trace(b.Build(), schema);
        }

        var steps = new[] { Step(Normed(1, "[a, b]", 4), Normed(2, "[a, b, c]", 4)), Step(Normed(2, "[a, b, c]", 4), Normed(3, "[a, b, c]", 6)) };
        var composition = PlanComposer.Compose(steps);
        var counter = composition.Plan.FindTensor("bn.num_batches_tracked")!;
        Assert.Equal("bn.num_batches_tracked", counter.Source);
        Assert.Empty(counter.Shape);
        foreach (var tensor in composition.Plan.Tensors)
        {
            foreach (var element in Elements(tensor.Shape))
            {
                Assert.Equal(Sequential(steps, tensor.Name, element), Sequential([composition.Plan], tensor.Name, element));
            }
        }
    }

    [Fact]
    public void Steps_that_do_not_chain_are_refused()
    {
        var v1 = Version(1, "[a, b]");
        var v2 = Version(2, "[a, b, c]");
        var ex = Assert.Throws<PlanException>(() => PlanComposer.Compose([Step(v1, v2), Step(v1, v2)]));
        Assert.Contains("step 2 starts at Policy v1, but step 1 ends at Policy v2", ex.Message, StringComparison.Ordinal);
    }

    private static ModelSide Version(int version, string obs, long hidden = 4) => Mlp(ParseSchema(Yaml(version, obs), version), hidden);

    private static SurgeryPlan Step(ModelSide from, ModelSide to) => SurgeryPlanner.Plan(from.Graph, from.Schema, to.Graph, to.Schema).Plan;

    /// <summary>A chain of versions of one policy: features added, removed and reordered, heroes and actions added, the hidden layer resized.</summary>
    private static List<ModelSide> Evolve(Random rng, int count)
    {
        var obs = new List<string> { "a", "b", "c" };
        var heroes = new List<string> { "axe", "bane" };
        var actions = new List<string> { "noop", "move", "attack" };
        long hidden = 4;
        var next = 0;
        var result = new List<ModelSide>();
        for (var v = 1; v <= count; v++)
        {
            if (v > 1)
            {
                switch (rng.Next(6))
                {
                    case 0:
                        obs.Insert(rng.Next(obs.Count + 1), "n" + next++);
                        break;
                    case 1 when obs.Count > 1:
                        obs.RemoveAt(rng.Next(obs.Count));
                        break;
                    case 2:
                        obs = obs.OrderBy(_ => rng.Next()).ToList();
                        break;
                    case 3:
                        heroes.Insert(rng.Next(heroes.Count + 1), "h" + next++);
                        break;
                    case 4:
                        actions.Add("act" + next++);
                        break;
                    default:
                        hidden = Math.Max(2, hidden + rng.Next(-2, 4));
                        break;
                }
            }

            var yaml = Yaml(v, "[" + string.Join(", ", obs) + "]", "[" + string.Join(", ", heroes) + "]", "[" + string.Join(", ", actions) + "]");
            result.Add(Mlp(ParseSchema(yaml, v), hidden));
        }

        return result;
    }

    /// <summary>Applies <paramref name="steps"/> to one element of the last version's tensor, symbolically.</summary>
    private static Provenance Sequential(IReadOnlyList<SurgeryPlan> steps, string tensor, long[] index)
    {
        var name = tensor;
        var at = index;
        for (var k = steps.Count - 1; k >= 0; k--)
        {
            var plan = steps[k].FindTensor(name)!;
            if (plan.RuleFor(at) is { } rule)
            {
                // Random values are drawn per tensor name and element; a fixed rule's value is the same anywhere.
                var random = rule.Kind is InitKind.Uniform or InitKind.Normal;
                return new Provenance(null, 0, rule, random ? plan.Name : null, random ? Flat(plan.Shape, at) : 0);
            }

            at = at.Select((i, a) => plan.Axes[a].SourceIndex(i)).ToArray();
            name = plan.Source!;
            if (k == 0)
            {
                return new Provenance(name, Flat(plan.SourceShape, at), null, null, 0);
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    private static long Flat(IReadOnlyList<long> shape, long[] index)
    {
        long flat = 0;
        for (var a = 0; a < shape.Count; a++)
        {
            flat = (flat * shape[a]) + index[a];
        }

        return flat;
    }

    private static IEnumerable<long[]> Elements(IReadOnlyList<long> shape)
    {
        var total = shape.Aggregate(1L, (x, y) => x * y);
        for (long e = 0; e < total; e++)
        {
            var index = new long[shape.Count];
            var rest = e;
            for (var a = shape.Count - 1; a >= 0; a--)
            {
                index[a] = rest % shape[a];
                rest /= shape[a];
            }

            yield return index;
        }
    }
}
