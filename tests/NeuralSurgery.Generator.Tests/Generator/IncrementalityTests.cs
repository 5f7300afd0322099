using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Configuration;

namespace NeuralSurgery.Generator.Tests.Generator;

public class IncrementalityTests
{
    private static readonly InMemoryAdditionalText Schema = new(GeneratorHarness.SchemaPath, GeneratorHarness.Schema);

    [Fact]
    public void An_unrelated_csharp_edit_leaves_the_constants_steps_cached()
    {
        var compilation = GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model));
        var driver = GeneratorHarness.Driver([Schema]).RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other; internal sealed class Unrelated { }", GeneratorHarness.ParseOptions, "Unrelated.cs"));
        driver = driver.RunGenerators(edited);

        AssertAllCachedOrUnchanged(driver, TrackingNames.Models);
        AssertAllCachedOrUnchanged(driver, TrackingNames.FeatureConstants);
        AssertAllCachedOrUnchanged(driver, TrackingNames.FeatureConstantsSource);
    }

    [Fact]
    public void A_whitespace_only_yaml_edit_leaves_the_constants_steps_cached()
    {
        var compilation = GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model));
        var driver = GeneratorHarness.Driver([Schema]).RunGenerators(compilation);

        var reformatted = new InMemoryAdditionalText(GeneratorHarness.SchemaPath, "\n# the policy schema\n\n" + GeneratorHarness.Schema.Replace("\n", "   \n") + "\n\n");
        driver = driver.ReplaceAdditionalText(Schema, reformatted).RunGenerators(compilation);

        // The parse step re-runs (the text changed) and yields an equal spec: YAML locations are not part of it.
        Assert.Equal([IncrementalStepRunReason.Unchanged], Outputs(driver, TrackingNames.SchemaFiles));
        AssertAllCachedOrUnchanged(driver, TrackingNames.FeatureConstants);
        AssertAllCachedOrUnchanged(driver, TrackingNames.FeatureConstantsSource);
    }

    [Fact]
    public void A_schema_feature_change_reruns_the_constants_steps()
    {
        var compilation = GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model));
        var driver = GeneratorHarness.Driver([Schema]).RunGenerators(compilation);

        var changed = new InMemoryAdditionalText(GeneratorHarness.SchemaPath, GeneratorHarness.Schema.Replace("- max_health", "- max_health\n      - max_mana"));
        driver = driver.ReplaceAdditionalText(Schema, changed).RunGenerators(compilation);

        Assert.Equal([IncrementalStepRunReason.Modified], Outputs(driver, TrackingNames.FeatureConstants));
        Assert.Equal([IncrementalStepRunReason.Modified], Outputs(driver, TrackingNames.FeatureConstantsSource));
        Assert.Contains("public const int MaxMana = 1;", GeneratorHarness.GeneratedText(driver, ".Features.g.cs"), System.StringComparison.Ordinal);
    }

    private static IncrementalStepRunReason[] Outputs(GeneratorDriver driver, string step)
    {
        var result = driver.GetRunResult().Results.Single();
        Assert.True(result.TrackedSteps.TryGetValue(step, out var runs), "step " + step + " did not run");
        return runs.SelectMany(run => run.Outputs).Select(output => output.Reason).ToArray();
    }

    private static void AssertAllCachedOrUnchanged(GeneratorDriver driver, string step)
    {
        var reasons = Outputs(driver, step);
        Assert.NotEmpty(reasons);
        Assert.All(reasons, reason => Assert.True(
            reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
            step + " output was " + reason));
    }
}
