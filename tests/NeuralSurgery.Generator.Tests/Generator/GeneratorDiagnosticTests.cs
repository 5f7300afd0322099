using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Tests.Generator;

public class GeneratorDiagnosticTests
{
    [Fact]
    public void A_duplicate_feature_is_NS0003_at_its_line_and_column_in_the_yaml_file()
    {
        const string Yaml = """
            model: Policy
            version: 2
            inputs:
              hero:
                features:
                  - health
                  - mana
                  - { name: health, width: 2 }
            """;
        var (driver, _, diagnostics) = GeneratorHarness.Run(
            GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model)),
            new InMemoryAdditionalText(GeneratorHarness.SchemaPath, Yaml));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("NS0003", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("feature 'health' in input 'hero' is declared more than once (first at line 6, column 9); expected unique feature names", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(ModelDiagnostics.DocsBaseUrl + "docs/diagnostics/NS0003.md", diagnostic.Descriptor.HelpLinkUri);

        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(GeneratorHarness.SchemaPath, span.Path);
        Assert.Equal(new LinePosition(7, 16), span.StartLinePosition); // line 8, column 17 (1-based), as the reader says
        Assert.Equal("health", Yaml.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));

        // A schema with errors emits no constants, and the model is not reported as missing its schema.
        Assert.DoesNotContain(driver.GetRunResult().Results.Single().GeneratedSources, s => s.HintName.EndsWith(".Features.g.cs", System.StringComparison.Ordinal));
    }

    [Fact]
    public void A_yaml_syntax_error_is_NS0001_in_the_yaml_file()
    {
        var (_, _, diagnostics) = GeneratorHarness.Run(
            GeneratorHarness.Compilation(("Empty.cs", "namespace Empty;")),
            new InMemoryAdditionalText("bad.features.yaml", "model: [unclosed\n"));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("NS0001", diagnostic.Id);
        Assert.Equal("bad.features.yaml", diagnostic.Location.GetLineSpan().Path);
    }

    [Fact]
    public void A_schema_nested_20000_levels_deep_is_NS0001_not_a_compiler_crash()
    {
        // The generator runs inside the compiler: a stack overflow in the YAML reader would take the build down.
        var yaml = "model: M\nversion: 1\ninputs: " + new string('[', 20_000) + new string(']', 20_000) + "\n";
        var (_, _, diagnostics) = GeneratorHarness.Run(
            GeneratorHarness.Compilation(("Empty.cs", "namespace Empty;")),
            new InMemoryAdditionalText("deep.features.yaml", yaml));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("NS0001", diagnostic.Id);
        Assert.Contains("nest more than 64 levels", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
        Assert.Equal("deep.features.yaml", diagnostic.Location.GetLineSpan().Path);
    }

    [Fact]
    public void A_model_class_that_is_not_partial_gets_no_generated_code_so_the_build_shows_NS1016_not_CS0260()
    {
        var source = GeneratorHarness.Model.Replace("public sealed partial class Policy", "public sealed class Policy");
        var (driver, output, diagnostics) = GeneratorHarness.Run(
            GeneratorHarness.Compilation((GeneratorHarness.ModelPath, source)),
            new InMemoryAdditionalText(GeneratorHarness.SchemaPath, GeneratorHarness.Schema));

        Assert.Empty(diagnostics);
        Assert.DoesNotContain(driver.GetRunResult().Results.Single().GeneratedSources, s => s.HintName.Contains("Policy", System.StringComparison.Ordinal));
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Id == "CS0260");
    }

    [Fact]
    public void A_schema_that_is_not_among_the_additional_files_is_NS0010_at_the_attribute_argument()
    {
        var (driver, _, diagnostics) = GeneratorHarness.Run(
            GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model)),
            new InMemoryAdditionalText("/repo/models/policy.v1.features.yaml", GeneratorHarness.Schema));

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("NS0010", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(
            "No AdditionalFiles item matches the feature schema 'policy.v2.features.yaml' named by [SurgeryModel] on 'Policy'; expected a *.features.yaml file in the project whose path ends with it",
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(GeneratorHarness.ModelPath, span.Path);
        Assert.Equal(new LinePosition(6, 28), span.StartLinePosition);
        Assert.Equal(new LinePosition(6, 53), span.EndLinePosition);
        Assert.DoesNotContain(driver.GetRunResult().Results.Single().GeneratedSources, s => s.HintName.EndsWith(".Features.g.cs", System.StringComparison.Ordinal));
    }

    [Fact]
    public void The_missing_schema_message_says_when_automatic_inclusion_is_off()
    {
        var driver = GeneratorHarness.Driver([], new Dictionary<string, string> { ["build_property.NeuralSurgeryIncludeSchemas"] = "false" })
            .RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation((GeneratorHarness.ModelPath, GeneratorHarness.Model)), out _, out var diagnostics);

        var diagnostic = Assert.Single(diagnostics);
        Assert.EndsWith(
            "NeuralSurgeryIncludeSchemas is false, so add the file as <AdditionalFiles Include=\"policy.v2.features.yaml\" />",
            diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture),
            System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("policy.v2.features.yaml", "/repo/models/policy.v2.features.yaml", true)]
    [InlineData("models/policy.v2.features.yaml", "C:\\repo\\models\\policy.v2.features.yaml", true)]
    [InlineData("./policy.v2.features.yaml", "/repo/policy.v2.features.yaml", true)]
    [InlineData("policy.v2.features.yaml", "/repo/old_policy.v2.features.yaml", false)]
    [InlineData("", "/repo/policy.v2.features.yaml", false)]
    public void The_attribute_path_matches_whole_trailing_path_segments(string attributePath, string filePath, bool found)
    {
        var model = new Specs.ModelSpec(
            new Specs.TypeSpec("N", "M", "N.M", NeuralSurgery.Collections.EquatableArray.Create("partial class M"), "global::N.M"),
            "N.M",
            attributePath,
            new NeuralSurgery.Generator.Reading.ReaderLocation("M.cs", default, default),
            NeuralSurgery.Collections.EquatableArray<Specs.SurgerySourceSpec>.Empty,
            NeuralSurgery.Collections.EquatableArray<Specs.RenameSpec>.Empty);
        var file = new Specs.SchemaFileSpec(filePath, null, NeuralSurgery.Collections.EquatableArray<NeuralSurgery.Generator.Diagnostics.DiagnosticInfo>.Empty);

        Assert.Equal(found, SurgeryGenerator.Resolve(model, [file]).SchemaFound);
    }
}
