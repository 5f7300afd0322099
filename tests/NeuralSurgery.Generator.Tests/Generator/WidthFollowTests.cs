using System;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Diff;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>
/// Issue 15, "the model class follows": a unit removal made outside the build (surgery prune) is a plan file in the
/// project. While the class still has the old widths, NS2009 points at each literal that decides a changed width;
/// once the class has the plan's widths, the snapshot step is that plan, not the differ's by-index map.
/// </summary>
public class WidthFollowTests
{
    private const string PlanPath = "/repo/models/checkpoints/pruned.plan.json";

    private static string Text(string source, Location location) => source.Substring(location.SourceSpan.Start, location.SourceSpan.Length);

    /// <summary>Units 1 and 5 of the encoder removed from the class as <paramref name="source"/> has it.</summary>
    private static SurgeryPlan Pruning(string source, string schema, params long[] units)
    {
        var v = SnapshotGeneratorTests.Snapshot(1, source, schema);
        return UnitRemoval.Plan(ModelSide.Trace(v.Graph, FeatureSchemaReader.ParseOrThrow(schema, "policy.features.yaml")), "encoder", units).Plan;
    }

    [Fact]
    public void A_plan_made_from_the_class_is_NS2009_at_each_literal_that_decides_a_changed_width()
    {
        var source = SnapshotGeneratorTests.Source(8);
        var schema = SnapshotGeneratorTests.Schema(1);
        var plan = Pruning(source, schema, 1, 5);
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            new InMemoryAdditionalText(PlanPath, PlanJson.Write(plan)));

        // The field initialisers write 8 twice: encoder's outputSize and head's inputSize, one literal each.
        var found = diagnostics.Where(d => d.Id == "NS2009").OrderBy(d => d.Location.SourceSpan.Start).ToList();
        Assert.Equal(2, found.Count);
        Assert.All(found, d =>
        {
            Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
            Assert.Equal("8", Text(source, d.Location));
            Assert.Equal("6", d.Properties["Size"]);
            Assert.Equal(d.Location, Assert.Single(d.AdditionalLocations));
        });
        Assert.Equal(
            "the literal 8 sets encoder.outputSize to 8, but after the plan 'pruned.plan.json' (made from this class) it is 6: write 6 here so the class matches the checkpoints written after it (other callers that pass their own value must change too)",
            found[0].GetMessage(CultureInfo.InvariantCulture));
        Assert.Contains("sets head.inputSize to 8", found[1].GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        // Nothing about snapshots: the model has none.
        Assert.DoesNotContain(diagnostics, d => d.Id is "NS2005" or "NS2010");
    }

    [Fact]
    public void A_constructor_parameter_that_also_sizes_a_layer_the_plan_leaves_alone_is_reported_without_a_fix()
    {
        const string source = """
            using NeuralSurgery;
            using TorchSharp;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            namespace Game.Models;

            [SurgeryModel("policy.features.yaml")]
            public sealed partial class Policy : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.Linear encoder;
                private readonly TorchSharp.Modules.Linear mid;
                private readonly TorchSharp.Modules.Linear head;

                public Policy(long hidden = 8) : base(nameof(Policy))
                {
                    encoder = Linear(3, hidden);
                    mid = Linear(hidden, hidden);
                    head = Linear(hidden, 2);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor obs) => head.forward(functional.relu(mid.forward(functional.relu(encoder.forward(obs)))));
            }
            """;
        var schema = SnapshotGeneratorTests.Schema(1);
        var plan = Pruning(source, schema, 0);
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            new InMemoryAdditionalText(PlanPath, PlanJson.Write(plan)));

