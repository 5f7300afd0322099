using System.Linq;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Schema;

/// <summary>The <c>arguments:</c> block: values for the model constructor's parameters and config objects.</summary>
public class SchemaArgumentTests
{
    private const string Path = "gpt.features.yaml";

    private static string Yaml(params string[] lines) =>
        string.Join("\n", new[] { "model: Gpt", "version: 1", "inputs:", "  x:", "    features: [a, b]" }.Concat(lines)) + "\n";

    private static SchemaDiagnostic Single(string yaml)
    {
        var result = FeatureSchemaReader.Parse(yaml, Path);
        Assert.Null(result.Schema);
        return Assert.Single(result.Diagnostics);
    }

    [Fact]
    public void Scalars_lists_and_nested_config_mappings_are_read_with_their_locations()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(
            Yaml(
                "arguments:",
                "  hidden: 256",
                "  dropout: 0.1",
                "  bias: false",
                "  name: gpt",
                "  quoted: '12'",
                "  widths: [64, -1, 32]",
                "  config: { d_model: 64, n_heads: 4, eps: 1e-5 }"),
            Path);

        Assert.Equal(new[] { "hidden", "dropout", "bias", "name", "quoted", "widths", "config" }, schema.Arguments.Select(a => a.Name));
        var hidden = schema.FindArgument("hidden")!;
        Assert.Equal((SchemaValueKind.Integer, 256L), (hidden.Value.Kind, hidden.Value.Integer));
        Assert.Equal((7, 3), (hidden.Location.Line, hidden.Location.Column));
        Assert.Equal((7, 11), (hidden.Value.Location.Line, hidden.Value.Location.Column));
        Assert.Equal((SchemaValueKind.Float, 0.1), (schema.FindArgument("dropout")!.Value.Kind, schema.FindArgument("dropout")!.Value.Float));
        Assert.Equal((SchemaValueKind.Bool, false), (schema.FindArgument("bias")!.Value.Kind, schema.FindArgument("bias")!.Value.Bool));
        Assert.Equal((SchemaValueKind.String, "gpt"), (schema.FindArgument("name")!.Value.Kind, schema.FindArgument("name")!.Value.Text));
        Assert.Equal((SchemaValueKind.String, "12"), (schema.FindArgument("quoted")!.Value.Kind, schema.FindArgument("quoted")!.Value.Text));
        Assert.Equal(new[] { 64L, -1L, 32L }, schema.FindArgument("widths")!.Value.Integers);

        var config = schema.FindArgument("config")!.Value;
        Assert.Equal(SchemaValueKind.Mapping, config.Kind);
        Assert.Equal(new[] { "d_model", "n_heads", "eps" }, config.Members.Select(m => m.Name));
        Assert.Equal(4L, config.FindMember("n_heads")!.Value.Integer);
        Assert.Equal((13, 26), (config.FindMember("n_heads")!.Location.Line, config.FindMember("n_heads")!.Location.Column));
        Assert.Equal(1e-5, config.FindMember("eps")!.Value.Float);
        Assert.Equal("the number 1e-5", config.FindMember("eps")!.Value.Describe());
    }

    [Fact]
    public void Schemas_compare_by_their_arguments_too()
    {
        var a = FeatureSchemaReader.ParseOrThrow(Yaml("arguments:", "  config: { d_model: 64 }"), Path);
        var b = FeatureSchemaReader.ParseOrThrow(Yaml("arguments:", "  config: { d_model: 64 }"), Path);
        var c = FeatureSchemaReader.ParseOrThrow(Yaml("arguments:", "  config: { d_model: 65 }"), Path);
        var none = FeatureSchemaReader.ParseOrThrow(Yaml(), Path);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, none);
        Assert.Empty(none.Arguments);
    }

    [Fact]
    public void An_empty_arguments_block_is_no_arguments()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(Yaml("arguments:"), Path);

        Assert.Empty(schema.Arguments);
    }

    [Fact]
    public void An_empty_argument_value_is_reported_at_the_value()
    {
        var d = Single(Yaml("arguments:", "  hidden: ~"));

        Assert.Equal(SchemaErrorCodes.InvalidValue, d.Id);
        Assert.Equal((7, 11), (d.Location.Line, d.Location.Column));
        Assert.Equal("argument 'hidden' is empty; expected an integer, a number, true or false, a string, a list of integers, or a mapping of member names to values", d.Message);
    }

    [Fact]
    public void A_list_element_that_is_no_integer_is_reported_at_the_element()
    {
        var d = Single(Yaml("arguments:", "  config:", "    widths: [64, 0.5]"));

        Assert.Equal(SchemaErrorCodes.InvalidValue, d.Id);
        Assert.Equal((8, 18), (d.Location.Line, d.Location.Column));
        Assert.Equal("element 2 of member 'widths' of argument 'config' is 0.5; expected a list of unquoted integers", d.Message);
    }

    [Fact]
    public void Arguments_that_are_not_a_mapping_or_have_bad_names_are_reported()
    {
        var list = Single(Yaml("arguments: [1, 2]"));
        Assert.Equal((6, 12), (list.Location.Line, list.Location.Column));
        Assert.Equal("'arguments' is a sequence; expected a mapping from constructor parameter names to values", list.Message);

        var name = Single(Yaml("arguments:", "  hidden-size: 3"));
        Assert.Equal((7, 3), (name.Location.Line, name.Location.Column));
        Assert.Equal("argument name 'hidden-size' in 'arguments' contains '-'; expected only letters, digits and '_'", name.Message);
    }

    [Fact]
    public void An_argument_given_twice_is_a_duplicate_name()
    {
        var result = FeatureSchemaReader.Parse(Yaml("arguments:", "  hidden: 3", "  hidden: 4"), Path);

        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(SchemaErrorCodes.DuplicateName, d.Id);
        Assert.Equal((8, 3), (d.Location.Line, d.Location.Column));
        Assert.Equal("argument 'hidden' is given more than once (first at line 7, column 3); expected one value per constructor parameter", d.Message);
    }
}
