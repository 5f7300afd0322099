using System;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using NeuralSurgery.Generator.Configuration;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>build/NeuralSurgery.props and .targets declare exactly what the generator reads (<see cref="GeneratorOptions"/>).</summary>
public class BuildFilesTests
{
    private static readonly Lazy<XElement[]> Elements = new(() =>
    {
        var build = Path.Combine(Repository.Root, "build");
        return new[] { "NeuralSurgery.props", "NeuralSurgery.targets" }
            .SelectMany(name => XDocument.Load(Path.Combine(build, name)).Descendants())
            .ToArray();
    });

    [Fact]
    public void Compiler_visible_properties_are_the_generator_options()
    {
        var declared = Elements.Value.Where(e => e.Name.LocalName == "CompilerVisibleProperty").Select(e => (string)e.Attribute("Include")!).OrderBy(x => x, StringComparer.Ordinal);
        Assert.Equal(GeneratorOptions.Properties.OrderBy(x => x, StringComparer.Ordinal), declared);
    }

    [Fact]
    public void Compiler_visible_metadata_is_the_generator_metadata()
    {
        var declared = Elements.Value
            .Where(e => e.Name.LocalName == "CompilerVisibleItemMetadata" && (string?)e.Attribute("Include") == "AdditionalFiles")
            .Select(e => (string)e.Attribute("MetadataName")!)
            .OrderBy(x => x, StringComparer.Ordinal);
        Assert.Equal(GeneratorOptions.AdditionalFileMetadata.OrderBy(x => x, StringComparer.Ordinal), declared);
    }

    [Fact]
    public void Every_generator_property_has_a_default()
    {
        Assert.All(GeneratorOptions.Properties, property =>
        {
            var definition = Assert.Single(Elements.Value, e => e.Name.LocalName == property && e.Parent?.Name.LocalName == "PropertyGroup");
            Assert.Equal("'$(" + property + ")' == ''", (string?)definition.Attribute("Condition"));
        });
    }

    [Fact]
    public void Schemas_are_added_as_additional_files_behind_the_switch_with_the_sdk_excludes()
    {
        // Schemas, snapshots (issue 13) and plans (issue 15), each glob behind the same switch with the SDK's excludes.
        var items = Elements.Value.Where(e => e.Name.LocalName == "AdditionalFiles").ToList();
        Assert.Equal(
            new[] { "**/*" + SurgeryGenerator.SchemaFileSuffix, "**/*" + Json.SnapshotJson.FileSuffix, "**/*" + Json.PlanJson.FileSuffix },
            items.Select(i => (string?)i.Attribute("Include")));
        foreach (var item in items)
        {
            var exclude = (string?)item.Attribute("Exclude") ?? string.Empty;
            Assert.Contains("$(DefaultItemExcludes)", exclude, StringComparison.Ordinal);
            Assert.Contains("$(DefaultExcludesInProjectFolder)", exclude, StringComparison.Ordinal);
            Assert.Equal("'$(" + GeneratorOptions.IncludeSchemas + ")' == 'true'", (string?)item.Parent!.Attribute("Condition"));
        }
    }
}

internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
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
