using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>The result is plain equatable data; the catalogue is complete and tracked.</summary>
public class ResultTests
{
    [Fact]
    public void A_result_holds_no_symbol_syntax_operation_or_compilation()
    {
        var result = ModelSource.Read(OpenAiFiveTests.Source, "Policy", OpenAiFiveTests.Yaml);
        var withDiagnostics = ModelSource.Read(DiagnosticCases.Model("""
                private readonly Linear fc = Linear(inputSize: 10, outputSize: 2);

                public override Tensor forward(Tensor x) => fc.forward(x);
            """), "M", DiagnosticCases.X4);
        Assert.NotEmpty(withDiagnostics.Diagnostics);

        foreach (var (r, minimum) in new[] { (result, 200), (withDiagnostics, 10) })
        {
            var forbidden = new[] { typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(SemanticModel), typeof(IOperation), typeof(Location) };
            var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
            Walk(r, forbidden, seen, "result");
            Assert.True(seen.Count > minimum, "the walk reached only " + seen.Count + " objects");
        }
    }

    private static void Walk(object? value, Type[] forbidden, HashSet<object> seen, string path)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum)
        {
            return;
        }

        var type = value.GetType();
        Assert.False(forbidden.Any(f => f.IsAssignableFrom(type)), $"{path} is a {type.Name}");
        if (!type.IsValueType && !seen.Add(value))
        {
            return;
        }

        if (value is IEnumerable items)
        {
            var i = 0;
            foreach (var item in items)
            {
                Walk(item, forbidden, seen, $"{path}[{i++}]");
            }
        }

        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Walk(field.GetValue(value), forbidden, seen, path + "." + field.Name);
            }
        }
    }

    [Fact]
    public void Results_of_different_models_differ()
    {
        var a = ModelSource.Read(OpenAiFiveTests.Source, "Policy", OpenAiFiveTests.Yaml);
        var b = ModelSource.Read(OpenAiFiveTests.Source.Replace("Embedding(5, 4)", "Embedding(5, 3)", StringComparison.Ordinal).Replace("2 * Encoder + 4", "2 * Encoder + 3", StringComparison.Ordinal), "Policy", OpenAiFiveTests.Yaml);
        Assert.NotNull(b.Graph);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void The_source_map_locates_the_class_forward_modules_inputs_and_outputs()
    {
        var r = ModelSource.Read(OpenAiFiveTests.Source, "Policy", OpenAiFiveTests.Yaml);
        Assert.Equal("Model.cs(21,21)", r.Find(SourceMapKind.Class, "Policy")!.ToString());
        Assert.Equal("Model.cs(41,54)", r.Find(SourceMapKind.Forward, "forward")!.ToString());
        Assert.Equal("Model.cs(14,18)", r.Find(SourceMapKind.Module, "heads.target")!.ToString());
        Assert.Equal("Model.cs(28,44)", r.Find(SourceMapKind.Module, "unit_encoder")!.ToString());
        Assert.Equal("Model.cs(41,98)", r.Find(SourceMapKind.Input, "units")!.ToString());
        Assert.Equal("Model.cs(51,17)", r.Find(SourceMapKind.Output, "action_type")!.ToString());
        Assert.Equal("Model.cs(51,93)", r.Find(SourceMapKind.Output, "c")!.ToString());
    }

    [Fact]
    public void Reading_observes_cancellation()
    {
        var compilation = ModelSource.Compile(ModelSource.Usings + OpenAiFiveTests.Source);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ModelReader.Read(compilation, compilation.GetTypeByMetadataName("Policy")!, ModelSource.Schema(OpenAiFiveTests.Yaml), cts.Token));
    }

    [Fact]
    public void The_catalogue_has_unique_NS1xxx_ids_each_tracked_in_the_unshipped_release_file()
    {
        var ids = ModelDiagnostics.All.Select(d => d.Id).ToList();
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.All(ModelDiagnostics.All, d =>
        {
            Assert.Matches("^NS1[0-9]{3}$", d.Id);
            Assert.Equal(ModelDiagnostics.Category, d.Category);
            Assert.Equal($"{ModelDiagnostics.DocsBaseUrl}docs/diagnostics/{d.Id}.md", d.HelpLinkUri);
            Assert.Same(d, ModelDiagnostics.Find(d.Id));
        });

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralSurgery.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var rows = File.ReadAllLines(Path.Combine(dir!.FullName, "src", "NeuralSurgery.Generator", "AnalyzerReleases.Unshipped.md"))
            .Where(l => l.StartsWith("NS1", StringComparison.Ordinal))
            .Select(l => l.Split('|').Select(c => c.Trim()).ToArray())
            .ToDictionary(c => c[0], c => c);
        foreach (var d in ModelDiagnostics.All)
        {
            Assert.True(rows.TryGetValue(d.Id, out var row), d.Id + " has no AnalyzerReleases.Unshipped.md row");
            Assert.Equal(d.Category, row![1]);
            Assert.Equal(d.DefaultSeverity.ToString(), row[2]);
        }

        Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), rows.Keys.OrderBy(i => i, StringComparer.Ordinal));
    }
}
