using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>The generator's descriptors: one per schema code, documented, help-linked and in the release tracking file.</summary>
public class GeneratorDiagnosticsCatalogueTests
{
    [Fact]
    public void There_is_a_descriptor_per_schema_code_titled_by_the_reader()
    {
        Assert.Equal(SchemaErrorCodes.All, GeneratorDiagnostics.Schema.Select(d => d.Id));
        Assert.All(GeneratorDiagnostics.Schema, d =>
        {
            Assert.Equal(SchemaErrorCodes.GetTitle(d.Id), d.Title.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(DiagnosticSeverity.Error, d.DefaultSeverity);
        });
    }

    [Fact]
    public void Every_descriptor_has_a_page_a_row_a_help_link_and_a_release_entry()
    {
        var docs = Path.Combine(Repository.Root, "docs", "diagnostics");
        var index = File.ReadAllLines(Path.Combine(docs, "README.md"));
        var releases = File.ReadAllLines(Path.Combine(Repository.Root, "src", "NeuralSurgery.Generator", "AnalyzerReleases.Unshipped.md"));
        Assert.All(GeneratorDiagnostics.All, d =>
        {
            var title = d.Title.ToString(CultureInfo.InvariantCulture);
            var severity = d.DefaultSeverity.ToString();
            Assert.Equal(ModelDiagnostics.DocsBaseUrl + "docs/diagnostics/" + d.Id + ".md", d.HelpLinkUri);
            Assert.Equal("# " + d.Id + ": " + title, File.ReadLines(Path.Combine(docs, d.Id + ".md")).First());
            Assert.Single(index, line => line == "| [" + d.Id + "](" + d.Id + ".md) | " + title + " | " + severity + " |");
            Assert.Single(releases, line => line == d.Id + " | " + d.Category + " | " + severity + " | " + title);
        });
    }
}
