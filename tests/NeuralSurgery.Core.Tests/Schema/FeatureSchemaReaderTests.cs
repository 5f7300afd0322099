using System;
using System.IO;
using System.Linq;
using System.Text;
using NeuralSurgery.Collections;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Schema;

public class FeatureSchemaReaderTests
{
    private const string Path = "five.v3.features.yaml";

    // Line numbers matter: tests below assert locations in this text.
    private const string FiveLike = """
        # An OpenAI-Five-like policy: a hero, its identity, the units around it, and three heads.
        model: FivePolicy
        version: 3
        inputs:
          hero:
            features:
              - max_health
              - health
              - mana
              - { name: position, width: 2 }
              - attack_damage
              - { name: facing, width: 2 }
          hero_id:
            categorical: [axe, bane, crystal_maiden, drow_ranger]
          units:
            set: true
            features: [health, x, y, is_enemy, { name: unit_type, width: 4 }]
          modifiers:
            set: true
            categorical: [stunned, silenced, hexed]
        outputs:
          action_type:
            features: [noop, move, attack, cast]
          move_offset:
            features: [{ name: dx, width: 9 }, { name: dy, width: 9 }]
          value:
            features: [value]
        renames:
          hp: health
          hero.hp_max: hero.max_health
          creeps: units
          lion: hero_id.crystal_maiden

        """;

    [Fact]
    public void Realistic_schema_parses_into_the_expected_model()
    {
        var result = FeatureSchemaReader.Parse(FiveLike, Path);

        Assert.Empty(result.Diagnostics);
        Assert.True(result.Success);
        var schema = result.Schema!;
        Assert.Equal("FivePolicy", schema.Model);
        Assert.Equal(3, schema.Version);
        Assert.Equal(Path, schema.Path);
        Assert.Equal(new[] { "hero", "hero_id", "units", "modifiers" }, schema.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { "action_type", "move_offset", "value" }, schema.Outputs.Select(o => o.Name));
    }

    [Fact]
    public void Dense_input_has_offsets_and_widths_in_declaration_order()
    {
        var hero = FeatureSchemaReader.ParseOrThrow(FiveLike, Path).FindInput("hero")!;

        Assert.Equal(InputKind.Dense, hero.Kind);
        Assert.False(hero.IsSet);
        Assert.Empty(hero.Values);
        Assert.Equal(
            new[]
            {
                ("max_health", 1, 0),
                ("health", 1, 1),
                ("mana", 1, 2),
                ("position", 2, 3),
                ("attack_damage", 1, 5),
                ("facing", 2, 6),
            },
            hero.Features.Select(f => (f.Name, f.Width, f.Offset)));
        Assert.Equal(8, hero.Width);
        Assert.Equal(3, hero.FindFeature("position")!.Offset);
        Assert.Null(hero.FindFeature("armor"));
    }

