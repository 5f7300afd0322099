using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Specs;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>
/// An adversarial review of what the generator emits for the mirror and surgery classes: unusual declarations
/// (global namespace, nested, generic, keyword names), several or colliding <c>[SurgeryFrom]</c>, chains, renames,
/// older C# versions, determinism, and failures that must become diagnostics instead of crashing the generator.
/// </summary>
public class EmissionReviewTests
{
    private static readonly InMemoryAdditionalText V1 = new(EvolutionSources.V1Path, EvolutionSources.V1Schema);
    private static readonly InMemoryAdditionalText V2 = new(EvolutionSources.V2Path, EvolutionSources.V2Schema);

    /// <summary>PolicyV1 and PolicyV2 of <see cref="EvolutionSources.Models"/>, without their namespace line.</summary>
    private static readonly string ModelsBody = EvolutionSources.Models.Replace("namespace Game.Models;\n", string.Empty, StringComparison.Ordinal);

    private const string Usings = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    /// <summary>A model class with the evolution models' layers, a schema path and extra attributes.</summary>
    private static string PolicyClass(string name, string schema, string attributes = "", int encoderIn = 5, int embeddings = 4, int actions = 4) => $$"""
        [NeuralSurgery.SurgeryModel("{{schema}}")]
        {{attributes}}
        public sealed partial class {{name}} : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear encoder = Linear({{encoderIn}}, 8);
            private readonly Embedding hero_embedding = Embedding({{embeddings}}, 2);
            private readonly Linear head = Linear(10, {{actions}});

            public {{name}}() : base(nameof({{name}})) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id)
            {
                var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
                return head.forward(x);
            }
        }
        """;

    [Fact]
    public void Models_in_the_global_namespace_compile()
    {
        var result = Generate(ModelsBody);

        result.AssertCompilesClean();
        Assert.Contains("global.PolicyV2.SurgeryFromPolicyV1.g.cs", result.Hints);
        Assert.NotNull(result.Load().GetType("PolicyV2+SurgeryFromPolicyV1"));
    }

    [Fact]
    public void Models_nested_in_partial_outer_types_compile()
    {
        var source = "namespace Game.Models;\n\npublic static partial class Zoo\n{\n    internal partial struct Pen\n    {\n" + ModelsBody.Replace(Usings, string.Empty, StringComparison.Ordinal) + "\n    }\n}\n";
        var result = Generate(Usings + source);

        result.AssertCompilesClean();
        Assert.NotNull(result.Load().GetType("Game.Models.Zoo+Pen+PolicyV2+SurgeryFromPolicyV1"));
        Assert.Equal("Game.Models.Zoo+Pen+PolicyV1", result.Load().GetType("Game.Models.Zoo+Pen+PolicyV2+SurgeryFromPolicyV1")!.GetField("SourceModel")!.GetRawConstantValue());
    }

    [Fact]
    public void Generic_model_classes_compile_without_warnings()
    {
        // A type parameter named T must not clash with anything the emitted code declares (CS0693 is a warning).
        var models = EvolutionSources.Models
            .Replace("public sealed partial class PolicyV2 ", "public sealed partial class PolicyV2<T> ", StringComparison.Ordinal)
            .Replace("public sealed partial class PolicyV1 ", "public sealed partial class PolicyV1<T> ", StringComparison.Ordinal)
            .Replace("typeof(PolicyV1)", "typeof(PolicyV1<>)", StringComparison.Ordinal)
            .Replace("base(nameof(PolicyV1))", "base(\"PolicyV1\")", StringComparison.Ordinal)
            .Replace("base(nameof(PolicyV2))", "base(\"PolicyV2\")", StringComparison.Ordinal);
        var result = Generate(models);

        result.AssertCompilesClean();
        Assert.Contains(result.Hints, h => h.EndsWith(".Mirror.g.cs", StringComparison.Ordinal));
        Assert.Contains(result.Hints, h => h.Contains("SurgeryFromPolicyV1", StringComparison.Ordinal));
    }

    [Fact]
    public void Keyword_namespaces_and_type_names_are_escaped()
    {
        var source = "namespace Game.@event;\n\npublic static partial class @class\n{\n" + ModelsBody.Replace(Usings, string.Empty, StringComparison.Ordinal) + "\n}\n";
        var result = Generate(Usings + source);

        result.AssertCompilesClean();
        var assembly = result.Load();
        Assert.True(assembly.GetType("Game.event.class+PolicyV2+SurgeryFromPolicyV1") is not null, string.Join(", ", assembly.GetTypes().Select(t => t.FullName)));
    }

