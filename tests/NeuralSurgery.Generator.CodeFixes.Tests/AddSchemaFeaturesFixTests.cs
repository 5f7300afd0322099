using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>NS1006's schema fix: a layer reads a schema input narrower than itself; the input gets the missing features.</summary>
public class AddSchemaFeaturesFixTests
{
    private const string Source = """
        public sealed class M : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(inputSize: 6, outputSize: 2);

            public M() : base("M") => RegisterComponents();

            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    /// <summary>Runs the fix on <paramref name="schema"/> and returns the fixed YAML, checking the fixed model reads without NS1006.</summary>
    private static async Task<string> FixAsync(string schema, string source = Source, string title = "Add the 2 missing features to input 'x' in the schema")
    {
        using var w = new ModelWorkspace(source, schema);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        Assert.Equal("x", diagnostic.Properties["SchemaInput"]);
        Assert.Equal(ModelWorkspace.SchemaPath, diagnostic.Properties["SchemaPath"]);

        var fix = Assert.Single(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
        Assert.Equal(title, fix.Title);
        var fixedSolution = await ModelWorkspace.ApplyAsync(fix);
        Assert.Equal(await ModelWorkspace.SourceTextAsync(w.Solution), await ModelWorkspace.SourceTextAsync(fixedSolution));

        var reread = await ModelWorkspace.ReadAsync(fixedSolution, "M");
        Assert.Empty(ModelWorkspace.Diagnostics(reread, "NS1006"));
        Assert.NotNull(reread.Graph);
        return await ModelWorkspace.SchemaTextAsync(fixedSolution);
    }

    [Fact]
    public async Task A_block_list_gets_new_lines_after_the_last_feature_keeping_comments_and_indentation()
    {
        var yaml = await FixAsync("""
            model: M   # the policy
            version: 1
            inputs:
              x:
                features:
                  - a        # first
                  - { name: pos, width: 2 }  # two slots
                # b was here
            outputs:
              y:
                features: [p, q]
            """,
            title: "Add the 3 missing features to input 'x' in the schema");
        Assert.Equal(
            """
            model: M   # the policy
            version: 1
            inputs:
              x:
                features:
                  - a        # first
                  - { name: pos, width: 2 }  # two slots
                  - feature_3
                  - feature_4
                  - feature_5
                # b was here
            outputs:
              y:
                features: [p, q]
            """,
            yaml);
    }

    [Fact]
    public async Task A_flow_list_gets_the_names_before_its_bracket()
    {
        var yaml = await FixAsync("""
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]   # four
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
                features: [a, b, c, d, feature_4, feature_5]   # four
            outputs:
              y:
                features: [p, q]
            """,
            yaml);
    }

    [Fact]
    public async Task A_flow_list_without_spaces_keeps_its_style()
    {
        var yaml = await FixAsync("""
            model: M
            version: 1
            inputs:
              x:
                features: [a,b,c,d]
            outputs:
              y:
                features: [p, q]
            """);
        Assert.Contains("    features: [a,b,c,d,feature_4,feature_5]\n", yaml, System.StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_block_mapping_entry_and_an_indentless_list_at_the_end_of_a_file_without_a_final_line_break()
    {
        var yaml = await FixAsync("""
            model: M
            version: 1
            outputs:
              y:
                features: [p, q]
            inputs:
              x:
                features:
                - a
                - b
                - name: pos
                  width: 2
            """);
        Assert.Equal(
            """
            model: M
            version: 1
            outputs:
              y:
                features: [p, q]
            inputs:
              x:
                features:
                - a
                - b
                - name: pos
                  width: 2
                - feature_4
                - feature_5
            """,
            yaml);
    }

    [Fact]
    public async Task Crlf_line_breaks_are_kept_and_taken_names_get_a_suffix()
    {
        var yaml = await FixAsync(
            "model: M\r\nversion: 1\r\ninputs:\r\n  x:\r\n    features:\r\n      - feature_4\r\n      - b\r\n      - c\r\n      - d\r\noutputs:\r\n  y:\r\n    features: [p, q]\r\n");
        Assert.Equal(
            "model: M\r\nversion: 1\r\ninputs:\r\n  x:\r\n    features:\r\n      - feature_4\r\n      - b\r\n      - c\r\n      - d\r\n      - feature_4_2\r\n      - feature_5\r\noutputs:\r\n  y:\r\n    features: [p, q]\r\n",
            yaml);
    }

    [Fact]
    public async Task One_missing_slot_is_one_feature()
    {
        var yaml = await FixAsync(
            """
            model: M
            version: 1
            inputs:
              x:
                set: true
                features: [a, b, c, d, e]
            outputs:
              y:
                features: [p, q]
            """,
            title: "Add the missing feature to input 'x' in the schema");
        Assert.Contains("features: [a, b, c, d, e, feature_5]", yaml, System.StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_schema_fix_when_an_op_stands_between_the_input_and_the_layer()
    {
        using var w = new ModelWorkspace(Source.Replace("fc.forward(x)", "fc.forward(x.relu())", System.StringComparison.Ordinal), SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        Assert.False(diagnostic.Properties.ContainsKey("SchemaInput"));
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
        Assert.Single(await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic));
    }

    [Fact]
    public async Task No_schema_fix_when_the_layer_is_narrower_than_the_schema()
    {
        using var w = new ModelWorkspace(Source.Replace("inputSize: 6", "inputSize: 2", System.StringComparison.Ordinal), SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        Assert.Equal("x", diagnostic.Properties["SchemaInput"]);
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic));
    }

    [Fact]
    public async Task No_schema_fix_when_the_schema_is_not_in_the_project_or_the_diagnostic_lacks_properties()
    {
        // The diagnostic names a schema path; the project has no AdditionalFiles document with it.
        var schema = ModelWorkspace.SchemaPath;
        using var elsewhere = new ModelWorkspace(Source, SetLayerArgumentFixTests.X4, "/repo/other/other.features.yaml");
        var read = await ModelWorkspace.ReadAsync(
            elsewhere.Solution,
            "M",
            NeuralSurgery.Schema.FeatureSchemaReader.ParseOrThrow(SetLayerArgumentFixTests.X4, schema));
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(read, "NS1006"));
        Assert.Empty(await elsewhere.FixesAsync(new SchemaCodeFixProvider(), diagnostic));

        using var none = new ModelWorkspace(Source, null);
        Assert.Empty(await none.FixesAsync(new SchemaCodeFixProvider(), diagnostic));

        using var w = new ModelWorkspace(Source, SetLayerArgumentFixTests.X4);
        var bare = Diagnostic.Create(
            ModelDiagnostics.LayerInputSizeMismatch,
            diagnostic.Location,
            diagnostic.AdditionalLocations,
            diagnostic.Properties.Remove("SchemaPath"),
            "fc", "Linear", "inputSize", "6", "x", "[B, 4]");
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), bare));
        Assert.Empty(await w.FixesAsync(new SchemaCodeFixProvider(), Diagnostic.Create(ModelDiagnostics.LayerInputSizeMismatch, diagnostic.Location, ImmutableDictionary<string, string?>.Empty, "fc", "Linear", "inputSize", "6", "x", "[B, 4]")));
    }

    [Fact]
    public async Task No_schema_fix_when_the_schema_has_errors()
    {
        using var w = new ModelWorkspace(Source, SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        var broken = w.Solution.WithAdditionalDocumentText(
            w.Project.AdditionalDocuments.Single().Id,
            Microsoft.CodeAnalysis.Text.SourceText.From(SetLayerArgumentFixTests.X4 + "\nunknown: 1\n"));
        var actions = ImmutableArray.CreateBuilder<Microsoft.CodeAnalysis.CodeActions.CodeAction>();
        var document = broken.Projects.Single().Documents.Single();
        await new SchemaCodeFixProvider().RegisterCodeFixesAsync(new Microsoft.CodeAnalysis.CodeFixes.CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), default));
        Assert.Empty(actions);
    }
}
