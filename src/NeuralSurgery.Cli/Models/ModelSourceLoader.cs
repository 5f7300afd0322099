using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.FrontEnd;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using NeuralSurgery.IO;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Models;

/// <summary>A model class read from source: its graph, the schema it was bound to (path and text when read from a file), and its names.</summary>
internal sealed record LoadedModel(ModelGraph Graph, FeatureSchema? Schema, string? SchemaPath, string? SchemaText, string Name, string MetadataName, EquatableArray<WidthSite> WidthSites = default);

/// <summary>
/// Reads a TorchSharp model class from C# source with the Generator's <see cref="ModelReader"/>: parses the files,
/// binds them against TorchSharp and the platform assemblies (a compilation, never emitted), picks the model class,
/// and prints every diagnostic as <c>path(line,col): error NS1xxx: message</c> on stderr.
/// </summary>
/// <remarks>
/// Compilation, class lookup and reading are the Generator's <see cref="ModelFrontEnd"/>; this class adds what is
/// the command line's own: files on disk, the TorchSharp.dll to bind against, <c>--class</c>, and printing.
/// </remarks>
internal static class ModelSourceLoader
{
    /// <summary>Whether a path names C# source rather than graph JSON.</summary>
    public static bool IsSource(string path) => path.EndsWith(".cs", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The graph of the model class in <paramref name="files"/>. Warnings are printed and reading goes on; errors
    /// are all printed, then a <see cref="CliException"/> says how many there were.
    /// </summary>
    public static ModelGraph Load(
        IReadOnlyList<string> files,
        FeatureSchema? schema,
        string? className,
        string? torchSharpPath,
        CliConsole console,
        CancellationToken cancellation) =>
        LoadModel(files, schema, className, torchSharpPath, console, cancellation).Graph;

    /// <summary>
    /// As <see cref="Load"/>, with the schema used, the class's names and the schema's file and text (what a snapshot
    /// records). Without a schema, the one the class's <c>[SurgeryModel("…features.yaml")]</c> names is read (the path
    /// as written, next to the model file or in a folder above it), as the build reads it.
    /// </summary>
    public static LoadedModel LoadModel(
        IReadOnlyList<string> files,
        FeatureSchema? schema,
        string? className,
        string? torchSharpPath,
        CliConsole console,
        CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0)
        {
            throw new CliException("no model source given (*.cs)");
        }

        foreach (var file in files)
        {
            if (!IsSource(file))
            {
                throw new CliException($"{file}: expected C# model source (*.cs)");
            }

            if (!File.Exists(file))
            {
                throw new CliException($"{file}: no such file");
            }
        }

        var sources = files.Select(f => new KeyValuePair<string, string>(f, InputFile.ReadAllText(f, "model source", InputFile.MaxSourceBytes))).ToList();
        return LoadSources(sources, schema, className, torchSharpPath, AttributeSchema, console, cancellation);
    }

    /// <summary>
    /// Reads the model class from <paramref name="sources"/> (path, text: files on disk, or a file as it was at an
    /// older commit). Without <paramref name="schema"/>, <paramref name="findSchema"/> turns the class's
    /// <c>[SurgeryModel]</c> path into the schema's path and text (null: no attribute).
    /// </summary>
    public static LoadedModel LoadSources(
        IReadOnlyList<KeyValuePair<string, string>> sources,
        FeatureSchema? schema,
        string? className,
        string? torchSharpPath,
        Func<INamedTypeSymbol, string, (string Path, string Text)?> findSchema,
        CliConsole console,
        CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(console);
        var files = sources.Select(s => s.Key).ToList();
        var (torchSharp, discovered) = TorchSharpLocator.Resolve(torchSharpPath);
        if (discovered)
        {
            console.Error.WriteLine($"using TorchSharp from {torchSharp}");
        }

        var compilation = ModelFrontEnd.Compile(sources, PlatformReferences().Append(MetadataReference.CreateFromFile(torchSharp)), cancellation);

        // Syntax errors always matter: the reader would follow a different program from the one written.
        var syntaxErrors = compilation.SyntaxTrees
            .SelectMany(t => t.GetDiagnostics(cancellation))
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .ToList();
        if (syntaxErrors.Count > 0)
        {
            Fail(console, syntaxErrors.Select(Format), files[0]);
        }

        var modelClass = FindClass(compilation, className, files);
        string? schemaPath = null;
        string? schemaText = null;
        if (schema is null && findSchema(modelClass, ModelFrontEnd.DeclaringFile(modelClass) ?? files[0]) is { } named)
        {
            console.Error.WriteLine($"using schema {named.Path} ([SurgeryModel] of {modelClass.Name})");
            (schemaPath, schemaText) = named;
            schema = FeatureSchemaReader.ParseOrThrow(named.Text, named.Path);
        }
        else if (schema is not null)
        {
            schemaPath = schema.Path;
        }

        var result = ModelFrontEnd.Read(compilation, modelClass, schema, cancellation);
        if (result.HasErrors || result.Graph is null)
        {
            // Binding errors in the model class (a missing using, a typo) are the likely cause: show them first.
            var bindErrors = CompileErrors(compilation, modelClass, cancellation).Select(Format);
            Fail(console, bindErrors.Concat(result.Diagnostics.Select(Format)), Where(modelClass, files[0]), result.ModelName);
        }

        foreach (var diagnostic in result.Diagnostics)
        {
            console.Error.WriteLine(Format(diagnostic));
        }

        return new LoadedModel(result.Graph!, schema, schemaPath, schemaText, modelClass.Name, ModelFrontEnd.MetadataName(modelClass), result.WidthSites);
    }

