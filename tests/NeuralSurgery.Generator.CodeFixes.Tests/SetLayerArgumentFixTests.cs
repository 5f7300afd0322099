using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>NS1006's C# fix: "Set {Argument} to {Size}" on the layer's size argument.</summary>
public class SetLayerArgumentFixTests
{
    internal const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
        outputs:
          y:
            features: [p, q]
        """;

    private static string Model(string field, string signature = "Module<Tensor, Tensor>", string forward = "public override Tensor forward(Tensor x) => fc.forward(x);") => $$"""
        public sealed class M : {{signature}}
        {
        {{field}}

            public M() : base("M") => RegisterComponents();

            {{forward}}
        }
        """;

    [Fact]
    public async Task A_named_argument_keeps_its_name_and_the_fixed_model_reads_without_diagnostics()
    {
        using var w = new ModelWorkspace(Model("    private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);"), X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));

        var fixes = await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic);
        var fix = Assert.Single(fixes);
        Assert.Equal("Set inputSize to 4", fix.Title);
        Assert.Equal(SetLayerArgumentCodeFixProvider.EquivalenceKey, fix.EquivalenceKey);

        var fixedSolution = await ModelWorkspace.ApplyAsync(fix);
        Assert.Equal(
            ModelWorkspace.Usings + Model("    private readonly Linear fc = Linear(inputSize: 4, outputSize: 2);"),
            await ModelWorkspace.SourceTextAsync(fixedSolution));
        var reread = await ModelWorkspace.ReadAsync(fixedSolution, "M");
        Assert.Empty(reread.Diagnostics);
        Assert.NotNull(reread.Graph);
    }

    [Fact]
    public async Task A_positional_argument_and_a_const_are_replaced_by_the_literal()
    {
        const string Fields = """
                private const int Hidden = 10;
                private readonly Linear fc = Linear(Hidden, 2);
            """;
        using var w = new ModelWorkspace(Model(Fields), X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));

        var fix = Assert.Single(await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic));
        var fixedSolution = await ModelWorkspace.ApplyAsync(fix);
        Assert.Equal(
            ModelWorkspace.Usings + Model(Fields.Replace("Linear(Hidden, 2)", "Linear(4, 2)")),
            await ModelWorkspace.SourceTextAsync(fixedSolution));
        Assert.Empty(ModelWorkspace.Diagnostics(await ModelWorkspace.ReadAsync(fixedSolution, "M"), "NS1006"));
    }

    [Fact]
    public async Task A_recurrent_layer_gets_its_input_size()
    {
        using var w = new ModelWorkspace(
            Model("    private readonly LSTM lstm = LSTM(5, 3);", forward: "public override Tensor forward(Tensor x) => lstm.forward(x.unsqueeze(0)).Item1.squeeze(0);"),
            X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));

        var fix = Assert.Single(await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic));
        Assert.Equal("Set inputSize to 4", fix.Title);
        var fixedSolution = await ModelWorkspace.ApplyAsync(fix);
        Assert.Contains("private readonly LSTM lstm = LSTM(4, 3);", await ModelWorkspace.SourceTextAsync(fixedSolution), System.StringComparison.Ordinal);
        Assert.Empty(ModelWorkspace.Diagnostics(await ModelWorkspace.ReadAsync(fixedSolution, "M"), "NS1006"));
    }

    [Fact]
    public async Task Fix_all_sets_every_mismatched_argument_in_the_document()
    {
        const string Schema = """
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
              z:
                features: [e, f, g]
            outputs:
              y:
                features: [p, q]
            """;
        const string Fields = """
                private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);
                private readonly Linear gate = Linear(7, 2);
            """;
        const string Forward = "public override Tensor forward(Tensor x, Tensor z) => fc.forward(x) + gate.forward(z);";
        using var w = new ModelWorkspace(Model(Fields, "Module<Tensor, Tensor, Tensor>", Forward), Schema);
        // Fix All groups diagnostics by the document their syntax tree belongs to, as the IDE has them.
        var diagnostics = await ModelWorkspace.DiagnosticsInSourceAsync(await w.ReadAsync("M"), "NS1006", w.Solution);
        Assert.Equal(2, diagnostics.Count);
        Assert.All(diagnostics, d => Assert.True(d.Location.IsInSource && d.AdditionalLocations[0].IsInSource));

        var provider = new SetLayerArgumentCodeFixProvider();
        var fixAll = provider.GetFixAllProvider();
        var context = new FixAllContext(
            w.Document,
            provider,
            FixAllScope.Document,
            SetLayerArgumentCodeFixProvider.EquivalenceKey,
            provider.FixableDiagnosticIds,
            new FixedDiagnostics([.. diagnostics]),
            CancellationToken.None);
        var action = await fixAll.GetFixAsync(context);
        Assert.NotNull(action);

        var fixedSolution = await ModelWorkspace.ApplyAsync(action!);
        Assert.Equal(
            ModelWorkspace.Usings + Model(
                Fields.Replace("inputSize: 10", "inputSize: 4").Replace("Linear(7, 2)", "Linear(3, 2)"),
                "Module<Tensor, Tensor, Tensor>",
                Forward),
            await ModelWorkspace.SourceTextAsync(fixedSolution));
        var reread = await ModelWorkspace.ReadAsync(fixedSolution, "M");
        Assert.Empty(reread.Diagnostics);
    }

    [Fact]
    public async Task No_fix_without_the_properties_or_the_argument_location()
    {
        using var w = new ModelWorkspace(Model("    private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);"), X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        var provider = new SetLayerArgumentCodeFixProvider();

        var bare = Diagnostic.Create(ModelDiagnostics.LayerInputSizeMismatch, diagnostic.Location, diagnostic.AdditionalLocations, ImmutableDictionary<string, string?>.Empty, "fc", "Linear", "inputSize", "10", "x", "[B, 4]");
        Assert.Empty(await w.FixesAsync(provider, bare));

        var noArgument = Diagnostic.Create(ModelDiagnostics.LayerInputSizeMismatch, diagnostic.Location, [], diagnostic.Properties, "fc", "Linear", "inputSize", "10", "x", "[B, 4]");
        Assert.Empty(await w.FixesAsync(provider, noArgument));
    }

    /// <summary>Fix All's diagnostics for the one test document.</summary>
    private sealed class FixedDiagnostics(ImmutableArray<Diagnostic> diagnostics) : FixAllContext.DiagnosticProvider
    {
        public override Task<System.Collections.Generic.IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            Task.FromResult<System.Collections.Generic.IEnumerable<Diagnostic>>(diagnostics);

        public override Task<System.Collections.Generic.IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken) =>
            Task.FromResult<System.Collections.Generic.IEnumerable<Diagnostic>>(diagnostics);

        public override Task<System.Collections.Generic.IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            Task.FromResult(Enumerable.Empty<Diagnostic>());
    }
}
