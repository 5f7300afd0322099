using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NeuralSurgery.Integration.Tests;

/// <summary>
/// One real <c>dotnet build</c> of tests/Fixtures/TrainingRepo into a temporary artifacts folder, shared by the tests
/// of <see cref="TrainingRepoBuildTests"/>. What the tests look at (output, generated files, the SARIF log) is read
/// here, right after the build, because the broken build reuses the same artifacts folder and rewrites it.
/// </summary>
public sealed class TrainingRepoBuild : IDisposable
{
    public TrainingRepoBuild()
    {
        Artifacts = Directory.CreateTempSubdirectory("ns-trainingrepo-").FullName;
        var sarif = Path.Combine(Artifacts, "trainingrepo.sarif");
        Result = Dotnet.Build(Project, Path.Combine(Artifacts, "artifacts"), referencesBuilt: false, "TrainingRepoErrorLog=" + sarif);

        var generated = Path.Combine(Artifacts, "artifacts", "obj", "TrainingRepo", "release", "generated");
        GeneratedFiles = Directory.Exists(generated)
            ? Directory.GetFiles(generated, "*.g.cs", SearchOption.AllDirectories).ToDictionary(p => Path.GetFileName(p), File.ReadAllText, StringComparer.Ordinal)
            : new Dictionary<string, string>();
        Sarif = File.Exists(sarif) ? File.ReadAllText(sarif) : null;
    }

    public static string Fixture { get; } = Path.Combine(Dotnet.RepoRoot, "tests", "Fixtures", "TrainingRepo");

    public static string Project { get; } = Path.Combine(Fixture, "TrainingRepo.csproj");

    /// <summary>The temporary folder: artifacts/ (bin and obj of every project built), the SARIF log, broken schemas.</summary>
    public string Artifacts { get; }

    public DotnetResult Result { get; }

    /// <summary>Generated files by file name, as the build left them on disk (EmitCompilerGeneratedFiles).</summary>
    public IReadOnlyDictionary<string, string> GeneratedFiles { get; }

    public string? Sarif { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Artifacts, recursive: true);
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

/// <summary>
/// The generator as a consumer meets it: a training repository built with a real <c>dotnet build</c> (the generator as an
/// analyzer project reference, Core and YamlDotNet loaded next to it, the props and targets imported by hand). The build
/// succeeds, prints the unmapped-feature warning at the feature's line in the YAML file, keeps the surgery's Info
/// diagnostic out of the warnings, and writes the generated files; a broken copy of the schemas fails with errors in
/// the YAML file and at the C# call.
/// </summary>
public sealed class TrainingRepoBuildTests(TrainingRepoBuild build) : IClassFixture<TrainingRepoBuild>
{
    [Fact]
    public void The_build_succeeds_and_warns_ns1015_at_the_unmapped_feature_in_the_yaml()
    {
        Assert.True(build.Result.ExitCode == 0, build.Result.ToString());

        // The expected position comes from the schema file itself: the line of '- unused', the column of its name.
        var (line, column) = Position(Path.Combine(TrainingRepoBuild.Fixture, "models", "probe.features.yaml"), "- unused", "unused");
        var expected = $"/tests/Fixtures/TrainingRepo/models/probe.features.yaml({line},{column}): warning NS1015: "
            + "Feature 'unused' of input 'x' in probe.features.yaml reaches no parameter of 'Probe': no weight interacts with it, so the model cannot learn from it";
        var warnings = Diagnostics(build.Result, "warning");
        var ns1015 = Assert.Single(warnings, l => l.Contains("NS1015", StringComparison.Ordinal));
        Assert.Contains(expected, ns1015.Replace('\\', '/'), StringComparison.Ordinal);

        // Nothing else warns: the two policies and the surgery between them are clean.
        Assert.True(warnings.Length == 1, string.Join("\n", warnings));
    }

