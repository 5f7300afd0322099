using System;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace NeuralSurgery.Integration.Tests;

/// <summary>
/// The NeuralSurgery package as a user gets it (issue 7): `dotnet pack` into a folder feed, then a fresh project outside
/// the repository that references the package from that feed (and the TorchSharp package) and builds. The generator,
/// its dependencies and the props/targets all come from the package: the build writes the generated files and warns
/// NS1015 in the schema file.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class PackageTests(PackageFeed feed) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-package-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is not a test failure.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public void The_cli_tool_package_installs_from_a_folder_and_reports_its_version()
    {
        var feed = Path.Combine(_dir, "tool-feed");
        var pack = Dotnet.Pack(Path.Combine(Dotnet.RepoRoot, "src", "NeuralSurgery.Cli", "NeuralSurgery.Cli.csproj"), Path.Combine(_dir, "tool-artifacts"), feed);
        Assert.True(pack.ExitCode == 0, pack.ToString());
        var package = Assert.Single(Directory.GetFiles(feed, "NeuralSurgery.Cli.*.nupkg"));
        var version = Path.GetFileNameWithoutExtension(package)["NeuralSurgery.Cli.".Length..];

        // A local tool manifest in a fresh folder: `dotnet tool run` needs no PATH change and no global install.
        var user = Directory.CreateDirectory(Path.Combine(_dir, "user")).FullName;
        var manifest = Dotnet.Run(["new", "tool-manifest"], user, Dotnet.BuildTimeout);
        Assert.True(manifest.ExitCode == 0, manifest.ToString());
        var install = Dotnet.Run(["tool", "install", "NeuralSurgery.Cli", "--local", "--add-source", feed, "--version", version], user, Dotnet.BuildTimeout);
        Assert.True(install.ExitCode == 0, install.ToString());

        var run = Dotnet.Run(["tool", "run", "surgery", "--", "--version"], user, Dotnet.BuildTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith(version, run.Lines.First(l => l.Length > 0), StringComparison.Ordinal);
    }

    [Fact]
    public void A_fresh_project_referencing_the_package_generates_code_and_warns_ns1015()
    {
        feed.AssertPacked();
        var artifacts = Path.Combine(_dir, "artifacts");

        // The package's layout: runtime in lib/, generator with Core and YamlDotNet (and the code fixes) in analyzers/, build files twice.
        using (var package = ZipFile.OpenRead(Path.Combine(feed.Feed, "NeuralSurgery.0.1.0.nupkg")))
        {
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            string[] expected =
            [
                "lib/net10.0/NeuralSurgery.Runtime.dll",
                "analyzers/dotnet/cs/NeuralSurgery.Generator.dll",
                "analyzers/dotnet/cs/NeuralSurgery.Core.dll",
                "analyzers/dotnet/cs/YamlDotNet.dll",
                "analyzers/dotnet/cs/NeuralSurgery.Generator.CodeFixes.dll",
                "build/NeuralSurgery.props",
                "build/NeuralSurgery.targets",
                "buildTransitive/NeuralSurgery.props",
                "buildTransitive/NeuralSurgery.targets",
            ];
            var missing = expected.Where(e => !entries.Contains(e)).ToArray();
            Assert.True(missing.Length == 0, $"missing from the package: {string.Join(", ", missing)}; it holds {string.Join(", ", entries.Order(StringComparer.Ordinal))}");
        }

        var consumer = WriteConsumer();
        var build = Dotnet.Build(Path.Combine(consumer, "Consumer.csproj"), artifacts, referencesBuilt: false);

        Assert.True(build.ExitCode == 0, build.ToString());
        var lines = build.Lines.Select(l => l.Replace('\\', '/')).ToArray();
        var schema = File.ReadAllLines(Path.Combine(consumer, "models", "probe.features.yaml"));
        var index = Array.FindIndex(schema, l => l.Contains("- unused", StringComparison.Ordinal));
        var (line, column) = (index + 1, schema[index].IndexOf("unused", StringComparison.Ordinal) + 1);
        Assert.Contains(lines, l => l.Contains($"/consumer/models/probe.features.yaml({line},{column}): warning NS1015: Feature 'unused' of input 'x'", StringComparison.Ordinal));

        var generated = Path.Combine(artifacts, "obj", "Consumer", "release", "generated");
        Assert.True(Directory.Exists(generated), build.ToString());
        var files = Directory.GetFiles(generated, "*.g.cs", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray();
        Assert.Contains("TrainingRepo.Models.PolicyV2.Features.g.cs", files);
        Assert.Contains("TrainingRepo.Models.PolicyV2.Mirror.g.cs", files);
        Assert.Contains("TrainingRepo.Models.PolicyV2.SurgeryFromPolicyV1.g.cs", files);
    }

    /// <summary>A project outside the repository with the fixture's models and schemas and a PackageReference to NeuralSurgery.</summary>
    private string WriteConsumer()
    {
        var consumer = feed.NewConsumer("ns1015");
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NeuralSurgery" Version="0.1.0" />
                <PackageReference Include="TorchSharp" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        var models = Directory.CreateDirectory(Path.Combine(consumer, "models")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(TrainingRepoBuild.Fixture, "models")))
        {
            File.Copy(file, Path.Combine(models, Path.GetFileName(file)));
        }

        return consumer;
    }
}
