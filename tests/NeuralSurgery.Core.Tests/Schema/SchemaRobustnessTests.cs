using System;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Schema;

public class SchemaRobustnessTests
{
    private const string Text = """
        model: Policy
        version: 3
        inputs:
          hero: &h
            features: [hp, { name: pos, width: 2 }]
          hero_id:
            categorical: [axe, bane]
        outputs:
          logits:
            features: [noop]
        renames:
          hero.mp: hero.hp

        """;

    [Fact]
    public void Parse_never_throws_on_single_character_edits()
    {
        // Deterministic mutation sweep: delete each character, or insert a YAML indicator before it.
        // Parse must report, never throw, and must return a schema exactly when it reports nothing.
        var inserts = new[] { ":", "[", "{", "\t", "*", "\n" };
        var count = 0;
        for (var i = 0; i <= Text.Length; i++)
        {
            if (i < Text.Length)
            {
                Check(Text.Remove(i, 1));
            }

            foreach (var insert in inserts)
            {
                Check(Text.Insert(i, insert));
            }
        }

        Assert.True(count > 1000, "the sweep should cover every position");

        void Check(string yaml)
        {
            count++;
            SchemaReadResult result;
            try
            {
                result = FeatureSchemaReader.Parse(yaml, "fuzz.yaml");
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException("Parse threw for:\n" + yaml, ex);
            }

            Assert.Equal(result.Diagnostics.IsEmpty, result.Schema is not null);
            foreach (var diagnostic in result.Diagnostics)
            {
                Assert.True(diagnostic.Location.Line >= 1 && diagnostic.Location.Column >= 1);
                Assert.False(string.IsNullOrEmpty(diagnostic.Message));
            }
        }
    }

    [Fact]
    public void A_parser_failure_inside_YamlDotNet_becomes_a_syntax_diagnostic()
    {
        // YamlDotNet 16.3's scanner throws InvalidOperationException here instead of a YamlException.
        var result = FeatureSchemaReader.Parse("model: [FivePolicy\nversion: 3\ninputs:\n  hero:\n    features: [a]\n", "p.yaml");

        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(SchemaErrorCodes.YamlSyntax, diagnostic.Id);
        Assert.Equal((1, 8), (diagnostic.Location.Line, diagnostic.Location.Column));
        Assert.StartsWith("invalid YAML: the YAML parser stopped after this point", diagnostic.Message);
        Assert.EndsWith("expected well-formed YAML", diagnostic.Message);
    }
}