    [Fact]
    public void The_surgery_share_diagnostic_ns2002_is_info_not_a_warning()
    {
        Assert.True(build.Result.ExitCode == 0, build.Result.ToString());
        Assert.DoesNotContain(build.Result.Lines, l => l.Contains("NS2002", StringComparison.Ordinal));

        // It is reported all the same: the compiler's SARIF log has it as a note at [SurgeryFrom(typeof(PolicyV1))].
        Assert.NotNull(build.Sarif);
        using var sarif = JsonDocument.Parse(build.Sarif!);
        var results = sarif.RootElement.GetProperty("runs")[0].GetProperty("results").EnumerateArray().ToArray();
        var ns2002 = Assert.Single(results, r => r.GetProperty("ruleId").GetString() == "NS2002");
        Assert.Equal("note", ns2002.GetProperty("level").GetString());
        Assert.StartsWith("The surgery PolicyV1 → PolicyV2 re-initialises 21 of 100 parameter elements", ns2002.GetProperty("message").GetProperty("text").GetString(), StringComparison.Ordinal);
        var location = ns2002.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.EndsWith("/models/PolicyV2.cs", location.GetProperty("artifactLocation").GetProperty("uri").GetString(), StringComparison.Ordinal);
        var (line, column) = Position(Path.Combine(TrainingRepoBuild.Fixture, "models", "PolicyV2.cs"), "[NeuralSurgery.SurgeryFrom(", "typeof(PolicyV1)");
        Assert.Equal(line, location.GetProperty("region").GetProperty("startLine").GetInt32());
        Assert.Equal(column, location.GetProperty("region").GetProperty("startColumn").GetInt32());
    }

