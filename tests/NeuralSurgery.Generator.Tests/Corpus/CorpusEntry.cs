using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NeuralSurgery.Generator.Tests.Corpus;

/// <summary>One public model of the corpus, as recorded in corpus.json.</summary>
/// <param name="Name">The entry name: Models/{Name}.cs.txt and Models/{Name}.features.yaml.</param>
/// <param name="Class">The model class's metadata name (namespace included).</param>
/// <param name="Origin">Repository and path the model was written after.</param>
/// <param name="Reads">The recorded expectation: true when the reader builds a graph with no error diagnostic.</param>
public sealed record CorpusEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("class")] string Class,
    [property: JsonPropertyName("origin")] string Origin,
    [property: JsonPropertyName("reads")] bool Reads)
{
    public override string ToString() => Name;
}

/// <summary>corpus.json: the entries and the share that read (the ratchet).</summary>
public sealed record CorpusManifest(
    [property: JsonPropertyName("share")] double Share,
    [property: JsonPropertyName("entries")] IReadOnlyList<CorpusEntry> Entries)
{
    /// <summary>Where the manifest lives in the repository, for messages.</summary>
    public const string Path = "tests/NeuralSurgery.Generator.Tests/Corpus/corpus.json";

    private static readonly Lazy<CorpusManifest> Cached = new(() =>
        JsonSerializer.Deserialize<CorpusManifest>(CorpusFiles.Read("corpus.json"))
        ?? throw new InvalidOperationException("corpus.json is empty"));

    public static CorpusManifest Load() => Cached.Value;
}

/// <summary>The corpus files, embedded in the test assembly under their file names (no network at test time).</summary>
internal static class CorpusFiles
{
    private const string Prefix = "Corpus/";

    public static string Read(string name)
    {
        var assembly = typeof(CorpusFiles).Assembly;
        using var stream = assembly.GetManifestResourceStream(Prefix + name)
            ?? throw new FileNotFoundException($"no embedded corpus file '{name}'; resources: {string.Join(", ", assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static IEnumerable<string> Names() =>
        typeof(CorpusFiles).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..]);
}
