using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Tests.Diagnostics;

/// <summary>
/// Every diagnostic in the catalogues (<see cref="ModelDiagnostics.All"/>, <see cref="SchemaErrorCodes.All"/>) has a
/// page docs/diagnostics/ID.md titled with the catalogue's title, and a row in docs/diagnostics/README.md.
/// </summary>
public class DocumentationTests
{
    private static readonly Lazy<string> DiagnosticsFolder = new(() => Path.Combine(FindRepositoryRoot(), "docs", "diagnostics"));

    /// <summary>id, title, severity ("Error" or "Warning") of every diagnostic, schema codes first.</summary>
    public static TheoryData<string, string, string> Catalogue()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var id in SchemaErrorCodes.All)
        {
            data.Add(id, SchemaErrorCodes.GetTitle(id)!, "Error");
        }

        foreach (var descriptor in ModelDiagnostics.All.Concat(SurgeryDiagnostics.All).Append(GeneratorDiagnostics.SchemaFileNotFound))
        {
            data.Add(descriptor.Id, descriptor.Title.ToString(CultureInfo.InvariantCulture), Severity(descriptor.DefaultSeverity));
        }

        return data;
    }

    [Fact]
    public void The_catalogues_are_not_empty()
    {
        Assert.NotEmpty(SchemaErrorCodes.All);
        Assert.NotEmpty(ModelDiagnostics.All);
    }

    [Theory]
    [MemberData(nameof(Catalogue))]
    public void Every_diagnostic_has_a_page_titled_with_its_id_and_title(string id, string title, string severity)
    {
        var page = Path.Combine(DiagnosticsFolder.Value, id + ".md");
        Assert.True(File.Exists(page), "missing page " + page);

        var lines = File.ReadAllLines(page);
        Assert.NotEmpty(lines);
        Assert.Equal("# " + id + ": " + title, lines[0]);
        Assert.Contains(lines, line => line.StartsWith("**Severity:** " + severity, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Catalogue))]
    public void Every_diagnostic_has_a_row_in_the_index(string id, string title, string severity)
    {
        var index = Path.Combine(DiagnosticsFolder.Value, "README.md");
        Assert.True(File.Exists(index), "missing index " + index);

        var rows = File.ReadAllLines(index).Where(line => line.StartsWith("| [" + id + "]", StringComparison.Ordinal)).ToList();
        var row = Assert.Single(rows);
        Assert.Equal("| [" + id + "](" + id + ".md) | " + title + " | " + severity + " |", row);
    }

    [Fact]
    public void Help_links_are_absolute_urls_of_pages_in_the_repository()
    {
        // A package consumer has no docs/ folder: an IDE opens only an absolute link, and it must name a page that exists.
        var root = FindRepositoryRoot();
        Assert.True(Uri.TryCreate(ModelDiagnostics.DocsBaseUrl, UriKind.Absolute, out var docsBase) && docsBase.Scheme == Uri.UriSchemeHttps, ModelDiagnostics.DocsBaseUrl);
        Assert.All(ModelDiagnostics.All.Concat(SurgeryDiagnostics.All).Concat(GeneratorDiagnostics.Schema).Append(GeneratorDiagnostics.SchemaFileNotFound), descriptor =>
        {
            Assert.True(Uri.TryCreate(descriptor.HelpLinkUri, UriKind.Absolute, out _), descriptor.Id + ": not an absolute URL: " + descriptor.HelpLinkUri);
            Assert.StartsWith(ModelDiagnostics.DocsBaseUrl, descriptor.HelpLinkUri, StringComparison.Ordinal);
            var page = descriptor.HelpLinkUri[ModelDiagnostics.DocsBaseUrl.Length..];
            Assert.Equal("docs/diagnostics/" + descriptor.Id + ".md", page);
            Assert.True(File.Exists(Path.Combine(root, page)), "help link does not resolve: " + descriptor.HelpLinkUri);
        });
    }

    private static string Severity(DiagnosticSeverity severity) => severity switch
    {
        DiagnosticSeverity.Error => "Error",
        DiagnosticSeverity.Warning => "Warning",
        DiagnosticSeverity.Info => "Info",
        _ => severity.ToString(),
    };

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NeuralSurgery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("no folder above " + AppContext.BaseDirectory + " contains NeuralSurgery.sln");
    }
}