    [Fact]
    public void The_generated_features_mirror_and_surgery_files_are_on_disk()
    {
        Assert.True(build.Result.ExitCode == 0, build.Result.ToString());
        Assert.Equal(
            [
                "NeuralSurgery.Attributes.g.cs",
                "TrainingRepo.Models.PolicyV1.Features.g.cs",
                "TrainingRepo.Models.PolicyV1.Mirror.g.cs",
                "TrainingRepo.Models.PolicyV2.Features.g.cs",
                "TrainingRepo.Models.PolicyV2.Mirror.g.cs",
                "TrainingRepo.Models.PolicyV2.SurgeryFromPolicyV1.g.cs",
                "TrainingRepo.Models.Probe.Features.g.cs",
                "TrainingRepo.Models.Probe.Mirror.g.cs",
            ],
            build.GeneratedFiles.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.All(build.GeneratedFiles.Values, text => Assert.StartsWith("// <auto-generated/>", text, StringComparison.Ordinal));

        // The v2 schema's new feature has its constant, and the surgery map carries its plan.
        Assert.Contains("public const int Mana = 4;", build.GeneratedFiles["TrainingRepo.Models.PolicyV2.Features.g.cs"], StringComparison.Ordinal);
        Assert.Contains("PlanJson", build.GeneratedFiles["TrainingRepo.Models.PolicyV2.SurgeryFromPolicyV1.g.cs"], StringComparison.Ordinal);

        // And the project's own assembly was written, so the generated code compiled.
        Assert.True(File.Exists(Path.Combine(build.Artifacts, "artifacts", "bin", "TrainingRepo", "release", "TrainingRepo.dll")));
    }

    [Fact]
    public void A_broken_copy_of_the_schemas_fails_with_errors_in_the_yaml_and_at_the_csharp_call()
    {
        // The broken schemas live in the temporary folder; the build lists them by hand (NeuralSurgeryIncludeSchemas
        // false), so the checkout's own schemas stay out and stay untouched.
        var schemas = Directory.CreateDirectory(Path.Combine(build.Artifacts, "broken-schemas")).FullName;
        var models = Path.Combine(TrainingRepoBuild.Fixture, "models");
        File.Copy(Path.Combine(models, "policy.v1.features.yaml"), Path.Combine(schemas, "policy.v1.features.yaml"));
        var v2 = File.ReadAllText(Path.Combine(models, "policy.v2.features.yaml"));
        File.WriteAllText(Path.Combine(schemas, "policy.v2.features.yaml"), Replace(v2, "      - mana\n", "      - mana\n      - gold\n"));
        var probe = File.ReadAllText(Path.Combine(models, "probe.features.yaml"));
        var brokenProbe = Path.Combine(schemas, "probe.features.yaml");
        File.WriteAllText(brokenProbe, Replace(probe, "version: 1\n", "version: 1\nowner: games-team\n"));

        var result = Dotnet.Build(TrainingRepoBuild.Project, Path.Combine(build.Artifacts, "artifacts"), referencesBuilt: true, "NeuralSurgeryIncludeSchemas=false", "TrainingRepoSchemas=" + schemas);

        Assert.True(result.ExitCode != 0, result.ToString());
        var errors = Diagnostics(result, "error").Select(l => l.Replace('\\', '/')).ToArray();

        // An unknown key in the YAML: NS0002 at the key, in the file the build was given.
        var (keyLine, keyColumn) = Position(brokenProbe, "owner:", "owner");
        Assert.Contains(errors, l => l.StartsWith(
            $"{brokenProbe.Replace('\\', '/')}({keyLine},{keyColumn}): error NS0002: unknown key 'owner' at the top level", StringComparison.Ordinal));

        // A sixth hero feature that the encoder's Linear(5, 8) does not take: NS1006 at the call in PolicyV2.cs.
        var (callLine, callColumn) = Position(Path.Combine(models, "PolicyV2.cs"), "encoder.forward(hero)", "encoder.forward(hero)");
        Assert.Contains(errors, l => l.Contains(
            $"/tests/Fixtures/TrainingRepo/models/PolicyV2.cs({callLine},{callColumn}): error NS1006: Module 'encoder' (Linear) has inputSize = 5, but its input 'hero' has shape [B, 6]",
            StringComparison.Ordinal));
        Assert.True(errors.Length == 2, string.Join("\n", errors));
    }

    [Fact]
    public void A_schema_nested_20000_levels_deep_builds_to_NS0001_in_the_yaml_not_a_compiler_crash()
    {
        var schemas = Directory.CreateDirectory(Path.Combine(build.Artifacts, "deep-schemas")).FullName;
        var models = Path.Combine(TrainingRepoBuild.Fixture, "models");
        foreach (var name in new[] { "policy.v1.features.yaml", "policy.v2.features.yaml" })
        {
            File.Copy(Path.Combine(models, name), Path.Combine(schemas, name));
        }

        // 20,000 nested flow mappings in 100 KB: YamlDotNet's representation model would overflow the compiler's stack.
        var deep = Path.Combine(schemas, "probe.features.yaml");
        File.WriteAllText(deep, "model: Probe\nversion: 1\ninputs: " + string.Concat(Enumerable.Repeat("{a: ", 20_000)) + "1" + new string('}', 20_000) + "\n");

        var result = Dotnet.Build(TrainingRepoBuild.Project, Path.Combine(build.Artifacts, "artifacts"), referencesBuilt: true, "NeuralSurgeryIncludeSchemas=false", "TrainingRepoSchemas=" + schemas);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains(Diagnostics(result, "error"), l => l.Replace('\\', '/').StartsWith(deep.Replace('\\', '/') + "(", StringComparison.Ordinal) && l.Contains(": error NS0001: ", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Lines, l => l.Contains("AD0001", StringComparison.Ordinal) || l.Contains("Stack overflow", StringComparison.OrdinalIgnoreCase) || l.Contains("exited with code", StringComparison.Ordinal));
    }

    /// <summary>
    /// The distinct NS diagnostic lines of <paramref name="severity"/>: `dotnet build` prints each one where it is raised
    /// and again in its closing summary.
    /// </summary>
    private static string[] Diagnostics(DotnetResult result, string severity) =>
        result.Lines.Where(l => l.Contains($": {severity} NS", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>1-based line of the first line holding <paramref name="lineMarker"/>, and 1-based column of <paramref name="at"/> on it.</summary>
    private static (int Line, int Column) Position(string path, string lineMarker, string at)
    {
        var lines = File.ReadAllLines(path);
        var index = Array.FindIndex(lines, l => l.Contains(lineMarker, StringComparison.Ordinal));
        Assert.True(index >= 0, $"{path} has no line with '{lineMarker}'");
        return (index + 1, lines[index].IndexOf(at, StringComparison.Ordinal) + 1);
    }

    private static string Replace(string text, string old, string replacement)
    {
        var normalised = text.ReplaceLineEndings("\n");
        Assert.Contains(old, normalised, StringComparison.Ordinal);
        return normalised.Replace(old, replacement, StringComparison.Ordinal);
    }
}