    [Fact]
    public void Unicode_and_keyword_feature_names_compile_and_round_trip()
    {
        var v1 = EvolutionSources.V1Schema.Replace("max_health", "class", StringComparison.Ordinal).Replace("lich", "límite_ñ", StringComparison.Ordinal);
        var v2 = EvolutionSources.V2Schema.Replace("max_health", "class", StringComparison.Ordinal).Replace("lich", "límite_ñ", StringComparison.Ordinal);
        var result = Generate(EvolutionSources.Models, new InMemoryAdditionalText(EvolutionSources.V1Path, v1), new InMemoryAdditionalText(EvolutionSources.V2Path, v2));

        result.AssertCompilesClean();
        var schema = (Schema.FeatureSchema)result.Load().GetType("Game.Models.PolicyV2+Mirror")!.GetProperty("Schema")!.GetValue(null)!;
        Assert.Equal("class", schema.FindInput("hero")!.Features[0].Name);
        Assert.Contains("límite_ñ", schema.FindInput("hero_id")!.Values);
    }

    [Fact]
    public void Two_surgery_sources_on_one_class_give_two_surgery_classes()
    {
        var models = EvolutionSources.Models.Replace(
            "[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]",
            "[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]\n[NeuralSurgery.SurgeryFrom(typeof(PolicyV0))]",
            StringComparison.Ordinal) + "\n" + PolicyClass("PolicyV0", "policy.v1.features.yaml", encoderIn: 4, embeddings: 3, actions: 3);
        var result = Generate(models);

        result.AssertCompilesClean();
        Assert.Contains("Game.Models.PolicyV2.SurgeryFromPolicyV0.g.cs", result.Hints);
        Assert.Contains("Game.Models.PolicyV2.SurgeryFromPolicyV1.g.cs", result.Hints);
    }

    [Fact]
    public void The_same_surgery_source_twice_does_not_crash_the_generator()
    {
        var models = EvolutionSources.Models.Replace(
            "[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]",
            "[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]\n[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]",
            StringComparison.Ordinal);
        var result = Generate(models);

        result.AssertCompilesClean();
        Assert.Single(result.Hints, h => h.Contains("SurgeryFrom", StringComparison.Ordinal));
        Assert.Single(result.GeneratorDiagnostics, d => d.Id == "NS2002");
    }

