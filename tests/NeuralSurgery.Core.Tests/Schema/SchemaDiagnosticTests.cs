using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Schema;

/// <summary>
/// One or more tests per error code: the ID, the exact position, and a message that names the offending
/// thing and says what was expected. Schemas are written one string per line so line numbers can be read off.
/// </summary>
public class SchemaDiagnosticTests
{
    private const string Path = "policy.v2.features.yaml";

    private static string Yaml(params string[] lines) => string.Join("\n", lines) + "\n";

    /// <summary>A valid header; the snippet under test starts on line 3.</summary>
    private static string Schema(params string[] lines) => Yaml(new[] { "model: Policy", "version: 2" }.Concat(lines).ToArray());

    private static SchemaDiagnostic Single(string yaml)
    {
        var result = FeatureSchemaReader.Parse(yaml, Path);
        Assert.Null(result.Schema);
        Assert.False(result.Success);
        return Assert.Single(result.Diagnostics);
    }

    private static void AssertAt(SchemaDiagnostic diagnostic, string id, int line, int column)
    {
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(Path, diagnostic.Location.Path);
        Assert.Equal((line, column), (diagnostic.Location.Line, diagnostic.Location.Column));
    }

    // NS0001 YAML syntax

    [Fact]
    public void NS0001_unclosed_flow_sequence()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a, b"));

