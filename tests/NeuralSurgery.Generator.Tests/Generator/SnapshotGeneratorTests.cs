using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Configuration;
using NeuralSurgery.Generator.FrontEnd;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>
/// Issue 13: one class edited in place. The build compares it with its latest snapshot: equal, nothing is said;
/// changed, NS2005 summarises the change and the surgery map from the snapshot is generated; the chain becomes
/// <c>Policy.Migrations</c>.
/// </summary>
public class SnapshotGeneratorTests
{
    public const string SchemaPath = "/repo/models/policy.features.yaml";

    public static string Source(int hidden, int inputs = 3, int actions = 2) => $$"""
        using NeuralSurgery;
        using TorchSharp;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        [SurgeryModel("policy.features.yaml")]
        public sealed partial class Policy : Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear encoder = Linear({{inputs}}, {{hidden}});
            private readonly TorchSharp.Modules.Linear head = Linear({{hidden}}, {{actions}});

            public Policy() : base(nameof(Policy)) => RegisterComponents();

            public override Tensor forward(Tensor obs) => head.forward(functional.relu(encoder.forward(obs)));
        }
        """;

    public static string Schema(int version, string features = "health, mana, distance", string actions = "attack, retreat") => $$"""
        model: Policy
        version: {{version}}
        inputs:
          obs:
            features: [{{features}}]
        outputs:
          action:
            features: [{{actions}}]
        """;

