using System.Collections.Immutable;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>NS1004's schema fix: a forward parameter that feeds a layer of known size gets a schema input that wide.</summary>
public class AddSchemaInputFixTests
{
    private const string Source = """
        public sealed class M : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 2);
            private readonly Linear gate = Linear(3, 2);

            public M() : base("M") => RegisterComponents();

            public override Tensor forward(Tensor x, Tensor mask) => fc.forward(x) * gate.forward(mask);
        }
        """;

    private static async Task<string> FixAsync(string schema)
    {
        using var w = new ModelWorkspace(Source, schema);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1004"));

        var fix = Assert.Single(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
        Assert.Equal("Add input 'mask' to the schema", fix.Title);
        Assert.Equal(SchemaCodeFixProvider.AddInputEquivalenceKey, fix.EquivalenceKey);
        var fixedSolution = await ModelWorkspace.ApplyAsync(fix);

        var reread = await ModelWorkspace.ReadAsync(fixedSolution, "M");
        Assert.Empty(ModelWorkspace.Diagnostics(reread, "NS1004"));
        Assert.NotNull(reread.Graph);
        return await ModelWorkspace.SchemaTextAsync(fixedSolution);
    }

    [Fact]
    public async Task The_input_is_laid_out_like_the_block_list_before_it()
    {
        var yaml = await FixAsync("""
            model: M
            version: 1
            inputs:
                x:                # the observation
                    features:
                      - a
                      - b
                      - { name: pos, width: 2 }
            outputs:
                y:
                    features: [p, q]
            """);
        Assert.Equal(
            """
            model: M
            version: 1
            inputs:
                x:                # the observation
                    features:
                      - a
                      - b
                      - { name: pos, width: 2 }
                mask:
                    features:
                      - feature_0
                      - feature_1
                      - feature_2
            outputs:
                y:
                    features: [p, q]
            """,
            yaml);
    }

    [Fact]
    public async Task A_flow_list_input_is_copied_as_a_flow_list_past_a_categorical_input()
    {
        var yaml = await FixAsync("""
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
              hero_id:
                categorical: [axe, bane]

            outputs:
              y:
                features: [p, q]
            """);
        Assert.Equal(
            """
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
              hero_id:
                categorical: [axe, bane]
              mask:
                features: [feature_0, feature_1, feature_2]

            outputs:
              y:
                features: [p, q]
            """,
            yaml);
    }

    [Fact]
    public async Task No_fix_when_the_parameter_is_used_in_an_op_first()
    {
        using var w = new ModelWorkspace(Source.Replace("fc.forward(x) * gate.forward(mask)", "fc.forward(x * mask)", System.StringComparison.Ordinal), SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1004"));
        Assert.Empty(diagnostic.Properties);
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
    }

    [Fact]
    public async Task No_fix_when_the_schema_is_not_in_the_project_or_inputs_is_a_flow_mapping()
    {
        using var w = new ModelWorkspace(Source, SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1004"));

        using var none = new ModelWorkspace(Source, null);
        Assert.Empty(await none.FixesAsync(new SchemaCodeFixProvider(), diagnostic));

        using var flow = new ModelWorkspace(Source, """
            model: M
            version: 1
            inputs: { x: { features: [a, b, c, d] } }
            outputs:
              y:
                features: [p, q]
            """);
        Assert.Empty(await flow.FixesAsync(new SchemaCodeFixProvider(), diagnostic));

        var bare = Diagnostic.Create(ModelDiagnostics.ForwardParameterWithoutSchemaInput, diagnostic.Location, ImmutableDictionary<string, string?>.Empty, "mask", ModelWorkspace.SchemaPath);
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), bare));
    }
}