        AssertAt(d, SchemaErrorCodes.YamlSyntax, 6, 1);
        Assert.Equal("invalid YAML: While parsing a flow sequence, did not find expected ',' or ']'; expected well-formed YAML", d.Message);
    }

    [Theory]
    [InlineData("{a: ", "}", 20_000)]
    [InlineData("[", "]", 20_000)]
    [InlineData("[", "]", 100_000)]
    public void NS0001_collections_nested_thousands_deep_are_refused_at_the_limit_without_a_crash(string open, string close, int depth)
    {
        // Hostile input: YamlDotNet's representation model recurses per level (a stack overflow that would take the
        // compiler down with the generator), and per-level paths grow quadratically in memory.
        var yaml = "model: Policy\nversion: 2\ninputs: " + string.Concat(Enumerable.Repeat(open, depth)) + "x" + string.Concat(Enumerable.Repeat(close, depth)) + "\n";
        var d = Single(yaml);

        // The first collection past the limit: inputs' value is level 2 (the document's mapping is level 1).
        AssertAt(d, SchemaErrorCodes.YamlSyntax, 3, 9 + ((DuplicateKeyLimit - 1) * open.Length));
        Assert.Contains($"collections nest more than {DuplicateKeyLimit} levels deep", d.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void NS0001_block_collections_nested_past_the_limit_are_refused_too()
    {
        var lines = new List<string> { "model: Policy", "version: 2" };
        for (var level = 0; level < 80; level++)
        {
            lines.Add(new string(' ', level) + "k:");
        }

        var d = Single(Yaml([.. lines]));
        Assert.Equal(SchemaErrorCodes.YamlSyntax, d.Id);
        Assert.Contains("nest more than", d.Message, System.StringComparison.Ordinal);
    }

    private const int DuplicateKeyLimit = 64;

    [Fact]
    public void NS0001_unterminated_quoted_scalar_points_at_the_opening_quote()
    {
        var d = Single(Yaml("model: 'Policy", "version: 2"));

        AssertAt(d, SchemaErrorCodes.YamlSyntax, 1, 8);
        Assert.Contains("quoted scalar", d.Message);
        Assert.EndsWith("expected well-formed YAML", d.Message);
    }

    [Fact]
    public void NS0001_tab_in_indentation_points_at_the_tab()
    {
        var d = Single(Schema("inputs:", "  hero:", "\tfeatures: [a]"));

        AssertAt(d, SchemaErrorCodes.YamlSyntax, 5, 1);
        Assert.Equal(new SourceLocation(Path, 5, 1, 5, 2), d.Location);
        Assert.Contains("tab", d.Message);
    }

    [Fact]
    public void NS0001_alias_without_anchor_points_at_the_alias()
    {
        var d = Single(Schema("inputs:", "  hero: *common"));

        AssertAt(d, SchemaErrorCodes.YamlSyntax, 4, 9);
        Assert.Equal("invalid YAML: alias '*common' refers to an anchor that is not declared before it; expected '&common' on an earlier node", d.Message);
    }

    [Fact]
    public void Anchors_and_aliases_are_followed()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(
            Schema("inputs:", "  hero: &unit", "    features: [health, x, y]", "  ally: *unit"),
            Path);

        Assert.Equal(schema.Inputs[0].Features.Select(f => f.Name), schema.Inputs[1].Features.Select(f => f.Name));
    }

    // NS0002 unknown key

    [Fact]
    public void NS0002_unknown_key_in_an_input_lists_the_allowed_keys()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "    featurs: [b]"));

        AssertAt(d, SchemaErrorCodes.UnknownKey, 6, 5);
        Assert.Equal("unknown key 'featurs' in input 'hero'; expected one of: features, categorical, set, axes", d.Message);
    }

    [Fact]
    public void NS0002_unknown_key_at_the_top_level()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "output:", "  logits:", "    features: [noop]"));

        AssertAt(d, SchemaErrorCodes.UnknownKey, 6, 1);
        Assert.Equal("unknown key 'output' at the top level; expected one of: model, version, inputs, outputs, renames, arguments, factory", d.Message);
    }

    [Fact]
    public void A_factory_names_a_static_method_and_anything_else_is_refused_at_its_value()
    {
        var schema = FeatureSchemaReader.ParseOrThrow("model: Net\nversion: 1\ninputs:\n  x:\n    features: [a]\nfactory: ResNet18\n", "net.features.yaml");
        Assert.Equal("ResNet18", schema.Factory);
        Assert.Equal((6, 10), (schema.FactoryLocation!.Line, schema.FactoryLocation.Column));
        Assert.NotEqual(schema, schema with { Factory = "ResNet34" });

        var result = FeatureSchemaReader.Parse("model: Net\nversion: 1\ninputs:\n  x:\n    features: [a]\nfactory: [ResNet18]\n", "net.features.yaml");
        Assert.Null(result.Schema);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal((6, 10), (d.Location.Line, d.Location.Column));
        Assert.Contains("'factory'", d.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void NS0002_unknown_key_in_a_feature_mapping_names_the_feature()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - { name: position, size: 2 }"));

        AssertAt(d, SchemaErrorCodes.UnknownKey, 6, 27);
        Assert.Equal("unknown key 'size' in feature 'position' of input 'hero'; expected one of: name, width", d.Message);
    }

    [Fact]
    public void NS0002_unknown_key_in_an_output()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "outputs:", "  logits:", "    features: [noop]", "    set: true"));

        AssertAt(d, SchemaErrorCodes.UnknownKey, 9, 5);
        Assert.Equal("unknown key 'set' in output 'logits'; expected one of: features", d.Message);
    }

    // NS0003 duplicate name

    [Fact]
    public void NS0003_duplicate_input_name_points_at_the_second_one()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "  hero:", "    features: [b]"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 6, 3);
        Assert.Equal("input 'hero' is declared more than once (first at line 4, column 3); expected unique input names", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_feature_in_an_input()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - health", "      - mana", "      - { name: health, width: 2 }"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 8, 17);
        Assert.Equal("feature 'health' in input 'hero' is declared more than once (first at line 6, column 9); expected unique feature names", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_feature_in_an_output()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "outputs:", "  logits:", "    features: [noop, move, noop]"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 8, 28);
        Assert.Equal("feature 'noop' in output 'logits' is declared more than once (first at line 8, column 16); expected unique feature names", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_output_name()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "outputs:", "  logits:", "    features: [noop]", "  logits:", "    features: [move]"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 9, 3);
        Assert.Equal("output 'logits' is declared more than once (first at line 7, column 3); expected unique output names", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_rename_source()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [health, mana]", "renames:", "  hp: health", "  hp: mana"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 8, 3);
        Assert.Equal("rename source 'hp' is declared more than once (first at line 7, column 3); expected each old name to be renamed once", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_mapping_key_elsewhere()
    {
        var d = Single(Schema("inputs:", "  units:", "    set: true", "    features: [a]", "    set: false"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 7, 5);
        Assert.Equal("key 'set' appears more than once in input 'units' (first at line 5, column 5); expected each key once", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_key_in_a_feature_mapping()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - { name: position, width: 2, width: 3 }"));

        AssertAt(d, SchemaErrorCodes.DuplicateName, 6, 37);
        Assert.Equal("key 'width' appears more than once in a feature of input 'hero' (first at line 6, column 27); expected each key once", d.Message);
    }

    [Fact]
    public void NS0003_duplicate_top_level_key_keeps_the_first_value()
    {
        var result = FeatureSchemaReader.Parse(Schema("version: 3", "inputs:", "  hero:", "    features: [a]"), Path);

        var d = Assert.Single(result.Diagnostics);
        AssertAt(d, SchemaErrorCodes.DuplicateName, 3, 1);
        Assert.Equal("key 'version' appears more than once at the top level (first at line 2, column 1); expected each key once", d.Message);
    }

    // NS0004 invalid width

    [Fact]
    public void NS0004_zero_width()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - { name: position, width: 0 }"));

        AssertAt(d, SchemaErrorCodes.InvalidWidth, 6, 34);
        Assert.Equal("feature 'position' in input 'hero' has width 0; expected an integer >= 1", d.Message);
    }

    [Theory]
    [InlineData("-2", "has width -2;")]
    [InlineData("two", "has width 'two';")]
    [InlineData("1.5", "has width 1.5;")]
    [InlineData("'2'", "has width '2' (a quoted string);")]
    [InlineData("[2]", "has width a sequence;")]
    [InlineData("99999999999", "has width 99999999999;")]
    public void NS0004_width_that_is_not_a_positive_integer(string width, string shown)
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - name: position", "        width: " + width));

        AssertAt(d, SchemaErrorCodes.InvalidWidth, 7, 16);
        Assert.Contains("feature 'position' in input 'hero' " + shown, d.Message);
        Assert.EndsWith("expected an integer >= 1", d.Message);
    }

    [Fact]
    public void NS0004_in_an_output_feature()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "outputs:", "  move:", "    features: [{ name: dx, width: 0 }]"));

        AssertAt(d, SchemaErrorCodes.InvalidWidth, 8, 35);
        Assert.Equal("feature 'dx' in output 'move' has width 0; expected an integer >= 1", d.Message);
    }

    // NS0005 empty declaration

    [Fact]
    public void NS0005_empty_features_list()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: []"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 5, 15);
        Assert.Equal("input 'hero' has an empty 'features' list; expected at least one feature", d.Message);
    }

    [Fact]
    public void NS0005_features_key_without_a_value_points_at_the_key()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 5, 5);
        Assert.Contains("input 'hero' has an empty 'features' list", d.Message);
    }

    [Fact]
    public void NS0005_empty_categorical_list()
    {
        var d = Single(Schema("inputs:", "  hero_id:", "    categorical: []"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 5, 18);
        Assert.Equal("input 'hero_id' has an empty 'categorical' list; expected at least one value", d.Message);
    }

    [Fact]
    public void NS0005_schema_without_inputs()
    {
        var d = Single(Schema("inputs: {}"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 3, 9);
        Assert.Equal("'inputs' declares no inputs; expected at least one input", d.Message);
    }

    [Fact]
    public void NS0005_output_without_features()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "outputs:", "  logits:", "    features: []"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 8, 15);
        Assert.Equal("output 'logits' has an empty 'features' list; expected at least one feature", d.Message);
    }

    [Fact]
    public void NS0005_input_without_a_body()
    {
        var d = Single(Schema("inputs:", "  hero:", "  units:", "    features: [a]"));

        AssertAt(d, SchemaErrorCodes.EmptyDeclaration, 4, 3);
        Assert.Equal("input 'hero' is empty; expected a mapping with 'features' or 'categorical'", d.Message);
    }

    // NS0006 duplicate categorical value

    [Fact]
    public void NS0006_duplicate_categorical_value()
    {
        var d = Single(Schema("inputs:", "  hero_id:", "    categorical: [axe, bane, axe]"));

        AssertAt(d, SchemaErrorCodes.DuplicateCategoricalValue, 5, 30);
        Assert.Equal("categorical value 'axe' in input 'hero_id' is declared more than once (first at line 5, column 19); expected unique values", d.Message);
    }

    // NS0007 rename that points nowhere

    [Fact]
    public void NS0007_plain_target_that_names_nothing()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [max_health]", "renames:", "  hp: max_hp"));

        AssertAt(d, SchemaErrorCodes.RenameTargetNotFound, 7, 7);
        Assert.Equal("rename 'hp' -> 'max_hp' points nowhere: no input, output, feature or categorical value is named 'max_hp'; expected the new name of something declared in this schema", d.Message);
    }

    [Fact]
    public void NS0007_qualified_target_missing_from_its_input()
    {
        // 'health' exists, but in 'units', not in 'hero'.
        var d = Single(Schema("inputs:", "  hero:", "    features: [max_health]", "  units:", "    features: [health]", "renames:", "  hero.hp: hero.health"));

        AssertAt(d, SchemaErrorCodes.RenameTargetNotFound, 9, 12);
        Assert.Equal("rename 'hero.hp' -> 'hero.health' points nowhere: input 'hero' has no feature 'health'; expected a feature declared in input 'hero'", d.Message);
    }

    [Fact]
    public void NS0007_qualified_target_with_unknown_scope()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "renames:", "  old: heroes.a"));

        AssertAt(d, SchemaErrorCodes.RenameTargetNotFound, 7, 8);
        Assert.Contains("this schema has no input or output named 'heroes'", d.Message);
        Assert.Contains("expected the new name of something declared in this schema", d.Message);
    }

    [Fact]
    public void NS0007_categorical_value_target()
    {
        var d = Single(Schema("inputs:", "  hero_id:", "    categorical: [axe]", "renames:", "  hero_id.lion: hero_id.lina"));

        AssertAt(d, SchemaErrorCodes.RenameTargetNotFound, 7, 17);
        Assert.Equal("rename 'hero_id.lion' -> 'hero_id.lina' points nowhere: input 'hero_id' has no categorical value 'lina'; expected a categorical value declared in input 'hero_id'", d.Message);
    }

    [Fact]
    public void Rename_targets_may_name_inputs_outputs_features_and_values()
    {
        var result = FeatureSchemaReader.Parse(
            Schema(
                "inputs:",
                "  hero:",
                "    features: [max_health]",
                "  hero_id:",
                "    categorical: [axe]",
                "outputs:",
                "  logits:",
                "    features: [noop]",
                "renames:",
                "  player: hero",
                "  policy: logits",
                "  hp: max_health",
                "  idle: logits.noop",
                "  hero_id.axe_old: hero_id.axe"),
            Path);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(5, result.Schema!.Renames.Count);
    }

    // NS0008 invalid value or structure

    [Fact]
    public void NS0008_document_that_is_not_a_mapping()
    {
        var d = Single(Yaml("- model: Policy"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 1, 1);
        Assert.Equal("the document is a sequence; expected a mapping with the keys 'model', 'version' and 'inputs'", d.Message);
    }

    [Fact]
    public void NS0008_missing_model_is_reported_at_the_start_of_the_document()
    {
        var d = Single(Yaml("# no model", "version: 2", "inputs:", "  hero:", "    features: [a]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 2, 1);
        Assert.Equal("missing required key 'model' at the top level; expected the model class name, e.g. 'model: Policy'", d.Message);
    }

    [Fact]
    public void NS0008_missing_version_and_inputs_are_both_reported()
    {
        var result = FeatureSchemaReader.Parse(Yaml("model: Policy"), Path);

        Assert.Equal(2, result.Diagnostics.Count);
        Assert.All(result.Diagnostics, d => AssertAt(d, SchemaErrorCodes.InvalidValue, 1, 1));
        Assert.Contains("missing required key 'version'", result.Diagnostics[0].Message);
        Assert.Contains("missing required key 'inputs'", result.Diagnostics[1].Message);
    }

    [Theory]
    [InlineData("-1", "'version' is -1; expected a non-negative integer")]
    [InlineData("two", "'version' is 'two'; expected a non-negative integer")]
    [InlineData("\"2\"", "'version' is '2' (a quoted string); expected a non-negative integer")]
    [InlineData("[2]", "'version' is a sequence; expected a non-negative integer")]
    public void NS0008_version_that_is_not_a_non_negative_integer(string version, string message)
    {
        var d = Single(Yaml("model: Policy", "version: " + version, "inputs:", "  hero:", "    features: [a]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 2, 10);
        Assert.Equal(message, d.Message);
    }

    [Fact]
    public void NS0008_set_that_is_not_a_boolean()
    {
        var d = Single(Schema("inputs:", "  units:", "    set: yes", "    features: [a]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 5, 10);
        Assert.Equal("'set' of input 'units' is 'yes'; expected true or false", d.Message);
    }

    [Fact]
    public void NS0008_feature_name_with_invalid_characters()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [max-health]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 5, 16);
        Assert.Equal("feature name 'max-health' in input 'hero' contains '-'; expected only letters, digits and '_'", d.Message);
    }

    [Fact]
    public void NS0008_empty_feature_name()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a, '']"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 5, 19);
        Assert.Equal("feature name in input 'hero' is empty; expected a name of letters, digits and '_'", d.Message);
    }

    [Fact]
    public void NS0008_input_and_model_names_follow_the_same_rule()
    {
        var result = FeatureSchemaReader.Parse(Yaml("model: My Policy", "version: 2", "inputs:", "  hero.stats:", "    features: [a]"), Path);

        Assert.Equal(2, result.Diagnostics.Count);
        AssertAt(result.Diagnostics[0], SchemaErrorCodes.InvalidValue, 1, 8);
        Assert.Equal("model name 'My Policy' contains a space; expected only letters, digits and '_'", result.Diagnostics[0].Message);
        AssertAt(result.Diagnostics[1], SchemaErrorCodes.InvalidValue, 4, 3);
        Assert.Equal("input name 'hero.stats' contains '.'; expected only letters, digits and '_'", result.Diagnostics[1].Message);
    }

    [Fact]
    public void NS0008_categorical_value_name_rule()
    {
        var d = Single(Schema("inputs:", "  hero_id:", "    categorical: [axe, anti-mage]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 5, 24);
        Assert.Equal("categorical value name 'anti-mage' in input 'hero_id' contains '-'; expected only letters, digits and '_'", d.Message);
    }

    [Fact]
    public void NS0008_input_with_neither_features_nor_categorical()
    {
        var d = Single(Schema("inputs:", "  units:", "    set: true"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 4, 3);
        Assert.Equal("input 'units' has neither 'features' nor 'categorical'; expected exactly one of them", d.Message);
    }

    [Fact]
    public void NS0008_input_with_both_features_and_categorical_points_at_the_second()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "    categorical: [b]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 6, 5);
        Assert.Equal("input 'hero' declares both 'features' and 'categorical'; expected exactly one of them", d.Message);
    }

    [Fact]
    public void NS0008_sequence_where_a_mapping_was_expected()
    {
        var d = Single(Schema("inputs:", "  hero: [a, b]"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 4, 9);
        Assert.Equal("input 'hero' is a sequence; expected a mapping with 'features' or 'categorical'", d.Message);
    }

    [Fact]
    public void NS0008_inputs_as_a_list()
    {
        var d = Single(Schema("inputs:", "  - hero"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 4, 3);
        Assert.Equal("'inputs' is a sequence; expected a mapping from input names to their features", d.Message);
    }

    [Fact]
    public void NS0008_feature_mapping_without_a_name()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features:", "      - a", "      - { width: 2 }"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 7, 9);
        Assert.Equal("feature entry 2 of input 'hero' has no 'name'; expected a mapping { name: ..., width: ... }", d.Message);
    }

    [Fact]
    public void NS0008_no_document()
    {
        var result = FeatureSchemaReader.Parse("# only a comment\n", Path);

        var d = Assert.Single(result.Diagnostics);
        AssertAt(d, SchemaErrorCodes.InvalidValue, 1, 1);
        Assert.Equal("the file holds no YAML document; expected one mapping with the keys 'model', 'version' and 'inputs'", d.Message);
    }

    [Fact]
    public void NS0008_several_documents()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "---", "model: Other"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 7, 1);
        Assert.Equal("the file holds 2 YAML documents; expected exactly one", d.Message);
    }

    [Fact]
    public void NS0008_rename_whose_source_still_exists()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [hp, max_health]", "renames:", "  hp: max_health"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 7, 3);
        Assert.Equal("rename 'hp' -> 'max_health' renames something that still exists: 'hp' is declared as a feature of input 'hero'; expected the old name to be gone (or renamed by another rename, as in a swap)", d.Message);
    }

    [Fact]
    public void A_source_that_exists_only_in_another_input_is_not_a_conflict()
    {
        // 'hp' survives in 'units'; the rename concerns 'hero', where 'max_health' lives.
        var result = FeatureSchemaReader.Parse(
            Schema("inputs:", "  hero:", "    features: [max_health]", "  units:", "    features: [hp]", "renames:", "  hp: max_health"),
            Path);

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void NS0008_qualified_rename_source_that_still_exists()
    {
        var d = Single(Schema("inputs:", "  hero_id:", "    categorical: [axe, lina]", "renames:", "  hero_id.axe: hero_id.lina"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 7, 3);
        Assert.Contains("'hero_id.axe' is declared as a categorical value of input 'hero_id'", d.Message);
    }

    [Fact]
    public void NS0008_rename_name_with_too_many_parts()
    {
        var d = Single(Schema("inputs:", "  hero:", "    features: [a]", "renames:", "  hero.stats.hp: a"));

        AssertAt(d, SchemaErrorCodes.InvalidValue, 7, 3);
        Assert.Equal("old name 'hero.stats.hp' in 'renames' has more than one '.'; expected 'name' or 'scope.name'", d.Message);
    }

    // Several errors, exceptions, formatting

    [Fact]
    public void All_errors_in_a_file_are_reported_in_file_order()
    {
        var yaml = Yaml(
            "model: Policy",                                  // 1
            "version: two",                                   // 2  NS0008
            "inputs:",                                        // 3
            "  hero:",                                        // 4
            "    features:",                                  // 5
            "      - max_health",                             // 6
            "      - { name: position, width: 0 }",           // 7  NS0004
            "      - max_health",                             // 8  NS0003
            "    colour: red",                                // 9  NS0002
            "  hero_id:",                                     // 10
            "    categorical: [axe, axe]",                    // 11 NS0006
            "  units:",                                       // 12
            "    set: true",                                  // 13
            "    features: []",                               // 14 NS0005
            "  units:",                                       // 15 NS0003 (YAML key)
            "    features: [a]",                              // 16
            "renames:",                                       // 17
            "  hp: health");                                  // 18 NS0007

        var result = FeatureSchemaReader.Parse(yaml, Path);

        Assert.Null(result.Schema);
        Assert.Equal(
            new[]
            {
                (SchemaErrorCodes.InvalidValue, 2, 10),
                (SchemaErrorCodes.InvalidWidth, 7, 34),
                (SchemaErrorCodes.DuplicateName, 8, 9),
                (SchemaErrorCodes.UnknownKey, 9, 5),
                (SchemaErrorCodes.DuplicateCategoricalValue, 11, 24),
                (SchemaErrorCodes.EmptyDeclaration, 14, 15),
                (SchemaErrorCodes.DuplicateName, 15, 3),
                (SchemaErrorCodes.RenameTargetNotFound, 18, 7),
            },
            result.Diagnostics.Select(d => (d.Id, d.Location.Line, d.Location.Column)));
    }

    [Fact]
    public void A_syntax_error_is_reported_with_duplicates_found_before_it()
    {
        var result = FeatureSchemaReader.Parse(Schema("model: Again", "inputs: [a"), Path);

        Assert.Equal(
            new[] { (SchemaErrorCodes.DuplicateName, 3, 1), (SchemaErrorCodes.YamlSyntax, 5, 1) },
            result.Diagnostics.Select(d => (d.Id, d.Location.Line, d.Location.Column)));
    }

    [Fact]
    public void ParseOrThrow_message_is_the_first_diagnostic_and_a_count()
    {
        var yaml = Schema("inputs:", "  hero:", "    features: [a, a]", "  units:", "    features: []", "  items:", "    categorical: [x, x]");

        var exception = Assert.Throws<SchemaException>(() => FeatureSchemaReader.ParseOrThrow(yaml, Path));

        Assert.Equal(3, exception.Diagnostics.Count);
        Assert.Equal(
            "policy.v2.features.yaml(5,19): error NS0003: feature 'a' in input 'hero' is declared more than once (first at line 5, column 16); expected unique feature names (and 2 more)",
            exception.Message);
    }

    [Fact]
    public void ParseOrThrow_message_with_one_diagnostic_has_no_count()
    {
        var exception = Assert.Throws<SchemaException>(() => FeatureSchemaReader.ParseOrThrow(Schema("inputs: {}"), Path));

        Assert.Equal("policy.v2.features.yaml(3,9): error NS0005: 'inputs' declares no inputs; expected at least one input", exception.Message);
    }

    [Fact]
    public void Diagnostic_and_location_format()
    {
        var diagnostic = new SchemaDiagnostic("NS0004", "bad width", new SourceLocation("a/b.yaml", 12, 3, 12, 9));

        Assert.Equal("a/b.yaml(12,3)", diagnostic.Location.ToString());
        Assert.Equal("a/b.yaml(12,3): error NS0004: bad width", diagnostic.ToString());
    }

    [Fact]
    public void Every_code_is_unique_and_has_a_title()
    {
        Assert.Equal(SchemaErrorCodes.All.Count, SchemaErrorCodes.All.Distinct().Count());
        Assert.All(SchemaErrorCodes.All, id => Assert.False(string.IsNullOrWhiteSpace(SchemaErrorCodes.GetTitle(id))));
        Assert.Equal("Invalid width", SchemaErrorCodes.GetTitle(SchemaErrorCodes.InvalidWidth));
        Assert.Null(SchemaErrorCodes.GetTitle("NS9999"));
    }
}