    /// <summary>A snapshot of the class in <paramref name="source"/> with <paramref name="schema"/>, read as the CLI reads it.</summary>
    public static ModelSnapshot Snapshot(int version, string source, string schema)
    {
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)).AddSyntaxTrees(
            CSharpSyntaxTree.ParseText(Emit.AttributeSource.Text, GeneratorHarness.ParseOptions, Emit.AttributeSource.HintName));
        var type = compilation.GetTypeByMetadataName("Game.Models.Policy")!;
        var parsed = FeatureSchemaReader.ParseOrThrow(schema, "policy.features.yaml");
        var read = ModelFrontEnd.Read(compilation, type, parsed);
        Assert.False(read.HasErrors, string.Join("\n", read.Diagnostics));
        return ModelSnapshot.Create("Policy", "Game.Models.Policy", version, "policy.features.yaml", schema, read.Graph!);
    }

    internal static InMemoryAdditionalText File(ModelSnapshot snapshot) =>
        new("/repo/models/Snapshots/" + SnapshotJson.FileName(snapshot.Model, snapshot.Version), SnapshotJson.Write(snapshot));

    [Fact]
    public void A_class_equal_to_its_latest_snapshot_gets_its_migrations_and_no_diagnostic()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var (driver, output, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", Source(8))), new InMemoryAdditionalText(SchemaPath, Schema(1)), File(v1));

        Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Info && d.Id.StartsWith("NS2", StringComparison.Ordinal)));
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var hints = driver.GetRunResult().Results.Single().GeneratedSources.Select(s => s.HintName).ToList();
        Assert.DoesNotContain(hints, h => h.Contains("SurgeryFromV", StringComparison.Ordinal));
        var migrations = GeneratorHarness.GeneratedText(driver, "Policy.Migrations.g.cs");
        Assert.Contains("public const int CurrentVersion = 1;", migrations, StringComparison.Ordinal);
        Assert.Contains(SourceWriterQuote(v1.Fingerprint), migrations, StringComparison.Ordinal);
    }

    [Fact]
    public void A_class_changed_since_its_latest_snapshot_gets_NS2005_and_the_surgery_map_from_it()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var v2 = Snapshot(2, Source(8, inputs: 4), Schema(2, "health, mana, distance, gold"));
        var edited = Source(16, inputs: 4, actions: 3);
        var schema = Schema(3, "mana, health, distance, gold", "attack, retreat, heal");
        var (driver, output, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", edited)), new InMemoryAdditionalText(SchemaPath, schema), File(v1), File(v2));

        var ns2005 = Assert.Single(diagnostics, d => d.Id == "NS2005");
        Assert.Equal(DiagnosticSeverity.Warning, ns2005.Severity);
        Assert.Equal(
            "'Policy' has changed since its latest snapshot Policy v2 (Policy.v2.snapshot.json): input 'obs': features reordered: 'health', 'mana', 'distance', 'gold' -> 'mana', 'health', 'distance', 'gold'; "
            + "output 'action': feature added: 'heal'; parameter 'encoder.weight' [8, 4] -> [16, 4]; parameter 'encoder.bias' [8] -> [16]; parameter 'head.weight' [2, 8] -> [3, 16]; parameter 'head.bias' [2] -> [3]. "
            + "The surgery map from Policy v2 is generated as Policy.SurgeryFromV2; record this version with 'surgery snapshot add Policy.cs'.",
            ns2005.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Policy.cs", ns2005.Location.GetLineSpan().Path);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));

        // The map is the one front end's plan from the snapshot to the class, byte for byte.
        var current = Snapshot(3, edited, schema);
        var expected = SurgeryPlanner.Plan(v2.Graph, SurgeryGenerator.WithoutLocations(v2.ReadSchema()), current.Graph, SurgeryGenerator.WithoutLocations(current.ReadSchema())).Json;
        var surgery = output.GetTypeByMetadataName("Game.Models.Policy+SurgeryFromV2")!;
        Assert.Equal(expected, surgery.GetMembers("PlanJson").OfType<IFieldSymbol>().Single().ConstantValue);

        // Checkpoints it writes are stamped as the version the class will be recorded as.
        var surgerySource = GeneratorHarness.GeneratedText(driver, "Policy.SurgeryFromV2.g.cs");
        Assert.Contains("new global::NeuralSurgery.Runtime.Checkpoints.CheckpointStamp(\"Policy\", 3, \"" + current.Fingerprint + "\")", surgerySource, StringComparison.Ordinal);

        var migrations = GeneratorHarness.GeneratedText(driver, "Policy.Migrations.g.cs");
        Assert.Contains("public const int LatestRecorded = 2;", migrations, StringComparison.Ordinal);
        Assert.Contains("public const int CurrentVersion = 3;", migrations, StringComparison.Ordinal);
        Assert.Contains(SourceWriterQuote(current.Fingerprint), migrations, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gap_in_the_chain_is_NS2006_and_a_broken_snapshot_file_NS2007_at_the_file()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var v3 = Snapshot(3, Source(8), Schema(1));
        var broken = new InMemoryAdditionalText("/repo/models/Snapshots/Policy.v9.snapshot.json", SnapshotJson.Write(v1).Replace("\"health\"", "\"hp\"", StringComparison.Ordinal).Replace("health", "hp", StringComparison.Ordinal));
        var (_, _, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", Source(8))), new InMemoryAdditionalText(SchemaPath, Schema(1)), File(v1), File(v3), broken);

        var ns2006 = Assert.Single(diagnostics, d => d.Id == "NS2006");
        Assert.Contains("the snapshots of Policy skip v2: a checkpoint of an earlier version cannot be upgraded past the gap", ns2006.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var ns2007 = Assert.Single(diagnostics, d => d.Id == "NS2007");
        Assert.Equal(DiagnosticSeverity.Error, ns2007.Severity);
        Assert.Equal(broken.Path, ns2007.Location.GetLineSpan().Path);
        Assert.Contains("never edited by hand", ns2007.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unrelated_edit_reruns_no_snapshot_check_or_plan()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", Source(16)));
        var driver = GeneratorHarness.Driver([new InMemoryAdditionalText(SchemaPath, Schema(1)), File(v1)]).RunGenerators(compilation);

        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other; internal sealed class Unrelated { }", GeneratorHarness.ParseOptions, "Unrelated.cs")));
        foreach (var step in new[] { TrackingNames.Mirrors, TrackingNames.Traces, TrackingNames.SnapshotFiles, TrackingNames.ModelSnapshots, TrackingNames.SnapshotChecks, TrackingNames.SnapshotSurgerySource, TrackingNames.MigrationsSource })
        {
            var reasons = driver.GetRunResult().Results.Single().TrackedSteps[step].SelectMany(r => r.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, step + " output was " + r));
        }
    }

    [Fact]
    public void A_snapshot_of_another_model_leaves_this_models_check_cached()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var other = new InMemoryAdditionalText("/repo/models/Snapshots/Other.v1.snapshot.json", SnapshotJson.Write(v1 with { Model = "Other" }));
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", Source(16)));
        var driver = GeneratorHarness.Driver([new InMemoryAdditionalText(SchemaPath, Schema(1)), File(v1), other]).RunGenerators(compilation);

        var changed = new InMemoryAdditionalText(other.Path, SnapshotJson.Write(Snapshot(1, Source(8, inputs: 4), Schema(1, "health, mana, distance, gold")) with { Model = "Other" }));
        driver = driver.ReplaceAdditionalText(other, changed).RunGenerators(compilation);
        var reasons = driver.GetRunResult().Results.Single().TrackedSteps[TrackingNames.SnapshotChecks].SelectMany(r => r.Outputs).Select(o => o.Reason).ToList();
        Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, "SnapshotChecks output was " + r));
    }

    [Fact]
    public void Snapshots_go_with_the_namespace_qualified_class_they_were_recorded_for()
    {
        var v1 = Snapshot(1, Source(8), Schema(1)); // recorded for Game.Models.Policy
        var bots = Source(8).Replace("namespace Game.Models;", "namespace Game.Bots;", StringComparison.Ordinal);
        var (_, output, _) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", Source(8)), ("BotPolicy.cs", bots)), new InMemoryAdditionalText(SchemaPath, Schema(1)), File(v1));
        Assert.NotNull(output.GetTypeByMetadataName("Game.Models.Policy+Migrations"));
        Assert.Null(output.GetTypeByMetadataName("Game.Bots.Policy+Migrations"));

        // The recorded class is gone (moved to Game.Bots): its one namesake keeps the history, and sees the change.
        var (_, moved, diagnostics) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("BotPolicy.cs", bots.Replace("Linear(3, 8)", "Linear(3, 16)", StringComparison.Ordinal).Replace("Linear(8, 2)", "Linear(16, 2)", StringComparison.Ordinal))),
            new InMemoryAdditionalText(SchemaPath, Schema(1)),
            File(v1));
        Assert.NotNull(moved.GetTypeByMetadataName("Game.Bots.Policy+Migrations"));
        Assert.NotNull(moved.GetTypeByMetadataName("Game.Bots.Policy+SurgeryFromV1"));
        Assert.Single(diagnostics, d => d.Id == "NS2005");

        // Two namesakes and neither is the recorded class: neither takes the history.
        var (_, both, _) = GeneratorHarness.Run(
            MirrorAndSurgeryTests.CompilationWithRuntime(("BotPolicy.cs", bots), ("Other.cs", Source(8).Replace("namespace Game.Models;", "namespace Game.Other;", StringComparison.Ordinal))),
            new InMemoryAdditionalText(SchemaPath, Schema(1)),
            File(v1));
        Assert.Null(both.GetTypeByMetadataName("Game.Bots.Policy+Migrations"));
        Assert.Null(both.GetTypeByMetadataName("Game.Other.Policy+Migrations"));
    }

    /// <summary>Runs the generator with <c>NeuralSurgeryCheckpoints</c> set to <paramref name="declared"/>; returns its NS2008s.</summary>
    private static List<Diagnostic> Ns2008(string declared, string source, params AdditionalText[] files)
    {
        var options = new System.Collections.Generic.Dictionary<string, string>
        {
            ["build_property.NeuralSurgeryIncludeSchemas"] = "true",
            ["build_property.NeuralSurgeryCheckpoints"] = declared,
        };
        GeneratorHarness.Driver(files, options).RunGeneratorsAndUpdateCompilation(MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", source)), out _, out var diagnostics);
        return diagnostics.Where(d => d.Id == "NS2008").ToList();
    }

    [Fact]
    public void A_declared_checkpoint_version_no_chain_reaches_is_NS2008_at_the_model()
    {
        var v1 = Snapshot(1, Source(8), Schema(1));
        var v2 = Snapshot(2, Source(16), Schema(2));
        var v3 = Snapshot(3, Source(16, inputs: 4), Schema(3, "health, mana, distance, gold")); // recorded nowhere: an old run's version
        var schema = new InMemoryAdditionalText(SchemaPath, Schema(2));

        // Reachable: a recorded version (by a 12-digit prefix, in capitals), the class itself (no snapshot needed); commas and spaces separate.
        Assert.Empty(Ns2008($"Policy@{v1.Fingerprint[..12].ToUpperInvariant()},  Policy@{v2.Fingerprint}", Source(16), schema, File(v1), File(v2)));
        Assert.Empty(Ns2008($"Policy@{v2.Fingerprint}", Source(16), schema));

        var unreachable = Assert.Single(Ns2008($"Policy@{v1.Fingerprint}, Policy@{v3.Fingerprint[..16]}", Source(16), schema, File(v1), File(v2)));
        Assert.Equal(DiagnosticSeverity.Warning, unreachable.Severity);
        Assert.Equal("Policy.cs", unreachable.Location.GetLineSpan().Path);
        var message = unreachable.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.StartsWith($"Checkpoints declared as 'Policy@{v3.Fingerprint[..16]}' (NeuralSurgeryCheckpoints) cannot be upgraded to the current class: no recorded snapshot of Policy has that fingerprint (Policy v1 {v1.Fingerprint[..12]}, Policy v2 {v2.Fingerprint[..12]})", message, StringComparison.Ordinal);
        Assert.Contains("surgery snapshot add <model file> --from-git <commit>", message, StringComparison.Ordinal);

        var none = Assert.Single(Ns2008($"Policy@{v1.Fingerprint}", Source(16), schema));
        Assert.Contains("no snapshot of Policy is recorded, and the class is " + v2.Fingerprint[..12], none.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        // Malformed entries and unknown models are reported without a location, each naming the entry.
        var bad = Ns2008($"Policy Policy@xyz,Critic@{v1.Fingerprint}", Source(16), schema).Select(d => (d.Location, Message: d.GetMessage(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(3, bad.Count);
        Assert.All(bad, d => Assert.Equal(Location.None, d.Location));
        Assert.Contains(bad, d => d.Message.Contains("'Policy' (NeuralSurgeryCheckpoints)", StringComparison.Ordinal) && d.Message.Contains("expected Model@fingerprint", StringComparison.Ordinal));
        Assert.Contains(bad, d => d.Message.Contains("the fingerprint 'xyz' is not 12 to 64 hex digits", StringComparison.Ordinal));
        Assert.Contains(bad, d => d.Message.Contains("no [SurgeryModel] class of this project is named 'Critic' (models: Policy)", StringComparison.Ordinal));
    }

    private static string SourceWriterQuote(string text) => "\"" + text + "\"";
}
