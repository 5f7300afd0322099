using System;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Generator.Tests.Reading;

namespace NeuralSurgery.Generator.Tests.Corpus;

/// <summary>What the reader made of one corpus entry.</summary>
/// <param name="Reads">A graph was built and no error diagnostic was reported.</param>
/// <param name="FirstError">The first error diagnostic (null when the entry reads).</param>
public sealed record CorpusOutcome(bool Reads, ReaderDiagnostic? FirstError)
{
    /// <summary><c>reads</c>, or <c>refused: NS1001 message</c>.</summary>
    public string Status => Reads ? "reads" : "refused: " + (FirstError is null ? "no graph and no error diagnostic" : FirstError.Id + " " + FirstError.Message);

    /// <summary>
    /// The construct that blocks the model, derived from the first error: for NS1001 its kind and reason (e.g.
    /// <c>call: no mirror rule ...</c>), for other ids the diagnostic's title.
    /// </summary>
    public string Blocker
    {
        get
        {
            if (Reads)
            {
                return string.Empty;
            }

            if (FirstError is null)
            {
                return "no graph and no error diagnostic";
            }

            var args = FirstError.MessageArgs;
            if (FirstError.Id == "NS1001" && args.Count >= 4)
            {
                return $"NS1001 {args[0]}: {args[3]}";
            }

            return FirstError.Id + " " + ModelDiagnostics.Find(FirstError.Id).Title.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>
/// Compiles a corpus excerpt (which brings its own usings, unlike <see cref="ModelSource.Read(string, string, string?)"/>)
/// against the real TorchSharp package and runs the model reader on it with the entry's schema.
/// </summary>
internal static class CorpusReader
{
    public static CSharpCompilation Compile(CorpusEntry entry, string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), entry.Name + ".cs");
        var compilation = CSharpCompilation.Create(
            "Corpus_" + entry.Name.Replace('-', '_'),
            [tree],
            ModelSource.References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"corpus entry '{entry.Name}' does not compile against TorchSharp:\n" + string.Join("\n", errors));
        return compilation;
    }

    /// <summary>Reads the entry; an exception escaping the reader fails the calling test as a crash.</summary>
    public static CorpusOutcome Read(CorpusEntry entry)
    {
        var source = CorpusFiles.Read("Models/" + entry.Name + ".cs.txt");
        var yaml = CorpusFiles.Read("Models/" + entry.Name + ".features.yaml");
        var compilation = Compile(entry, source);
        var type = compilation.GetTypeByMetadataName(entry.Class);
        Assert.True(type is not null, $"corpus entry '{entry.Name}': no class '{entry.Class}' in its excerpt");
        var schema = ModelSource.Schema(yaml, entry.Name + ".features.yaml");

        ModelReadResult result;
        try
        {
            result = ModelReader.Read(compilation, type!, schema, CancellationToken.None);
        }
#pragma warning disable CA1031 // a crash of any kind is what this test reports
        catch (Exception e)
#pragma warning restore CA1031
        {
            Assert.Fail($"the model reader crashed on corpus entry '{entry.Name}' ({entry.Origin}): {e}");
            throw;
        }

        var firstError = result.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
        return new CorpusOutcome(result.Graph is not null && firstError is null, firstError);
    }
}
