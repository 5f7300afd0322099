using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Xunit.Abstractions;

namespace NeuralSurgery.Generator.Tests.Corpus;

/// <summary>
/// The corpus of public TorchSharp models (Models/*.cs.txt, each with the feature schema a user would write): none
/// may crash the reader, each must read or be refused as corpus.json records, and the share that reads may only rise.
/// Set NS_UPDATE_CORPUS=1 to rewrite docs/corpus.md from today's results.
/// </summary>
public sealed class CorpusTests(ITestOutputHelper output)
{
    private const string DocPath = "docs/corpus.md";

    public static TheoryData<string> Entries()
    {
        var data = new TheoryData<string>();
        foreach (var e in CorpusManifest.Load().Entries)
        {
            data.Add(e.Name);
        }

        return data;
    }

    private static CorpusEntry Entry(string name) => CorpusManifest.Load().Entries.Single(e => e.Name == name);

    [Theory]
    [MemberData(nameof(Entries))]
    public void Entry_reads_as_recorded_and_does_not_crash(string name)
    {
        var entry = Entry(name);
        var outcome = CorpusReader.Read(entry);
        output.WriteLine($"{entry.Name}: {outcome.Status}");
        if (outcome.Reads && !entry.Reads)
        {
            Assert.Fail(
                $"Corpus entry '{entry.Name}' now reads, but {CorpusManifest.Path} records it as refused. The reader got better: " +
                $"update the manifest (set \"reads\": true for '{entry.Name}' and raise \"share\" to the new share), then " +
                $"regenerate {DocPath} with NS_UPDATE_CORPUS=1.");
        }

        if (!outcome.Reads && entry.Reads)
        {
            Assert.Fail(
                $"Corpus entry '{entry.Name}' ({entry.Origin}) no longer reads: {outcome.Status}. {CorpusManifest.Path} records it as " +
                "reading; this is a regression of the reader (fix it rather than the manifest).");
        }
    }

    [Fact]
    public void Manifest_lists_every_excerpt_once_with_its_schema()
    {
        var manifest = CorpusManifest.Load();
        var names = manifest.Entries.Select(e => e.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.True(names.Count >= 20, $"the corpus has {names.Count} entries; it should keep at least 20");
        var excerpts = CorpusFiles.Names().Where(n => n.EndsWith(".cs.txt", StringComparison.Ordinal)).Select(n => n["Models/".Length..^".cs.txt".Length]).Order(StringComparer.Ordinal);
        var schemas = CorpusFiles.Names().Where(n => n.EndsWith(".features.yaml", StringComparison.Ordinal)).Select(n => n["Models/".Length..^".features.yaml".Length]).Order(StringComparer.Ordinal);
        Assert.Equal(names.Order(StringComparer.Ordinal), excerpts);
        Assert.Equal(names.Order(StringComparer.Ordinal), schemas);
        foreach (var e in manifest.Entries)
        {
            var source = CorpusFiles.Read("Models/" + e.Name + ".cs.txt");
            Assert.True(source.Contains("Origin:", StringComparison.Ordinal), $"corpus entry '{e.Name}' has no 'Origin:' header comment");
            Assert.False(string.IsNullOrWhiteSpace(e.Origin), $"corpus entry '{e.Name}' names no origin in the manifest");
        }
    }

    [Fact]
    public void Share_that_reads_does_not_fall_below_the_recorded_share()
    {
        var manifest = CorpusManifest.Load();
        var rows = manifest.Entries.Select(e => (Entry: e, Outcome: CorpusReader.Read(e))).ToList();
        var reads = rows.Count(r => r.Outcome.Reads);
        var share = (double)reads / rows.Count;
        var table = Table(rows, reads);
        output.WriteLine(table);

        if (Environment.GetEnvironmentVariable("NS_UPDATE_CORPUS") == "1")
        {
            File.WriteAllText(Path.Combine(RepositoryRoot(), DocPath), table);
            output.WriteLine("wrote " + DocPath);
        }

        // "share" is recorded floored to 3 decimals: below it is a regression, 0.001 or more above it is unrecorded progress.
        Assert.True(
            share >= manifest.Share - 1e-9,
            $"{reads} of {rows.Count} corpus models read today ({share:P1}), below the {manifest.Share:P1} recorded in {CorpusManifest.Path}.");
        Assert.True(
            share < manifest.Share + 0.001 || rows.Any(r => r.Outcome.Reads != r.Entry.Reads),
            $"{reads} of {rows.Count} corpus models read today ({share:P1}), above the {manifest.Share:P1} recorded in {CorpusManifest.Path}: raise \"share\" there to {Math.Floor(share * 1000) / 1000:0.000} (the ratchet), then regenerate {DocPath} with NS_UPDATE_CORPUS=1.");
    }

    /// <summary>docs/corpus.md: today's share, one row per entry, and the blockers grouped by construct.</summary>
    internal static string Table(IReadOnlyList<(CorpusEntry Entry, CorpusOutcome Outcome)> rows, int reads)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# Corpus of public TorchSharp models");
        sb.AppendLine();
        sb.AppendLine("Generated by `CorpusTests` (tests/NeuralSurgery.Generator.Tests/Corpus); regenerate with");
        sb.AppendLine("`NS_UPDATE_CORPUS=1 dotnet test tests/NeuralSurgery.Generator.Tests -c Release --filter \"FullyQualifiedName~Corpus\"`.");
        sb.AppendLine("What the entries are, where they come from and how to add one: see the end of this page.");
        sb.AppendLine();
        sb.AppendLine(inv, $"**Today: {reads} of {rows.Count} models read ({(double)reads / rows.Count:P0}).** Goal: at least 80 %, none crashes.");
        sb.AppendLine();
        sb.AppendLine("| entry | origin | status | first diagnostic |");
        sb.AppendLine("| --- | --- | --- | --- |");
        foreach (var (e, o) in rows)
        {
            var diag = o.FirstError is null ? string.Empty : Cell(o.FirstError.Id + " " + o.FirstError.Message);
            sb.AppendLine(inv, $"| {e.Name} | {Cell(e.Origin)} | {(o.Reads ? "reads" : "refused")} | {diag} |");
        }

        sb.AppendLine();
        sb.AppendLine("## Blockers by construct");
        sb.AppendLine();
        sb.AppendLine("The construct of each refused model's first error (later errors of the same model are not counted).");
        sb.AppendLine();
        sb.AppendLine("| construct | models blocked | entries |");
        sb.AppendLine("| --- | --- | --- |");
        foreach (var g in rows.Where(r => !r.Outcome.Reads).GroupBy(r => r.Outcome.Blocker).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.AppendLine(inv, $"| {Cell(g.Key)} | {g.Count()} | {string.Join(", ", g.Select(r => r.Entry.Name))} |");
        }

        sb.AppendLine();
        sb.Append(CorpusFiles.Read("about.md"));
        return sb.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NeuralSurgery.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("NS_UPDATE_CORPUS=1: no NeuralSurgery.sln above " + AppContext.BaseDirectory);
    }
}