    [Fact]
    public void Sources_with_the_same_simple_name_in_different_namespaces_get_distinct_surgery_classes()
    {
        var source = Usings + """
            namespace Old
            {
            """ + "\n" + PolicyClass("Policy", "policy.v1.features.yaml", encoderIn: 4, embeddings: 3, actions: 3) + """

            }

            namespace Older
            {
            """ + "\n" + PolicyClass("Policy", "policy.v1.features.yaml", encoderIn: 4, embeddings: 3, actions: 3) + """

            }

            namespace Game.Models
            {
            """ + "\n" + PolicyClass("PolicyV2", "policy.v2.features.yaml", "[NeuralSurgery.SurgeryFrom(typeof(Old.Policy))]\n[NeuralSurgery.SurgeryFrom(typeof(Older.Policy))]") + "\n}\n";
        var result = Generate(source);

        result.AssertCompilesClean();
        var surgeries = result.Load().GetType("Game.Models.PolicyV2")!.GetNestedTypes().Where(t => t.Name.StartsWith("SurgeryFrom", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, surgeries.Length);
        Assert.Equal(
            ["Old.Policy", "Older.Policy"],
            surgeries.Select(t => (string)t.GetField("SourceModel")!.GetRawConstantValue()!).OrderBy(s => s, StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void A_chain_v1_v2_v3_emits_one_surgery_per_step()
    {
        const string V3Path = "/repo/models/policy.v3.features.yaml";
        var v3Schema = EvolutionSources.V2Schema.Replace("version: 2", "version: 3", StringComparison.Ordinal).Replace("      - mana\n", "      - mana\n      - armor\n", StringComparison.Ordinal);
        var models = EvolutionSources.Models + "\n" + PolicyClass("PolicyV3", "policy.v3.features.yaml", "[NeuralSurgery.SurgeryFrom(typeof(PolicyV2))]", encoderIn: 6);
        var result = Generate(models, V1, V2, new InMemoryAdditionalText(V3Path, v3Schema));

        result.AssertCompilesClean();
        var assembly = result.Load();
        Assert.NotNull(assembly.GetType("Game.Models.PolicyV2+SurgeryFromPolicyV1"));
        var step = assembly.GetType("Game.Models.PolicyV3+SurgeryFromPolicyV2")!;
        Assert.Equal(100L, step.GetField("SourceElements")!.GetRawConstantValue());
        Assert.Equal(100L + 8, step.GetField("TargetElements")!.GetRawConstantValue());
        Assert.Equal(100L, step.GetField("CopiedElements")!.GetRawConstantValue());
    }

    [Fact]
    public void A_source_whose_graph_fails_gives_its_diagnostic_and_no_surgery()
    {
        var models = EvolutionSources.Models.Replace("Linear head = Linear(10, 3)", "Linear head = Linear(12, 3)", StringComparison.Ordinal);
        var result = Generate(models);

        Assert.Single(result.GeneratorDiagnostics, d => d.Id == "NS1006");
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "CS8785");
        Assert.DoesNotContain(result.Hints, h => h.Contains("SurgeryFrom", StringComparison.Ordinal));
        Assert.Contains("Game.Models.PolicyV2.Mirror.g.cs", result.Hints);
        Assert.Empty(result.CompilerProblems);
    }

    [Fact]
    public void A_surgery_from_itself_copies_everything()
    {
        var models = EvolutionSources.Models.Replace("typeof(PolicyV1)", "typeof(PolicyV2)", StringComparison.Ordinal);
        var result = Generate(models);

        result.AssertCompilesClean();
        var surgery = result.Load().GetType("Game.Models.PolicyV2+SurgeryFromPolicyV2")!;
        Assert.Equal(surgery.GetField("TargetElements")!.GetRawConstantValue(), surgery.GetField("CopiedElements")!.GetRawConstantValue());
    }

    [Fact]
    public void A_module_rename_copies_the_renamed_modules_weights()
    {
        var split = EvolutionSources.Models.IndexOf("[NeuralSurgery.SurgeryModel(\"policy.v2", StringComparison.Ordinal);
        var models = EvolutionSources.Models.Substring(0, split) + EvolutionSources.Models.Substring(split)
            .Replace("[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]", "[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]\n[NeuralSurgery.SurgeryRename(\"encoder\", \"hero_encoder\")]", StringComparison.Ordinal)
            .Replace("Linear encoder = ", "Linear hero_encoder = ", StringComparison.Ordinal)
            .Replace("relu(encoder.forward", "relu(hero_encoder.forward", StringComparison.Ordinal);
        Assert.Contains("hero_encoder.forward", models, StringComparison.Ordinal);
        var result = Generate(models);

        result.AssertCompilesClean();
        var surgery = result.Load().GetType("Game.Models.PolicyV2+SurgeryFromPolicyV1")!;
        Assert.Equal(79L, surgery.GetField("CopiedElements")!.GetRawConstantValue());
        var plan = Json.PlanJson.Read((string)surgery.GetField("PlanJson")!.GetRawConstantValue()!);
        Assert.Equal("encoder.weight", plan.Tensors.Single(t => t.Name == "hero_encoder.weight").Source);
        Assert.Contains(plan.Options.ModuleRenames, r => r.From == "encoder" && r.To == "hero_encoder");
    }

    [Fact]
    public void A_schema_rename_of_a_feature_flows_into_the_plan()
    {
        var v2 = EvolutionSources.V2Schema.Replace("      - max_health\n", "      - health\n", StringComparison.Ordinal) + "\nrenames:\n  max_health: health\n";
        var result = Generate(EvolutionSources.Models, V1, new InMemoryAdditionalText(EvolutionSources.V2Path, v2));

        result.AssertCompilesClean();
        Assert.DoesNotContain(result.GeneratorDiagnostics, d => d.Id == "NS2003");
        Assert.Equal(79L, result.Load().GetType("Game.Models.PolicyV2+SurgeryFromPolicyV1")!.GetField("CopiedElements")!.GetRawConstantValue());
    }

    [Fact]
    public void Generated_files_carry_no_machine_paths_and_do_not_depend_on_the_order_of_inputs()
    {
        const string Root = "/home/alice/work/training";
        var v1 = new InMemoryAdditionalText(Root + "/models/policy.v1.features.yaml", EvolutionSources.V1Schema);
        var v2 = new InMemoryAdditionalText(Root + "/models/policy.v2.features.yaml", EvolutionSources.V2Schema);
        var first = Generate(EvolutionSources.Models, Root + "/src/Policy.cs", v1, v2);
        var second = Generate(EvolutionSources.Models, Root + "/src/Policy.cs", v2, v1);

        first.AssertCompilesClean();
        Assert.Equal(6, first.Sources.Length);
        foreach (var source in first.Sources)
        {
            Assert.DoesNotContain("/home/alice", source.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("training", source.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("\r", source.Text, StringComparison.Ordinal);
        }

        Assert.Equal(first.Sources, second.Sources);
    }

    [Theory]
    [InlineData(LanguageVersion.CSharp8)]
    [InlineData(LanguageVersion.CSharp9)]
    [InlineData(LanguageVersion.CSharp10)]
    public void Emitted_code_compiles_on_older_language_versions(LanguageVersion version)
    {
        // The user's model code may itself need a newer version (collection expressions in forward); the generated
        // files are what is checked here, so the models are written without them.
        var models = EvolutionSources.Models
            .Replace("namespace Game.Models;\n", "namespace Game.Models\n{\n", StringComparison.Ordinal)
            .Replace("torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1)", "torch.cat(new[] { functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id) }, -1)", StringComparison.Ordinal) + "\n}\n";
        var result = Generate(models, "Policy.cs", new CSharpParseOptions(version), V1, V2);

        result.AssertCompilesClean();
        Assert.Contains("Game.Models.PolicyV2.SurgeryFromPolicyV1.g.cs", result.Hints);
    }

    [Fact]
    public void Cancellation_surfaces_as_cancellation()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var driver = GeneratorHarness.Driver([V1, V2]);

        Assert.ThrowsAny<OperationCanceledException>(() =>
            driver.RunGeneratorsAndUpdateCompilation(MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", EvolutionSources.Models)), out _, out _, cancelled.Token));
    }

    [Fact]
    public void A_schema_path_matching_two_files_picks_the_same_one_in_any_order()
    {
        var other = new InMemoryAdditionalText("/repo/archive/policy.v1.features.yaml", EvolutionSources.V1Schema.Replace("lich", "sven", StringComparison.Ordinal));
        var first = Generate(EvolutionSources.Models, V1, other, V2);
        var second = Generate(EvolutionSources.Models, other, V2, V1);

        first.AssertCompilesClean();
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void A_large_plan_compiles_and_round_trips()
    {
        var layers = string.Join("\n", Enumerable.Range(0, 150).Select(i => $"    private readonly Linear l{i} = Linear(8, 8);"));
        var calls = string.Join("\n", Enumerable.Range(0, 150).Select(i => $"        x = l{i}.forward(x);"));
        string Model(string name, string schema, string attributes) => Usings + "namespace Deep;\n" + $$"""
            [NeuralSurgery.SurgeryModel("{{schema}}")]
            {{attributes}}
            public sealed partial class {{name}} : Module<Tensor, Tensor>
            {
                private readonly Linear input = Linear({{(name == "DeepV1" ? 2 : 3)}}, 8);
            {{layers}}

                public {{name}}() : base(nameof({{name}})) => RegisterComponents();

                public override Tensor forward(Tensor x0)
                {
                    var x = input.forward(x0);
            {{calls}}
                    return x;
                }
            }
            """;
        var v1 = new InMemoryAdditionalText("/repo/deep.v1.features.yaml", "model: Deep\nversion: 1\ninputs:\n  x0:\n    features: [a, b]\n");
        var v2 = new InMemoryAdditionalText("/repo/deep.v2.features.yaml", "model: Deep\nversion: 2\ninputs:\n  x0:\n    features: [a, b, c]\n");
        var result = Generate(Model("DeepV1", "deep.v1.features.yaml", string.Empty) + "\n" + Model("DeepV2", "deep.v2.features.yaml", "[NeuralSurgery.SurgeryFrom(typeof(DeepV1))]").Replace(Usings + "namespace Deep;\n", string.Empty, StringComparison.Ordinal), v1, v2);

        result.AssertCompilesClean();
        var surgery = result.Load().GetType("Deep.DeepV2+SurgeryFromDeepV1")!;
        var json = (string)surgery.GetField("PlanJson")!.GetRawConstantValue()!;
        Assert.True(json.Length > 50_000, json.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(json, Json.PlanJson.Write(Json.PlanJson.Read(json)));
    }

    [Fact]
    public void A_tracer_failure_is_a_diagnostic_not_a_silent_missing_mirror()
    {
        // The v1 graph bound to a schema whose input is narrower than the graph's: the tracer rejects it.
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", EvolutionSources.Models));
        var schema = Schema.FeatureSchemaReader.ParseOrThrow(EvolutionSources.V1Schema, EvolutionSources.V1Path);
        var graph = global::NeuralSurgery.Generator.Reading.ModelReader.Read(compilation, compilation.GetTypeByMetadataName("Game.Models.PolicyV1")!, schema, CancellationToken.None).Graph!;
        var narrower = Schema.FeatureSchemaReader.ParseOrThrow(EvolutionSources.V1Schema.Replace("{ name: position, width: 2 }", "position", StringComparison.Ordinal), EvolutionSources.V1Path);
        var type = new TypeSpec("Game.Models", "PolicyV1", "Game.Models.PolicyV1", Collections.EquatableArray.Create("partial class PolicyV1"), "global::Game.Models.PolicyV1");
        var mirror = new MirrorSpec(type, "Game.Models.PolicyV1", "policy.v1.features.yaml", graph, SurgeryGenerator.WithoutLocations(narrower));

        var traced = SurgeryGenerator.Trace(mirror, CancellationToken.None);
        Assert.NotNull(traced.Error);
        var at = new global::NeuralSurgery.Generator.Reading.ReaderLocation("Policy.cs", new Microsoft.CodeAnalysis.Text.TextSpan(10, 5), default);
        var model = new ModelSpec(type, "Game.Models.PolicyV1", "policy.v1.features.yaml", at, Collections.EquatableArray<SurgerySourceSpec>.Empty, Collections.EquatableArray<RenameSpec>.Empty);
        var error = Assert.Single(SurgeryGenerator.TraceFailed(traced, [model]));
        Assert.Equal("NS1007", error.Id);
        Assert.Equal(at, error.Location);
        Assert.StartsWith("The graph is inconsistent at 'PolicyV1.forward': ", error.ToDiagnostic().GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var planned = SurgeryGenerator.PlanSurgery(
            new SurgerySpec(mirror, mirror, Collections.EquatableArray<RenameSpec>.Empty, new global::NeuralSurgery.Generator.Reading.ReaderLocation("Policy.cs", default, default), "SurgeryFromPolicyV1"),
            CancellationToken.None);
        Assert.Null(planned.Emit);
        Assert.Single(planned.Diagnostics, d => d.Id == "NS2004");
    }

    private static GenerationResult Generate(string models, params AdditionalText[] texts) =>
        Generate(models, "Policy.cs", GeneratorHarness.ParseOptions, texts);

    private static GenerationResult Generate(string models, string path, params AdditionalText[] texts) =>
        Generate(models, path, GeneratorHarness.ParseOptions, texts);

    private static GenerationResult Generate(string models, string path, CSharpParseOptions options, params AdditionalText[] texts)
    {
        if (texts.Length == 0)
        {
            texts = [V1, V2];
        }

        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime()
            .AddSyntaxTrees(CSharpSyntaxTree.ParseText(models, options, path));
        var driver = CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            texts,
            options,
            new TestOptionsProvider(),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        var run = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics).GetRunResult().Results.Single();
        Assert.Null(run.Exception);
        var sources = run.GeneratedSources
            .Select(s => new Generated(s.HintName, s.SourceText.ToString()))
            .OrderBy(s => s.Hint, StringComparer.Ordinal)
            .ToArray();
        return new GenerationResult(output, diagnostics, sources);
    }

    private sealed record Generated(string Hint, string Text);

    private sealed record GenerationResult(Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, Generated[] Sources)
    {
        public string[] Hints => Sources.Select(s => s.Hint).ToArray();

        /// <summary>Warnings and errors of the output compilation (warnings as errors), generated files included.</summary>
        public List<Diagnostic> CompilerProblems => Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();

        public void AssertCompilesClean()
        {
            Assert.True(!GeneratorDiagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning), string.Join("\n", GeneratorDiagnostics));
            var problems = CompilerProblems;
            Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + string.Join("\n", Sources.Where(s => problems.Any(p => p.Location.SourceTree?.FilePath.EndsWith(s.Hint, StringComparison.Ordinal) == true)).Select(s => s.Text)));
        }

        public Assembly Load()
        {
            using var stream = new MemoryStream();
            var emitted = Output.Emit(stream);
            Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
            return Assembly.Load(stream.ToArray());
        }
    }

    private sealed class TestOptionsProvider : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
    {
        private static readonly Options Globals = new(new Dictionary<string, string> { ["build_property.NeuralSurgeryIncludeSchemas"] = "true" });

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => Globals;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options(IReadOnlyDictionary<string, string> values) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
        {
            public static readonly Options Empty = new(new Dictionary<string, string>());

            public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
        }
    }
}
