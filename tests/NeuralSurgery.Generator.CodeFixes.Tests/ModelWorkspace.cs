using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>
/// An <see cref="AdhocWorkspace"/> with one C# project, as the IDE has it: the model source compiled against the
/// real TorchSharp package (0.107), and the feature schema as an AdditionalFiles document.
/// </summary>
internal sealed class ModelWorkspace : IDisposable
{
    public const string SourcePath = "Model.cs";

    public const string SchemaPath = "/repo/models/model.features.yaml";

    /// <summary>The usings every test model starts with (5 lines, so a model's first line is line 6).</summary>
    public const string Usings = """
        using System;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    internal static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(System.IO.Path.PathSeparator);
        return tpa
            .Where(p => System.IO.Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || System.IO.Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(TorchSharp.torch).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    });

    private readonly AdhocWorkspace _workspace = new();

    /// <param name="source">The model source, without <see cref="Usings"/>.</param>
    /// <param name="schema">The YAML, or null for a project without the schema document.</param>
    /// <param name="schemaPath">The schema document's path (the reader's <c>SchemaPath</c> in a build).</param>
    public ModelWorkspace(string source, string? schema, string schemaPath = SchemaPath)
    {
        var projectId = ProjectId.CreateNewId();
        var solution = _workspace.CurrentSolution
            .AddProject(ProjectInfo.Create(
                projectId,
                VersionStamp.Default,
                "Models",
                "Models",
                LanguageNames.CSharp,
                compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
                parseOptions: new CSharpParseOptions(LanguageVersion.Latest),
                metadataReferences: References.Value))
            .AddDocument(DocumentId.CreateNewId(projectId), SourcePath, SourceText.From(Usings + source), filePath: SourcePath);
        if (schema is not null)
        {
            solution = solution.AddAdditionalDocument(DocumentId.CreateNewId(projectId), System.IO.Path.GetFileName(schemaPath), SourceText.From(schema), filePath: schemaPath);
        }

        Solution = solution;
    }

    public Solution Solution { get; }

    public Project Project => Solution.Projects.Single();

    public Document Document => Project.Documents.Single();

    public void Dispose() => _workspace.Dispose();

    /// <summary>
    /// Runs the model reader on <paramref name="className"/> in <paramref name="solution"/>'s project, against
    /// <paramref name="schema"/> (read from the project's schema document when not given), as the generator does.
    /// With <paramref name="withAttributes"/>, the attribute source the generator adds is compiled in too.
    /// </summary>
    public static async Task<ModelReadResult> ReadAsync(Solution solution, string className, FeatureSchema? schema = null, bool withAttributes = false)
    {
        var project = solution.Projects.Single();
        var compilation = (await project.GetCompilationAsync())!;
        if (withAttributes)
        {
            compilation = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(NeuralSurgery.Generator.Emit.AttributeSource.Text, (CSharpParseOptions)project.ParseOptions!));
        }

        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the test model does not compile:\n" + string.Join("\n", errors));
        if (schema is null && project.AdditionalDocuments.SingleOrDefault() is { } document)
        {
            var text = await document.GetTextAsync();
            schema = FeatureSchemaReader.ParseOrThrow(text.ToString(), document.FilePath!);
        }

        var type = compilation.GetTypeByMetadataName(className) ?? throw new InvalidOperationException("no class " + className);
        return ModelReader.Read(compilation, type, schema, CancellationToken.None);
    }

    public Task<ModelReadResult> ReadAsync(string className) => ReadAsync(Solution, className);

    /// <summary>The code actions <paramref name="provider"/> registers for <paramref name="diagnostic"/>, in order.</summary>
    public async Task<ImmutableArray<CodeAction>> FixesAsync(CodeFixProvider provider, Diagnostic diagnostic)
    {
        Assert.Contains(diagnostic.Id, provider.FixableDiagnosticIds);
        var actions = ImmutableArray.CreateBuilder<CodeAction>();
        var context = new CodeFixContext(Document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        await provider.RegisterCodeFixesAsync(context);
        return actions.ToImmutable();
    }

    /// <summary>The solution after <paramref name="action"/>'s one <see cref="ApplyChangesOperation"/>.</summary>
    public static async Task<Solution> ApplyAsync(CodeAction action)
    {
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        return Assert.IsType<ApplyChangesOperation>(Assert.Single(operations)).ChangedSolution;
    }

    public static async Task<string> SourceTextAsync(Solution solution) =>
        (await solution.Projects.Single().Documents.Single().GetTextAsync()).ToString();

    public static async Task<string> SchemaTextAsync(Solution solution) =>
        (await solution.Projects.Single().AdditionalDocuments.Single().GetTextAsync()).ToString();

    /// <summary>
    /// The reader's diagnostics with this id as the IDE hands them to a code fix: file locations (path and span)
    /// mapped onto the syntax tree of the document with that path, as it does for a generator's diagnostics.
    /// </summary>
    public static async Task<IReadOnlyList<Diagnostic>> DiagnosticsInSourceAsync(ModelReadResult result, string id, Solution solution)
    {
        var document = solution.Projects.Single().Documents.Single();
        var tree = (await document.GetSyntaxTreeAsync())!;
        Location Map(ReaderLocation l) =>
            l.FilePath == document.FilePath ? Location.Create(tree, l.Span) : l.ToLocation();

        return result.Diagnostics
            .Where(d => d.Id == id)
            .Select(d => Diagnostic.Create(
                ModelDiagnostics.Find(d.Id),
                Map(d.Location),
                d.AdditionalLocations.Select(Map),
                d.Properties.ToImmutableDictionary(p => p.Key, p => (string?)p.Value),
                d.MessageArgs.Cast<object>().ToArray()))
            .ToList();
    }

    /// <summary>The reader's diagnostics with this id, as Roslyn diagnostics (what the generator reports).</summary>
    public static IReadOnlyList<Diagnostic> Diagnostics(ModelReadResult result, string id) =>
        result.Diagnostics.Where(d => d.Id == id).Select(d => d.ToDiagnostic()).ToList();
}
