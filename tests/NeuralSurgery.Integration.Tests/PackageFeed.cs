using System;
using System.Collections.Generic;
using System.IO;

namespace NeuralSurgery.Integration.Tests;

/// <summary>
/// The NeuralSurgery packages packed once into a folder feed (Core, the NeuralSurgery package with the generator and
/// build files, and NeuralSurgery.Reference), shared by the tests of <see cref="PackageFeedCollection"/>, and the
/// fresh projects outside the repository that consume them.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    public PackageFeed()
    {
        Dir = Directory.CreateTempSubdirectory("ns-feed-").FullName;
        Feed = Path.Combine(Dir, "feed");
        var artifacts = Path.Combine(Dir, "pack-artifacts");
        var packs = new List<DotnetResult>();
        foreach (var project in new[] { "NeuralSurgery.Core", "NeuralSurgery.Runtime", "NeuralSurgery.Reference" })
        {
            var pack = Dotnet.Pack(Path.Combine(Dotnet.RepoRoot, "src", project, project + ".csproj"), artifacts, Feed);
            packs.Add(pack);
            if (pack.ExitCode != 0)
            {
                break;
            }
        }

        Packs = packs;
    }

    /// <summary>The temporary folder: the feed, the pack's artifacts and the consumers.</summary>
    public string Dir { get; }

    public string Feed { get; }

    /// <summary>Each pack run; a test asserts they succeeded, so a failed pack fails the tests that need it, with its output.</summary>
    public IReadOnlyList<DotnetResult> Packs { get; }

    public void AssertPacked()
    {
        foreach (var pack in Packs)
        {
            Assert.True(pack.ExitCode == 0, pack.ToString());
        }

        Assert.Equal(3, Packs.Count);
    }

    /// <summary>
    /// A folder outside the repository (so none of its Directory.*.props apply) with a nuget.config that adds the feed.
    /// Packages restore into a folder of this fixture, so a package of an earlier run (same version, other content) is
    /// never taken from a shared cache; the machine's package folder is a fallback for everything else, so nothing is
    /// downloaded twice.
    /// </summary>
    public string NewConsumer(string name)
    {
        var root = Directory.CreateDirectory(Path.Combine(Dir, name)).FullName;
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />\n");
        var consumer = Directory.CreateDirectory(Path.Combine(root, "consumer")).FullName;
        var userPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var fallback = Directory.Exists(userPackages) ? $"""<fallbackPackageFolders><add key="machine" value="{userPackages}" /></fallbackPackageFolders>""" : string.Empty;
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(Dir, "packages")}" /></config>
              <packageSources><add key="neuralsurgery-test-feed" value="{Feed}" /></packageSources>
              {fallback}
            </configuration>
            """);
        return consumer;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is not a test failure.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PackageFeedCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "package feed";
}