    /// <summary>
    /// The schema file a <c>[SurgeryModel]</c> attribute names, found as the build finds it among its AdditionalFiles:
    /// the path as written, relative to the model file's folder or one of the folders above it. Null without one.
    /// </summary>
    private static (string Path, string Text)? AttributeSchema(INamedTypeSymbol modelClass, string declared)
    {
        var written = ModelFrontEnd.SchemaPathOf(modelClass);
        if (written is null)
        {
            return null;
        }

        for (var dir = Path.GetDirectoryName(Path.GetFullPath(declared)); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            var candidate = Path.Combine(dir, written);
            if (File.Exists(candidate))
            {
                return (candidate, InputFile.ReadAllText(candidate, "feature schema", InputFile.MaxSourceBytes));
            }
        }

        throw new CliException($"{declared}: [SurgeryModel(\"{written}\")] of {modelClass.Name} names a schema found neither next to the file nor in a folder above it; give it with the schema option");
    }

    /// <summary><c>path(line,col): error NS1xxx: message</c>, as MSBuild prints a diagnostic.</summary>
    public static string Format(ReaderDiagnostic diagnostic) =>
        $"{diagnostic.Location}: {Severity(diagnostic.Severity)} {diagnostic.Id}: {ErrorReport.OneLine(diagnostic.Message)}";

    public static string Format(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan();
        var where = diagnostic.Location.IsInSource
            ? $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): "
            : string.Empty;
        return $"{where}{Severity(diagnostic.Severity)} {diagnostic.Id}: {ErrorReport.OneLine(diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture))}";
    }

    /// <summary>
    /// The runtime's own assemblies (System.*, mscorlib, netstandard) from the trusted platform assemblies; the
    /// tool's dependencies (Roslyn, Spectre) are left out so they cannot clash with the model's names.
    /// </summary>
    private static IEnumerable<MetadataReference> PlatformReferences()
    {
        var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty;
        return tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p =>
            {
                var name = Path.GetFileName(p);
                return name.StartsWith("System.", StringComparison.Ordinal)
                    || name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal)
                    || name is "mscorlib.dll" or "netstandard.dll" or "Microsoft.CSharp.dll";
            })
            .Where(p => !Path.GetFileName(p).Equals("TorchSharp.dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
    }

    /// <summary><c>--class</c>, else the one class deriving from TorchSharp's <c>Module</c> in the files.</summary>
    internal static INamedTypeSymbol FindClass(CSharpCompilation compilation, string? className, IReadOnlyList<string> files)
    {
        var classes = ModelFrontEnd.SourceClasses(compilation);
        var modules = classes.Where(c => !c.IsAbstract && ModelFrontEnd.IsModule(c)).ToList();
        var what = files.Count == 1 ? files[0] : $"{files[0]} (and {files.Count - 1} more)";
        if (className is not null)
        {
            var named = classes.Where(c => c.Name == className || c.ToDisplayString() == className).ToList();
            if (named.Count == 0)
            {
                throw new CliException($"--class {className}: {what} has no such class; {Candidates(modules)}");
            }

            if (named.Count > 1)
            {
                throw new CliException($"--class {className}: several classes have this name ({string.Join(", ", named.Select(c => c.ToDisplayString()))}); give the full name");
            }

            return ModelFrontEnd.IsModule(named[0])
                ? named[0]
                : throw new CliException($"--class {className}: {named[0].ToDisplayString()} does not derive from TorchSharp's torch.nn.Module");
        }

        return modules.Count switch
        {
            1 => modules[0],
            0 => throw new CliException($"{what}: no class derives from TorchSharp's torch.nn.Module"),
            _ => throw new CliException($"{what}: several model classes ({string.Join(", ", modules.Select(c => c.ToDisplayString()))}); pick one with --class"),
        };
    }

    private static string Candidates(IReadOnlyList<INamedTypeSymbol> modules) =>
        modules.Count == 0
            ? "no class derives from TorchSharp's torch.nn.Module"
            : "model classes: " + string.Join(", ", modules.Select(c => c.ToDisplayString()));

    /// <summary>Compile errors in the files that declare the model class (the ones that can stop the reader).</summary>
    private static IEnumerable<Diagnostic> CompileErrors(CSharpCompilation compilation, INamedTypeSymbol modelClass, CancellationToken cancellation)
    {
        var trees = modelClass.DeclaringSyntaxReferences.Select(r => r.SyntaxTree).ToHashSet();
        return compilation.GetDiagnostics(cancellation)
            .Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } tree && trees.Contains(tree));
    }

    private static string Where(INamedTypeSymbol modelClass, string fallback) =>
        modelClass.Locations.FirstOrDefault()?.SourceTree?.FilePath ?? fallback;

    private static void Fail(CliConsole console, IEnumerable<string> lines, string path, string? model = null)
    {
        var errors = 0;
        foreach (var line in lines)
        {
            console.Error.WriteLine(line);
            if (line.Contains(": error ", StringComparison.Ordinal) || line.StartsWith("error ", StringComparison.Ordinal))
            {
                errors++;
            }
        }

        var subject = model is null ? path : $"{path}: model '{model}'";
        throw new CliException($"{subject}: {Infrastructure.Format.Plural(Math.Max(errors, 1), "error")} reading the model (listed above)");
    }

    private static string Severity(DiagnosticSeverity severity) => severity switch
    {
        DiagnosticSeverity.Error => "error",
        DiagnosticSeverity.Warning => "warning",
        DiagnosticSeverity.Info => "info",
        _ => "hidden",
    };
}
