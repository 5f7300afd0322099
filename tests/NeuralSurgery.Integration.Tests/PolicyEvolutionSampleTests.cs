using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace NeuralSurgery.Integration.Tests;

/// <summary>
/// One real <c>dotnet build</c> of samples/PolicyEvolution into a temporary artifacts folder, and two runs of the built
/// sample with different checkpoint folders, shared by <see cref="PolicyEvolutionSampleTests"/>. Everything the tests
/// compare is read here, before the broken build reuses the artifacts folder and overwrites the sample's binary.
/// </summary>
public sealed class PolicyEvolutionSample : IDisposable
{
    /// <summary>A run trains v1 and tunes v3 twice in TorchSharp: about 16 s on an idle 2-core machine.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    public PolicyEvolutionSample()
    {
        Artifacts = Directory.CreateTempSubdirectory("ns-policyevolution-").FullName;
        Build = Dotnet.Build(Project, Path.Combine(Artifacts, "artifacts"), referencesBuilt: false);
        if (Build.ExitCode != 0)
        {
            return;
        }

        // The built dll, run the way `dotnet run` runs it, but without building again for the second run.
        var dll = Path.Combine(Artifacts, "artifacts", "bin", "PolicyEvolution", "release", "PolicyEvolution.dll");
        Runs = new[] { "run1", "run2" }.Select(name => Run(dll, Path.Combine(Artifacts, name))).ToArray();
    }

    public static string Folder { get; } = Path.Combine(Dotnet.RepoRoot, "samples", "PolicyEvolution");

    public static string Project { get; } = Path.Combine(Folder, "PolicyEvolution.csproj");

    /// <summary>The temporary folder: artifacts/ (bin and obj of every project built), the runs' checkpoints, the broken models.</summary>
    public string Artifacts { get; }

    public DotnetResult Build { get; }

    /// <summary>The two runs, empty when the build failed (the build's own test says why).</summary>
    public IReadOnlyList<SampleRun> Runs { get; } = [];

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

    private static SampleRun Run(string dll, string checkpoints)
    {
        // Output is redirected, so the sample draws its tables 120 columns wide whatever terminal runs the tests.
        var result = Dotnet.Run([dll, checkpoints], Folder, RunTimeout);
        var files = Directory.Exists(checkpoints)
            ? Directory.GetFiles(checkpoints).ToDictionary(p => Path.GetFileName(p), p => File.ReadAllBytes(p), StringComparer.Ordinal)
            : new Dictionary<string, byte[]>(StringComparer.Ordinal);
        return new SampleRun(result, checkpoints, files);
    }
}

/// <summary>What one run of the sample printed, and the files it left in its checkpoint folder.</summary>
public sealed record SampleRun(DotnetResult Result, string Checkpoints, IReadOnlyDictionary<string, byte[]> Files)
{
    /// <summary>
    /// The report as text: ANSI styling removed, the checkpoint folder (which differs per run) replaced by a marker, and
    /// the progress lines dropped. Without a terminal Spectre.Console prints a progress bar as occasional
    /// "title: 42%" lines, whose number and percentages depend on timing, not on the computation.
    /// </summary>
    public string Report => string.Join(
        "\n",
        Result.Lines
            .Select(l => SampleText.Ansi().Replace(l, string.Empty).Replace(Checkpoints, "<checkpoints>", StringComparison.Ordinal))
            .Where(l => !SampleText.ProgressLine().IsMatch(l)));
}

internal static partial class SampleText
{
    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]")]
    public static partial Regex Ansi();

    [GeneratedRegex(@"^\S.*: \d{1,3}%$")]
    public static partial Regex ProgressLine();

    [GeneratedRegex(@"max \|ΔF\| = (?<value>\S+)$")]
    public static partial Regex Equivalence();

    [GeneratedRegex(@"^│ all parameters\s*│.*│ (?<share>\d+\.\d) % \(of the old model: (?<old>\d+\.\d) %\)\s*│$")]
    public static partial Regex Totals();
}

/// <summary>
/// The sample a new user meets first (issue 7): it builds without a warning, two runs print the same report and write
/// the same checkpoint bytes, every surgery keeps the outputs within 1e-5 and prints its transferred share, and a broken
/// copy of its v1 schema warns NS1015 at the unread feature's line and column in the YAML file.
/// </summary>
public sealed class PolicyEvolutionSampleTests(PolicyEvolutionSample sample) : IClassFixture<PolicyEvolutionSample>
{
    private static readonly string[] Surgeries = ["PolicyV1 → PolicyV2", "PolicyV2 → PolicyV3"];