        var ns2009 = Assert.Single(diagnostics, d => d.Id == "NS2009");
        Assert.Equal("8", Text(source, ns2009.Location)); // the default: what decides the width
        Assert.Empty(ns2009.AdditionalLocations);
        Assert.False(ns2009.Properties.ContainsKey("Size"));
        Assert.Equal(
            "parameter 'hidden' (its default, 8) sets encoder.outputSize, mid.inputSize to 8, but after the plan 'pruned.plan.json' (made from this class) they are 7: one value cannot say both (it also sets mid.outputSize, head.inputSize, which the plan leaves as it is); give each layer its own width",
            ns2009.GetMessage(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Once_the_class_has_the_plans_widths_the_step_from_the_snapshot_is_the_plan()
    {
        var schema = SnapshotGeneratorTests.Schema(1);
        var v1 = SnapshotGeneratorTests.Snapshot(1, SnapshotGeneratorTests.Source(8), schema);
        var plan = Pruning(SnapshotGeneratorTests.Source(8), schema, 1, 5);
        var edited = SnapshotGeneratorTests.Source(6);
        var (driver, output, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", edited)),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            SnapshotGeneratorTests.File(v1),
            new InMemoryAdditionalText(PlanPath, PlanJson.Write(plan)));

        Assert.DoesNotContain(diagnostics, d => d.Id == "NS2009");
        var ns2005 = Assert.Single(diagnostics, d => d.Id == "NS2005");
        var message = ns2005.GetMessage(CultureInfo.InvariantCulture);
        Assert.Contains("these are the widths of the plan 'pruned.plan.json', which the map follows", message, StringComparison.Ordinal);
        Assert.EndsWith("record this version with 'surgery snapshot add Policy.cs' (it finds 'pruned.plan.json' in the project and records it as the step).", message, StringComparison.Ordinal);

        // The generated map keeps the plan's units (1 and 5 gone), not the differ's (6 and 7 gone).
        var surgery = output.GetTypeByMetadataName("Game.Models.Policy+SurgeryFromV1")!;
        var json = (string)surgery.GetMembers("PlanJson").OfType<IFieldSymbol>().Single().ConstantValue!;
        var current = SnapshotGeneratorTests.Snapshot(2, edited, schema);
        var step = SnapshotSteps.FromPlan(plan, v1.Graph, SurgeryGenerator.WithoutLocations(v1.ReadSchema()), current.Graph, SurgeryGenerator.WithoutLocations(current.ReadSchema()))!;
        Assert.Equal(PlanJson.Write(step), json);
        Assert.Equal(plan.Tensors, step.Tensors);
        var byIndex = SurgeryPlanner.Plan(v1.Graph, SurgeryGenerator.WithoutLocations(v1.ReadSchema()), current.Graph, SurgeryGenerator.WithoutLocations(current.ReadSchema())).Json;
        Assert.NotEqual(byIndex, json);
        Assert.Equal(current.Fingerprint, plan.To.Fingerprint);

        // Migrations carries the same step.
        Assert.Contains(NeuralSurgery.Generator.Emit.SourceWriter.Verbatim(json), GeneratorHarness.GeneratedText(driver, "Policy.Migrations.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_recorded_step_is_the_chain_step_after_the_plan_file_is_gone()
    {
        var schema = SnapshotGeneratorTests.Schema(1);
        var v1 = SnapshotGeneratorTests.Snapshot(1, SnapshotGeneratorTests.Source(8), schema);
        var plan = Pruning(SnapshotGeneratorTests.Source(8), schema, 1, 5);
        var narrowed = SnapshotGeneratorTests.Snapshot(2, SnapshotGeneratorTests.Source(6), schema);
        var v2 = narrowed with { Step = SnapshotSteps.FromPlan(plan, v1.Graph, v1.ReadSchema(), narrowed.Graph, narrowed.ReadSchema()) };
        var v2File = SnapshotGeneratorTests.File(v2);
        Assert.Equal(v2, SnapshotJson.Read(v2File.GetText()!.ToString(), v2File.Path)); // the step round-trips

        var (driver, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", SnapshotGeneratorTests.Source(6))),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            SnapshotGeneratorTests.File(v1),
            v2File);

        Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("NS20", StringComparison.Ordinal));
        var migrations = GeneratorHarness.GeneratedText(driver, "Policy.Migrations.g.cs");
        var chain = SnapshotChain.Of("Policy", [v1, v2], out var problem);
        Assert.Null(problem);
        Assert.Equal(v2.Step, Assert.Single(chain.Steps(1, 2)));
        Assert.Equal(plan.Tensors, v2.Step!.Tensors);
        Assert.Contains(NeuralSurgery.Generator.Emit.SourceWriter.Verbatim(PlanJson.Write(v2.Step)), migrations, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_prunings_one_after_the_other_are_followed_to_their_end_and_composed_into_one_step()
    {
        var schema = SnapshotGeneratorTests.Schema(1);
        var first = Pruning(SnapshotGeneratorTests.Source(8), schema, 1, 5);   // keeps 0 2 3 4 6 7
        var second = Pruning(SnapshotGeneratorTests.Source(6), schema, 0);     // of those, drops the first
        Assert.Equal(first.To.Fingerprint, second.From.Fingerprint);
        var plans = new[] { new InMemoryAdditionalText("/repo/a.plan.json", PlanJson.Write(first)), new InMemoryAdditionalText("/repo/b.plan.json", PlanJson.Write(second)) };

        // Before the edit: the literals are pointed at with the width after both.
        var (_, _, pending) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", SnapshotGeneratorTests.Source(8))),
            [new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema), .. plans]);
        var ns2009 = pending.Where(d => d.Id == "NS2009").ToList();
        Assert.Equal(2, ns2009.Count);
        Assert.All(ns2009, d => Assert.Equal("5", d.Properties["Size"]));
        Assert.Contains("but after the plans 'a.plan.json' then 'b.plan.json' (made from this class) it is 5", ns2009[0].GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        // After it: one step from v1 keeps units 2 3 4 6 7.
        var v1 = SnapshotGeneratorTests.Snapshot(1, SnapshotGeneratorTests.Source(8), schema);
        var (_, output, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", SnapshotGeneratorTests.Source(5))),
            [new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema), SnapshotGeneratorTests.File(v1), .. plans]);
        Assert.DoesNotContain(diagnostics, d => d.Id is "NS2006" or "NS2009");
        Assert.Contains("these are the widths of the plans 'a.plan.json', 'b.plan.json', which the map follows", Assert.Single(diagnostics, d => d.Id == "NS2005").GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var json = (string)output.GetTypeByMetadataName("Game.Models.Policy+SurgeryFromV1")!.GetMembers("PlanJson").OfType<IFieldSymbol>().Single().ConstantValue!;
        var step = PlanJson.Read(json);
        Assert.Equal([2L, 3, 4, 6, 7], Assert.Single(step.Options.UnitMaps).Sources);
        var rows = step.FindTensor("encoder.weight")!.Axes[0];
        Assert.Equal([2L, 3, 4, 6, 7], Enumerable.Range(0, 5).Select(i => rows.SourceIndex(i)));
    }

    [Fact]
    public void A_plan_between_two_classes_is_not_a_width_change_of_this_one()
    {
        // What `surgery plan` writes between an old and a new class maps no units: the old class must not follow it.
        var schema = SnapshotGeneratorTests.Schema(1);
        var v8 = SnapshotGeneratorTests.Snapshot(1, SnapshotGeneratorTests.Source(8), schema);
        var v6 = SnapshotGeneratorTests.Snapshot(2, SnapshotGeneratorTests.Source(6), schema);
        var between = SurgeryPlanner.Plan(v8.Graph, v8.ReadSchema(), v6.Graph, v6.ReadSchema()).Plan;
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", SnapshotGeneratorTests.Source(8))),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            new InMemoryAdditionalText(PlanPath, PlanJson.Write(between)));
        Assert.DoesNotContain(diagnostics, d => d.Id is "NS2009" or "NS2010");
    }

    [Fact]
    public void Two_plans_that_keep_different_units_leave_the_step_open_and_say_so()
    {
        var schema = SnapshotGeneratorTests.Schema(1);
        var v1 = SnapshotGeneratorTests.Snapshot(1, SnapshotGeneratorTests.Source(8), schema);
        var (driver, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", SnapshotGeneratorTests.Source(6))),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            SnapshotGeneratorTests.File(v1),
            new InMemoryAdditionalText("/repo/a.plan.json", PlanJson.Write(Pruning(SnapshotGeneratorTests.Source(8), schema, 6, 7))),
            new InMemoryAdditionalText("/repo/b.plan.json", PlanJson.Write(Pruning(SnapshotGeneratorTests.Source(8), schema, 1, 5))));

        var ns2006 = Assert.Single(diagnostics, d => d.Id == "NS2006");
        Assert.Contains("the plans 'a.plan.json' and 'b.plan.json' all lead from Policy v1 to the class but keep different units", ns2006.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.DoesNotContain(driver.GetRunResult().Results.Single().GeneratedSources, g => g.HintName.Contains("SurgeryFromV1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_literal_the_class_does_not_build_from_is_reported_without_a_fix()
    {
        // The parameterless constructor passes 8; the default 10 decides nothing the reader builds.
        const string source = """
            using NeuralSurgery;
            using TorchSharp;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            namespace Game.Models;

            [SurgeryModel("policy.features.yaml")]
            public sealed partial class Policy : Module<Tensor, Tensor>
            {
                private readonly TorchSharp.Modules.Linear encoder;
                private readonly TorchSharp.Modules.Linear head;

                public Policy() : this(8)
                {
                }

                public Policy(long hidden = 10) : base(nameof(Policy))
                {
                    encoder = Linear(3, hidden);
                    head = Linear(hidden, 2);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor obs) => head.forward(functional.relu(encoder.forward(obs)));
            }
            """;
        var schema = SnapshotGeneratorTests.Schema(1);
        var plan = Pruning(source, schema, 0);
        Assert.Equal(8, plan.FindTensor("encoder.weight")!.SourceShape[0]);
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            new InMemoryAdditionalText(PlanPath, PlanJson.Write(plan)));

        var ns2009 = Assert.Single(diagnostics, d => d.Id == "NS2009");
        Assert.False(ns2009.Properties.ContainsKey("Size"));
        Assert.Contains("the class builds 8 from it by other code (a chained constructor, a reassignment), so change that code to build 7", ns2009.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_plan_file_is_NS2010_and_another_tools_plan_json_is_ignored()
    {
        var source = SnapshotGeneratorTests.Source(8);
        var schema = SnapshotGeneratorTests.Schema(1);
        var broken = PlanJson.Write(Pruning(source, schema, 1)).Replace("\"totals\"", "\"total\"", StringComparison.Ordinal);
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)),
            new InMemoryAdditionalText(SnapshotGeneratorTests.SchemaPath, schema),
            new InMemoryAdditionalText("/repo/models/bad.plan.json", broken),
            new InMemoryAdditionalText("/repo/infra/tf.plan.json", "{\"format_version\": \"1.2\", \"resource_changes\": []}"));

        var ns2010 = Assert.Single(diagnostics, d => d.Id == "NS2010");
        Assert.Equal("/repo/models/bad.plan.json", ns2010.Location.GetLineSpan().Path);
        Assert.StartsWith("'bad.plan.json' is not a valid surgery plan: ", ns2010.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains("'totals'", ns2010.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.DoesNotContain(diagnostics, d => d.Id == "NS2009");
    }
}