    [Fact]
    public void Categorical_and_set_inputs_are_read()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);

        var heroId = schema.FindInput("hero_id")!;
        Assert.Equal(InputKind.Categorical, heroId.Kind);
        Assert.False(heroId.IsSet);
        Assert.Empty(heroId.Features);
        Assert.Equal(new[] { "axe", "bane", "crystal_maiden", "drow_ranger" }, heroId.Values);
        Assert.Equal(4, heroId.Width);
        Assert.Equal(2, heroId.IndexOfValue("crystal_maiden"));
        Assert.Equal(-1, heroId.IndexOfValue("lion"));

        var units = schema.FindInput("units")!;
        Assert.Equal(InputKind.Dense, units.Kind);
        Assert.True(units.IsSet);
        Assert.Equal(8, units.Width);
        Assert.Equal((4, 4), (units.FindFeature("unit_type")!.Offset, units.FindFeature("unit_type")!.Width));

        var modifiers = schema.FindInput("modifiers")!;
        Assert.Equal(InputKind.Categorical, modifiers.Kind);
        Assert.True(modifiers.IsSet);
        Assert.Equal(3, modifiers.Width);

        Assert.Null(schema.FindInput("items"));
    }

    [Fact]
    public void Outputs_have_features_with_offsets()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);

        Assert.Equal(4, schema.FindOutput("action_type")!.Width);
        var move = schema.FindOutput("move_offset")!;
        Assert.Equal(new[] { ("dx", 9, 0), ("dy", 9, 9) }, move.Features.Select(f => (f.Name, f.Width, f.Offset)));
        Assert.Equal(18, move.Width);
        Assert.Equal(1, schema.FindOutput("value")!.Width);
        Assert.Null(schema.FindOutput("hero"));
    }

    [Fact]
    public void Renames_keep_their_order_and_text()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);

        Assert.Equal(
            new[]
            {
                ("hp", "health"),
                ("hero.hp_max", "hero.max_health"),
                ("creeps", "units"),
                ("lion", "hero_id.crystal_maiden"),
            },
            schema.Renames.Select(r => (r.From, r.To)));
    }

    [Fact]
    public void Locations_are_one_based_spans_of_the_yaml_nodes()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);

        // The input's name key on line 5.
        Assert.Equal(new SourceLocation(Path, 5, 3, 5, 7), schema.FindInput("hero")!.Location);

        // The name scalar inside "{ name: position, width: 2 }" on line 10.
        Assert.Equal(new SourceLocation(Path, 10, 17, 10, 25), schema.FindInput("hero")!.FindFeature("position")!.Location);

        // A plain feature in a flow sequence on line 17.
        Assert.Equal(new SourceLocation(Path, 17, 24, 17, 25), schema.FindInput("units")!.FindFeature("x")!.Location);

        Assert.Equal(new SourceLocation(Path, 22, 3, 22, 14), schema.FindOutput("action_type")!.Location);

        // A rename spans from the old name to the end of the new one.
        Assert.Equal(new SourceLocation(Path, 30, 3, 30, 31), schema.Renames[1].Location);

        Assert.Equal("five.v3.features.yaml(10,17)", schema.FindInput("hero")!.FindFeature("position")!.Location.ToString());
    }

    [Fact]
    public void Optional_sections_may_be_missing_or_empty()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(
            "model: Tiny\nversion: 0\ninputs:\n  x:\n    features: [a]\noutputs:\nrenames: {}\n",
            "tiny.features.yaml");

        Assert.Equal(0, schema.Version);
        Assert.Empty(schema.Outputs);
        Assert.Empty(schema.Renames);
        Assert.Equal(1, schema.FindInput("x")!.Width);
    }

    [Fact]
    public void Swapped_names_are_not_reported_as_still_existing()
    {
        var result = FeatureSchemaReader.Parse(
            """
            model: Policy
            version: 2
            inputs:
              hero:
                features: [x, y]
            renames:
              x: y
              y: x
            """,
            Path);

        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void Parsing_the_same_text_twice_gives_equal_records()
    {
        var first = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);
        var second = FeatureSchemaReader.ParseOrThrow(FiveLike, Path);

        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.Equal(first.Inputs, second.Inputs);
        Assert.Equal(FeatureSchemaReader.Parse(FiveLike, Path), FeatureSchemaReader.Parse(FiveLike, Path));
    }

    [Theory]
    [InlineData("      - mana", "      - mama")]
    [InlineData("width: 2 }\n      - attack", "width: 3 }\n      - attack")]
    [InlineData("unit_type, width: 4", "unit_type, width: 5")]
    [InlineData("version: 3", "version: 4")]
    [InlineData("[axe, bane", "[axe, bann")]
    [InlineData("  hp: health", "  hq: health")]
    public void A_one_character_change_gives_unequal_records(string original, string changed)
    {
        Assert.Contains(original, FiveLike);
        var first = FeatureSchemaReader.Parse(FiveLike, Path);
        var second = FeatureSchemaReader.Parse(FiveLike.Replace(original, changed), Path);

        Assert.True(first.Success && second.Success);
        Assert.NotEqual(first, second);
        Assert.NotEqual(first.Schema, second.Schema);
    }

    [Fact]
    public void A_comment_edit_that_moves_nothing_keeps_records_equal()
    {
        // The generator caches on these records: an edit that changes no value and no position must not
        // invalidate them.
        var edited = FiveLike.Replace("three heads", "three Heads");

        Assert.Equal(FeatureSchemaReader.ParseOrThrow(FiveLike, Path), FeatureSchemaReader.ParseOrThrow(edited, Path));
    }

    [Fact]
    public void The_path_is_part_of_the_value()
    {
        Assert.NotEqual(FeatureSchemaReader.ParseOrThrow(FiveLike, "a.yaml"), FeatureSchemaReader.ParseOrThrow(FiveLike, "b.yaml"));
    }

    [Fact]
    public void Model_records_hold_only_value_equatable_members()
    {
        // Walks the model the way System.Text.Json's generator tests do: anything without structural
        // equality (YamlDotNet nodes, lists, arrays) would silently break the generator's caching.
        var allowed = new[] { typeof(string), typeof(int), typeof(long), typeof(double), typeof(bool), typeof(InputKind), typeof(SchemaValueKind) };
        var records = new[]
        {
            typeof(FeatureSchema), typeof(SchemaInput), typeof(SchemaFeature), typeof(SchemaOutput),
            typeof(SchemaRename), typeof(SourceLocation), typeof(SchemaDiagnostic), typeof(SchemaReadResult),
            typeof(SchemaArgument), typeof(SchemaValue),
        };

        foreach (var record in records)
        {
            Assert.True(record.IsSealed, record.Name);
            foreach (var field in record.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
            {
                var type = Nullable.GetUnderlyingType(field.FieldType) ?? field.FieldType;
                var ok = allowed.Contains(type)
                    || records.Contains(type)
                    || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EquatableArray<>)
                        && (allowed.Contains(type.GetGenericArguments()[0]) || records.Contains(type.GetGenericArguments()[0])));
                Assert.True(ok, $"{record.Name}.{field.Name} has type {type}, which is not value-equatable");
            }
        }
    }

    [Fact]
    public void Load_reads_a_utf8_file_with_a_byte_order_mark()
    {
        var directory = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ns-schema-" + Guid.NewGuid().ToString("N")));
        try
        {
            var file = System.IO.Path.Combine(directory.FullName, "policy.v2.features.yaml");
            File.WriteAllText(file, "model: Policy\nversion: 2\ninputs:\n  héros:\n    features: [santé]\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

            var schema = FeatureSchemaReader.Load(file);

            Assert.Equal(file, schema.Path);
            Assert.Equal("santé", schema.FindInput("héros")!.Features[0].Name);
            Assert.Equal(new SourceLocation(file, 4, 3, 4, 8), schema.Inputs[0].Location);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Load_throws_a_schema_exception_naming_a_missing_file()
    {
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ns-missing-" + Guid.NewGuid().ToString("N"), "policy.features.yaml");

        var exception = Assert.Throws<SchemaException>(() => FeatureSchemaReader.Load(file));

        var diagnostic = Assert.Single(exception.Diagnostics);
        Assert.Equal(SchemaErrorCodes.FileNotReadable, diagnostic.Id);
        Assert.Equal(new SourceLocation(file, 1, 1, 1, 1), diagnostic.Location);
        Assert.Contains(file, diagnostic.Message);
        Assert.Contains("expected a readable UTF-8 YAML file", diagnostic.Message);
        Assert.Equal(diagnostic.ToString(), exception.Message);
        Assert.IsAssignableFrom<IOException>(exception.InnerException);
    }

    [Fact]
    public void Load_throws_for_invalid_content_with_the_file_path_in_locations()
    {
        var directory = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ns-schema-" + Guid.NewGuid().ToString("N")));
        try
        {
            var file = System.IO.Path.Combine(directory.FullName, "bad.features.yaml");
            File.WriteAllText(file, "model: Policy\nversion: 2\ninputs: {}\n");

            var exception = Assert.Throws<SchemaException>(() => FeatureSchemaReader.Load(file));

            Assert.Equal(file + "(3,9): error NS0005: 'inputs' declares no inputs; expected at least one input", exception.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Crlf_line_endings_give_the_same_positions()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(FiveLike.Replace("\n", "\r\n"), Path);

        Assert.Equal(new SourceLocation(Path, 10, 17, 10, 25), schema.FindInput("hero")!.FindFeature("position")!.Location);
    }
}
