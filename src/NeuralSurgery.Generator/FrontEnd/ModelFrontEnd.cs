using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Emit;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.FrontEnd;

/// <summary>
/// The reading half of the one front end (STYLE.md 14), for hosts outside the compiler (the CLI, snapshot tools):
/// compiles model files the way a project with the package does (the generator's attributes and the SDK's implicit
/// usings are part of the compilation), finds model classes, names the schema a <c>[SurgeryModel]</c> points to,
/// and runs the model reader. Planning is <see cref="NeuralSurgery.Plan.SurgeryPlanner"/> in Core, shared with the
/// generator.
/// </summary>
public static class ModelFrontEnd
{
    /// <summary>The file name the attribute source gets in a compilation (as the generator adds it).</summary>
    public const string AttributeHintName = AttributeSource.HintName;

    /// <summary>
    /// The global usings the .NET SDK adds to a console or library project (ImplicitUsings, on by default in new
    /// projects): model files written for such a project use Console, List&lt;T&gt; or Task without a using. Where a
    /// file has its own usings, the duplicates are harmless.
    /// </summary>
    private const string ImplicitUsings = @"global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
global using System.Net.Http;
global using System.Threading;
global using System.Threading.Tasks;
";

    /// <summary>
    /// A compilation (never emitted) of <paramref name="sources"/> (path, text) against <paramref name="references"/>,
    /// with the generator's attributes (<c>[SurgeryModel]</c>, <c>[SurgeryFrom]</c>, <c>[SurgeryRename]</c>) and the
    /// SDK's implicit usings added: the exact files that build with the package compile here too.
    /// </summary>
    public static CSharpCompilation Compile(
        IEnumerable<KeyValuePair<string, string>> sources,
        IEnumerable<MetadataReference> references,
        CancellationToken cancellationToken = default)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = new List<SyntaxTree>();
        foreach (var source in sources)
        {
            trees.Add(CSharpSyntaxTree.ParseText(source.Value, options, source.Key, cancellationToken: cancellationToken));
        }

        trees.Add(CSharpSyntaxTree.ParseText(ImplicitUsings, options, "ImplicitUsings.g.cs", cancellationToken: cancellationToken));
        trees.Add(CSharpSyntaxTree.ParseText(AttributeSource.Text, options, AttributeSource.HintName, cancellationToken: cancellationToken));
        return CSharpCompilation.Create(
            "NeuralSurgery.Models",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
    }

    /// <summary>Whether a type derives from TorchSharp's <c>torch.nn.Module</c>.</summary>
    public static bool IsModule(INamedTypeSymbol type) => TorchSymbols.IsModule(type);

    /// <summary>The classes declared in the compilation's source, by file then position (nested ones after their container).</summary>
    public static IReadOnlyList<INamedTypeSymbol> SourceClasses(Compilation compilation)
    {
        var stack = new Stack<INamespaceOrTypeSymbol>();
        stack.Push(compilation.Assembly.GlobalNamespace);
        var result = new List<INamedTypeSymbol>();
        while (stack.Count > 0)
        {
            foreach (var member in stack.Pop().GetMembers())
            {
                if (member is INamespaceSymbol ns)
                {
                    stack.Push(ns);
                }
                else if (member is INamedTypeSymbol { TypeKind: TypeKind.Class } type && type.DeclaringSyntaxReferences.Length > 0)
                {
                    result.Add(type);
                    stack.Push(type);
                }
            }
        }

        return result
            .OrderBy(t => t.Locations[0].SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(t => t.Locations[0].SourceSpan.Start)
            .ToList();
    }

    /// <summary>The schema path a class's <c>[SurgeryModel("…")]</c> names, as written; null without the attribute.</summary>
    public static string? SchemaPathOf(INamedTypeSymbol type)
    {
        foreach (var attribute in type.GetAttributes())
        {
            if (attribute.AttributeClass?.ToDisplayString() == AttributeSource.SurgeryModelAttributeMetadataName
                && attribute.ConstructorArguments.Length == 1
                && attribute.ConstructorArguments[0].Value is string path
                && path.Trim().Length > 0)
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Namespace, then containing types joined by <c>+</c>: what <c>GetTypeByMetadataName</c> takes.</summary>
    public static string MetadataName(INamedTypeSymbol type)
    {
        var name = type.MetadataName;
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            name = outer.MetadataName + "+" + name;
        }

        // Namespace names one by one: ToDisplayString escapes keywords (Game.@event), which GetTypeByMetadataName
        // does not find, so the model was silently never read.
        for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            name = ns.MetadataName + "." + name;
        }

        return name;
    }

    /// <summary>The path of the file that declares <paramref name="type"/> (its first declaration), or null.</summary>
    public static string? DeclaringFile(INamedTypeSymbol type) =>
        type.Locations.FirstOrDefault(l => l.IsInSource)?.SourceTree?.FilePath;

    /// <summary>Runs the model reader (DESIGN.md section 4) on one class against its schema.</summary>
    public static ModelReadResult Read(Compilation compilation, INamedTypeSymbol modelClass, FeatureSchema? schema, CancellationToken cancellationToken = default) =>
        ModelReader.Read(compilation, modelClass, schema, cancellationToken);
}
