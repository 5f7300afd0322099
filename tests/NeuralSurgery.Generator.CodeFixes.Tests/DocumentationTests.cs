using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace NeuralSurgery.Generator.CodeFixes.Tests;

/// <summary>What docs/diagnostics pages show is what the analyzer and the code fixes produce.</summary>
public class DocumentationTests
{
    [Theory]
    [InlineData("NS1016")]
    [InlineData("NS2001")]
    public async Task The_example_on_an_analyzer_page_gives_the_message_the_page_shows(string id)
    {
        var example = Section(Page(id), "## Example", "## How to fix");
        var code = Regex.Match(example, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        var shown = Regex.Match(example, "```text\n(.*?)\n```", RegexOptions.Singleline).Groups[1].Value;
        Assert.NotEmpty(code);

        var diagnostic = Assert.Single(await AnalyzerTests.AnalyzeAsync(code));
        var message = diagnostic.Substring(diagnostic.IndexOf(": ", StringComparison.Ordinal) + 2);
        Assert.Equal(shown, "error " + id + ": " + message);
    }

    [Fact]
    public async Task The_NS1006_page_names_the_fixes_offered_for_its_example()
    {
        var example = Section(Page("NS1006"), "## Example", "## How to fix");
        var code = Regex.Match(example, "```csharp\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        using var w = new ModelWorkspace(code, SetLayerArgumentFixTests.X4);
        var diagnostic = Assert.Single(ModelWorkspace.Diagnostics(await w.ReadAsync("M"), "NS1006"));
        var titles = (await w.FixesAsync(new SetLayerArgumentCodeFixProvider(), diagnostic))
            .Concat(await w.FixesAsync(new SchemaCodeFixProvider(), diagnostic))
            .Select(a => a.Title)
            .ToArray();

        Assert.Equal(new[] { "Set inputSize to 4", "Add the 6 missing features to input 'x' in the schema" }, titles);
        var howToFix = Section(Page("NS1006"), "## How to fix", null).Replace("\n", " ", StringComparison.Ordinal);
        Assert.All(titles, title => Assert.Contains("**" + title + "**", howToFix, StringComparison.Ordinal));
    }

    private static string Page(string id) => File.ReadAllText(Path.Combine(FindRepositoryRoot(), "docs", "diagnostics", id + ".md")).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string Section(string page, string start, string? end)
    {
        var from = page.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, "no section " + start);
        var to = end is null ? page.Length : page.IndexOf(end, from, StringComparison.Ordinal);
        return page.Substring(from, to - from);
    }

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
