using System;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NeuralSurgery.Generator.Analyzers;
using NeuralSurgery.Generator.Emit;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>NS1016 and NS2001 from <see cref="SurgeryAttributeAnalyzer"/>: exact id, message and location (1-based line, column).</summary>
public class AnalyzerTests
{
    private const string Usings = ModelWorkspace.Usings + "using NeuralSurgery;\n";

    private static string Body(string name) => $$"""
        {
            private readonly Linear fc = Linear(4, 2);

            public {{name}}() : base("{{name}}") => RegisterComponents();

            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    /// <summary>Analyzer diagnostics of <paramref name="source"/> (after <see cref="Usings"/>, 6 lines) with the attributes the generator emits.</summary>
    internal static async Task<string[]> AnalyzeAsync(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Models",
            [
                CSharpSyntaxTree.ParseText(Usings + source, new CSharpParseOptions(LanguageVersion.Latest), ModelWorkspace.SourcePath),
                CSharpSyntaxTree.ParseText(AttributeSource.Text, new CSharpParseOptions(LanguageVersion.Latest), AttributeSource.HintName),
            ],
            ModelWorkspace.References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the test source does not compile:\n" + string.Join("\n", errors));

        var diagnostics = await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new SurgeryAttributeAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
        return diagnostics
            .OrderBy(d => d.Location.SourceSpan.Start)
            .Select(d =>
            {
                var start = d.Location.GetLineSpan().StartLinePosition;
                return string.Format(CultureInfo.InvariantCulture, "{0} ({1},{2}) {3}: {4}", d.Id, start.Line + 1, start.Character + 1, d.Location.SourceTree?.GetText().ToString(d.Location.SourceSpan), d.GetMessage(CultureInfo.InvariantCulture));
            })
            .ToArray();
    }

    [Fact]
    public async Task NS1016_a_model_class_that_is_not_partial_is_reported_at_its_name()
    {
        var diagnostics = await AnalyzeAsync($$"""
            [SurgeryModel("model.features.yaml")]
            public sealed class Policy : Module<Tensor, Tensor>
            {{Body("Policy")}}
            """);
        Assert.Equal(
            new[] { "NS1016 (8,21) Policy: 'Policy' has [SurgeryModel] but is not declared partial (nor are all the types around it), so the generator cannot add its feature constants, mirror graph and surgery maps" },
            diagnostics);
    }

    [Fact]
    public async Task NS1016_a_partial_model_class_nested_in_a_class_that_is_not_partial_is_named_with_it()
    {
        var diagnostics = await AnalyzeAsync($$"""
            public static class Models
            {
                [SurgeryModel("model.features.yaml")]
                public sealed partial class Policy : Module<Tensor, Tensor>
                {
                    private readonly Linear fc = Linear(4, 2);

                    public Policy() : base("Policy") => RegisterComponents();

                    public override Tensor forward(Tensor x) => fc.forward(x);
                }
            }
            """);
        Assert.Equal(
            new[] { "NS1016 (10,33) Policy: 'Models.Policy' has [SurgeryModel] but is not declared partial (nor are all the types around it), so the generator cannot add its feature constants, mirror graph and surgery maps" },
            diagnostics);
    }

    [Fact]
    public async Task NS2001_a_surgery_source_without_SurgeryModel_is_reported_at_the_typeof()
    {
        var diagnostics = await AnalyzeAsync($$"""
            public sealed class PolicyV1 : Module<Tensor, Tensor>
            {{Body("PolicyV1")}}

            [SurgeryModel("policy.v2.features.yaml")]
            [SurgeryFrom(typeof(PolicyV1))]
            public sealed partial class PolicyV2 : Module<Tensor, Tensor>
            {{Body("PolicyV2")}}
            """);
        Assert.Equal(
            new[] { "NS2001 (17,14) typeof(PolicyV1): [SurgeryFrom(typeof(PolicyV1))] on 'PolicyV2': 'PolicyV1' has no [SurgeryModel] attribute, so there is no graph to diff against and no surgery map is generated" },
            diagnostics);
    }

    [Fact]
    public async Task A_correct_evolution_step_and_classes_without_SurgeryModel_have_no_diagnostics()
    {
        var diagnostics = await AnalyzeAsync($$"""
            public static partial class Models
            {
                [SurgeryModel("policy.v1.features.yaml")]
                public sealed partial class PolicyV1 : Module<Tensor, Tensor>
                {
                    private readonly Linear fc = Linear(4, 2);

                    public PolicyV1() : base("PolicyV1") => RegisterComponents();

                    public override Tensor forward(Tensor x) => fc.forward(x);
                }

                [SurgeryModel("policy.v2.features.yaml")]
                [SurgeryFrom(typeof(PolicyV1))]
                [SurgeryRename("fc", "head")]
                public sealed partial class PolicyV2 : Module<Tensor, Tensor>
                {
                    private readonly Linear head = Linear(6, 2);

                    public PolicyV2() : base("PolicyV2") => RegisterComponents();

                    public override Tensor forward(Tensor x) => head.forward(x);
                }
            }

            public sealed class Helper : Module<Tensor, Tensor>
            {{Body("Helper")}}
            """);
        Assert.Empty(diagnostics);
    }
}
