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

        // The parse step re-runs (the text changed) and its spec changes (it keeps YAML locations for diagnostics),
        // but the features the constants are made from are equal.
        Assert.Equal([IncrementalStepRunReason.Modified], Outputs(driver, TrackingNames.SchemaFiles));
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

    private static readonly InMemoryAdditionalText EvolutionV1 = new(EvolutionSources.V1Path, EvolutionSources.V1Schema);
    private static readonly InMemoryAdditionalText EvolutionV2 = new(EvolutionSources.V2Path, EvolutionSources.V2Schema);

    /// <summary>The steps that trace and emit: they must not re-run for edits that do not change a graph or a schema.</summary>
    private static readonly string[] TracingAndEmitting =
    [
        TrackingNames.Mirrors, TrackingNames.Traces, TrackingNames.MirrorSource, TrackingNames.Surgeries, TrackingNames.Plans, TrackingNames.SurgerySource,
    ];

    [Fact]
    public void An_unrelated_csharp_edit_leaves_tracing_and_emitting_cached()
    {
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", EvolutionSources.Models));
        var driver = GeneratorHarness.Driver([EvolutionV1, EvolutionV2]).RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other; internal sealed class Unrelated { }", GeneratorHarness.ParseOptions, "Unrelated.cs"));
        driver = driver.RunGenerators(edited);

        // The reader re-runs (it needs the compilation) and yields equal results.
        Assert.All(Outputs(driver, TrackingNames.ReadModels), reason => Assert.Equal(IncrementalStepRunReason.Unchanged, reason));
        foreach (var step in TracingAndEmitting)
        {
            AssertAllCachedOrUnchanged(driver, step);
        }
    }

    [Fact]
    public void A_whitespace_only_yaml_edit_leaves_tracing_and_emitting_cached()
    {
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", EvolutionSources.Models));
        var driver = GeneratorHarness.Driver([EvolutionV1, EvolutionV2]).RunGenerators(compilation);

        var reformatted = new InMemoryAdditionalText(EvolutionSources.V2Path, "# policy v2\n\n" + EvolutionSources.V2Schema.Replace("\n", "  \n") + "\n");
        driver = driver.ReplaceAdditionalText(EvolutionV2, reformatted).RunGenerators(compilation);

        foreach (var step in TracingAndEmitting)
        {
            AssertAllCachedOrUnchanged(driver, step);
        }
    }

    [Fact]
    public void A_model_change_reruns_tracing_and_emitting()
    {
        var compilation = MirrorAndSurgeryTests.CompilationWithRuntime(("Policy.cs", EvolutionSources.Models));
        var driver = GeneratorHarness.Driver([EvolutionV1, EvolutionV2]).RunGenerators(compilation);

        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == "Policy.cs");
        var widened = EvolutionSources.Models
            .Replace("Linear encoder = Linear(5, 8)", "Linear encoder = Linear(5, 12)", System.StringComparison.Ordinal)
            .Replace("Linear head = Linear(10, 4)", "Linear head = Linear(14, 4)", System.StringComparison.Ordinal);
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(widened, GeneratorHarness.ParseOptions, "Policy.cs")));

        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(driver, TrackingNames.Traces));
        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(driver, TrackingNames.MirrorSource));
        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(driver, TrackingNames.Plans));
        Assert.Contains(IncrementalStepRunReason.Modified, Outputs(driver, TrackingNames.SurgerySource));
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
