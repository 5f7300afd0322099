using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>Runs <see cref="SurgeryGenerator"/> with step tracking over in-memory C# and YAML.</summary>
internal static class GeneratorHarness
{
    public const string ModelPath = "Policy.cs";

    public const string SchemaPath = "/repo/models/policy.v2.features.yaml";

    public const string Schema = """
        model: Policy
        version: 2
        inputs:
          hero:
            features:
              - max_health
              - attack_damage
              - { name: position, width: 2 }
          hero_id:
            categorical: [axe, bane, crystal_maiden]
        outputs:
          logits:
            features: [noop, move]
        """;

    public const string Model = """
        using TorchSharp;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        [NeuralSurgery.SurgeryModel("policy.v2.features.yaml")]
        public sealed partial class Policy : Module<Tensor, Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear encoder = Linear(4, 8);
            private readonly TorchSharp.Modules.Embedding hero_embedding = Embedding(3, 2);
            private readonly TorchSharp.Modules.Linear head = Linear(10, 2);

            public Policy() : base(nameof(Policy)) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id) =>
                head.forward(torch.cat([encoder.forward(hero), hero_embedding.call(hero_id)], -1));
        }
        """;

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // The same references the reader tests compile against: the runtime's System assemblies and the TorchSharp fixture.
    private static Lazy<MetadataReference[]> References => Reading.ModelSource.References;

    public static CSharpCompilation Compilation(params (string Path, string Text)[] sources) =>
        CSharpCompilation.Create(
            "Models",
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(IEnumerable<AdditionalText> additionalTexts, IReadOnlyDictionary<string, string>? globalOptions = null) =>
        CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            additionalTexts,
            ParseOptions,
            new OptionsProvider(globalOptions ?? new Dictionary<string, string> { ["build_property.NeuralSurgeryIncludeSchemas"] = "true" }),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once; returns the driver (for incremental runs), the output compilation and the generator's diagnostics.</summary>
    public static (GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(
        Compilation compilation,
        params AdditionalText[] additionalTexts)
    {
        var driver = Driver(additionalTexts).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver, output, diagnostics);
    }

    /// <summary>The one generated source whose hint name ends with <paramref name="suffix"/>.</summary>
    public static string GeneratedText(GeneratorDriver driver, string suffix)
    {
        var result = driver.GetRunResult().Results.Single();
        return result.GeneratedSources.Single(s => s.HintName.EndsWith(suffix, StringComparison.Ordinal)).SourceText.ToString();
    }

    private sealed class OptionsProvider(IReadOnlyDictionary<string, string> globals) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Options(globals);

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;
    }

    private sealed class Options(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static readonly Options Empty = new(new Dictionary<string, string>());

        public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
    }
}
