using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>The fixes on NS1006 as the generator reports it in a build (file locations, the AdditionalFiles path as SchemaPath).</summary>
public class GeneratorDiagnosticFixTests
{
    private const string Source = """
        [NeuralSurgery.SurgeryModel("model.features.yaml")]
        public sealed partial class M : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(inputSize: 6, outputSize: 2);

            public M() : base("M") => RegisterComponents();

            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    private static async Task<Diagnostic> GeneratorNs1006Async(ModelWorkspace w)
    {
        var compilation = (await w.Project.GetCompilationAsync())!;
        var schema = w.Project.AdditionalDocuments.Single();
        var driver = CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            [new SchemaText(schema.FilePath!, (await schema.GetTextAsync()).ToString())],
            (CSharpParseOptions)w.Project.ParseOptions!);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics, CancellationToken.None);
        return Assert.Single(diagnostics, d => d.Id == "NS1006");
    }

    [Fact]
    public async Task Both_fixes_apply_to_the_diagnostic_the_generator_reports()
    {
        using var w = new ModelWorkspace(Source, SetLayerArgumentFixTests.X4);
        var diagnostic = await GeneratorNs1006Async(w);
        Assert.Equal(ModelWorkspace.SchemaPath, diagnostic.Properties["SchemaPath"]);

        var argument = Assert.Single(await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic));
        Assert.Equal("Set inputSize to 4", argument.Title);
        var fixedSource = await ModelWorkspace.ApplyAsync(argument);
        Assert.Equal(
            ModelWorkspace.Usings + Source.Replace("inputSize: 6", "inputSize: 4", System.StringComparison.Ordinal),
            await ModelWorkspace.SourceTextAsync(fixedSource));

        var schema = Assert.Single(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
        Assert.Equal("Add the 2 missing features to input 'x' in the schema", schema.Title);
        var fixedSchema = await ModelWorkspace.ApplyAsync(schema);
        Assert.Equal(
            SetLayerArgumentFixTests.X4.Replace("[a, b, c, d]", "[a, b, c, d, feature_4, feature_5]", System.StringComparison.Ordinal),
            await ModelWorkspace.SchemaTextAsync(fixedSchema));

        Assert.Empty(ModelWorkspace.Diagnostics(await ModelWorkspace.ReadAsync(fixedSource, "M", withAttributes: true), "NS1006"));
        Assert.Empty(ModelWorkspace.Diagnostics(await ModelWorkspace.ReadAsync(fixedSchema, "M", withAttributes: true), "NS1006"));
    }

    /// <summary>Issue 15: after surgery prune, NS2009 and its fix give the class the width the pruned checkpoint has.</summary>
    [Fact]
    public async Task The_width_fix_writes_the_plans_width_where_the_class_decides_it()
    {
        const string pruned = """
            [NeuralSurgery.SurgeryModel("model.features.yaml")]
            public sealed partial class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc1;
                private readonly Linear fc2;

                public M(long hidden = 6) : base("M")
                {
                    fc1 = Linear(4, hidden);
                    fc2 = Linear(hidden, 2);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc2.forward(functional.relu(fc1.forward(x)));
            }
            """;
        using var w = new ModelWorkspace(pruned, SetLayerArgumentFixTests.X4);
        var schema = NeuralSurgery.Schema.FeatureSchemaReader.ParseOrThrow(SetLayerArgumentFixTests.X4, ModelWorkspace.SchemaPath);
        var read = await ModelWorkspace.ReadAsync(w.Solution, "M", withAttributes: true);
        var plan = NeuralSurgery.Diff.UnitRemoval.Plan(NeuralSurgery.Diff.ModelSide.Trace(read.Graph!, schema), "fc1", [0, 3]).Plan;

        var compilation = (await w.Project.GetCompilationAsync())!;
        var driver = CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            [new SchemaText(ModelWorkspace.SchemaPath, SetLayerArgumentFixTests.X4), new SchemaText("/repo/checkpoints/pruned.plan.json", NeuralSurgery.Json.PlanJson.Write(plan))],
            (CSharpParseOptions)w.Project.ParseOptions!);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics, CancellationToken.None);
        var diagnostic = Assert.Single(diagnostics, d => d.Id == "NS2009");

        var fix = Assert.Single(await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic));
        Assert.Equal("Set hidden to 4", fix.Title);
        var fixedSource = await ModelWorkspace.ApplyAsync(fix);
        Assert.Equal(ModelWorkspace.Usings + pruned.Replace("long hidden = 6", "long hidden = 4", System.StringComparison.Ordinal), await ModelWorkspace.SourceTextAsync(fixedSource));

        // The fixed class is the plan's target: the checkpoints the plan wrote are checkpoints of this class.
        var after = await ModelWorkspace.ReadAsync(fixedSource, "M", withAttributes: true);
        Assert.Equal(plan.To.Fingerprint, NeuralSurgery.Snapshots.ModelSnapshot.FingerprintOf(after.Graph!, schema));
    }

    private sealed class SchemaText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }
}