    [Fact]
    public void The_sample_builds_without_warnings()
    {
        Assert.True(sample.Build.ExitCode == 0, sample.Build.ToString());

        // TreatWarningsAsErrors would fail the build anyway; the summary line says it in the words a user reads.
        Assert.Contains(sample.Build.Lines, l => l.Trim() == "0 Warning(s)");
        Assert.DoesNotContain(sample.Build.Lines, l => l.Contains(": warning ", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_runs_print_the_same_report_and_write_the_same_checkpoints()
    {
        Assert.True(sample.Build.ExitCode == 0, sample.Build.ToString());
        Assert.Equal(2, sample.Runs.Count);
        Assert.All(sample.Runs, run => Assert.True(run.Result.ExitCode == 0, run.Result.ToString()));

        var (first, second) = (sample.Runs[0], sample.Runs[1]);
        Assert.Equal(first.Report, second.Report);

        // v1, the two surgered checkpoints with their metadata side files, and the tuned v3: byte for byte.
        Assert.Equal(
            ["policy.v1.dat", "policy.v2.dat", "policy.v2.dat.meta.json", "policy.v3.dat", "policy.v3.dat.meta.json", "policy.v3.tuned.dat"],
            first.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(first.Files.Keys.Order(StringComparer.Ordinal), second.Files.Keys.Order(StringComparer.Ordinal));
        Assert.All(first.Files, file => Assert.True(file.Value.AsSpan().SequenceEqual(second.Files[file.Key]), file.Key + " differs between the runs"));
    }

    [Fact]
    public void Each_surgery_keeps_the_outputs_within_1e_5_and_prints_its_transferred_share()
    {
        Assert.True(sample.Build.ExitCode == 0, sample.Build.ToString());
        var run = Assert.IsType<SampleRun>(sample.Runs.FirstOrDefault());
        Assert.True(run.Result.ExitCode == 0, run.Result.ToString());
        var lines = run.Report.Split('\n');

        foreach (var surgery in Surgeries)
        {
            // A surgery's section: its table (titled with the step) up to the first line after it that is not part of it.
            var start = Array.FindIndex(lines, l => l.Trim() == surgery);
            Assert.True(start >= 0, $"no table titled '{surgery}' in\n{run.Report}");
            var section = lines.Skip(start + 1).TakeWhile(l => !Surgeries.Contains(l.Trim()) && !l.Contains("Teaching", StringComparison.Ordinal)).ToArray();

            var totals = section.Select(l => SampleText.Totals().Match(l)).SingleOrDefault(m => m.Success);
            Assert.True(totals is not null, $"no 'all parameters' row with the transferred share under '{surgery}' in\n{run.Report}");
            var share = double.Parse(totals!.Groups["share"].Value, CultureInfo.InvariantCulture);
            var ofOld = double.Parse(totals.Groups["old"].Value, CultureInfo.InvariantCulture);
            Assert.InRange(share, 0, 100);
            Assert.InRange(ofOld, 0, 100);

            var equivalence = section.Select(l => SampleText.Equivalence().Match(l)).Where(m => m.Success).ToArray();
            Assert.True(equivalence.Length > 0, $"no 'max |ΔF| =' line under '{surgery}' in\n{run.Report}");
            Assert.All(equivalence, m => Assert.InRange(double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture), 0, 1e-5));
        }

        Assert.Contains(lines, l => l.StartsWith("Every surgery kept the outputs", StringComparison.Ordinal));
    }

    [Fact]
    public void A_broken_copy_of_the_v1_schema_warns_ns1015_at_the_unread_feature_in_the_yaml()
    {
        Assert.True(sample.Build.ExitCode == 0, sample.Build.ToString());

        // The copy of Models/ lives in the temporary folder and replaces Models/ in the build (PolicyEvolutionModels),
        // so the checkout stays untouched. v1's schema gains a hero feature, 'armor', that PolicyV1 slices off before
        // its encoder: the schema still matches every layer's size, but no weight ever reads the feature.
        var models = Directory.CreateDirectory(Path.Combine(sample.Artifacts, "broken-models")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(PolicyEvolutionSample.Folder, "Models")))
        {
            File.Copy(file, Path.Combine(models, Path.GetFileName(file)));
        }

        var schema = Path.Combine(models, "policy.v1.features.yaml");
        Edit(schema, "      - level\n", "      - level\n      - armor\n");
        Edit(Path.Combine(models, "PolicyV1.cs"), "hero_encoder.forward(hero)", "hero_encoder.forward(hero.narrow(-1, 0, 5))");

        // The sample treats warnings as errors; turned off here so the diagnostic prints as the warning it is.
        var result = Dotnet.Build(
            PolicyEvolutionSample.Project,
            Path.Combine(sample.Artifacts, "artifacts"),
            referencesBuilt: true,
            "NeuralSurgeryIncludeSchemas=false",
            "PolicyEvolutionModels=" + models,
            "TreatWarningsAsErrors=false");

        Assert.True(result.ExitCode == 0, result.ToString());
        var (line, column) = Position(schema, "- armor", "armor");
        var expected = $"{schema.Replace('\\', '/')}({line},{column}): warning NS1015: "
            + "Feature 'armor' of input 'hero' in policy.v1.features.yaml reaches no parameter of 'PolicyV1': no weight interacts with it, so the model cannot learn from it";
        var warnings = result.Lines.Where(l => l.Contains(": warning ", StringComparison.Ordinal)).Select(l => l.Replace('\\', '/')).Distinct(StringComparer.Ordinal).ToArray();
        var ns1015 = Assert.Single(warnings);
        Assert.StartsWith(expected, ns1015, StringComparison.Ordinal);
    }

    /// <summary>1-based line of the first line holding <paramref name="lineMarker"/>, and 1-based column of <paramref name="at"/> on it.</summary>
    private static (int Line, int Column) Position(string path, string lineMarker, string at)
    {
        var lines = File.ReadAllLines(path);
        var index = Array.FindIndex(lines, l => l.Contains(lineMarker, StringComparison.Ordinal));
        Assert.True(index >= 0, $"{path} has no line with '{lineMarker}'");
        return (index + 1, lines[index].IndexOf(at, StringComparison.Ordinal) + 1);
    }

    private static void Edit(string path, string old, string replacement)
    {
        var text = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.Contains(old, text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace(old, replacement, StringComparison.Ordinal));
    }
}
