using System.Linq;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Schema;

/// <summary>An input's <c>axes:</c>: where its features sit among its axes (an image's channels, a sequence's last axis).</summary>
public class SchemaAxesTests
{
    private const string Path = "cnn.features.yaml";

    private static string Yaml(params string[] inputLines) =>
        string.Join("\n", new[] { "model: Cnn", "version: 1", "inputs:", "  image:" }.Concat(inputLines)) + "\n";

    private static SchemaDiagnostic Single(string yaml)
    {
        var result = FeatureSchemaReader.Parse(yaml, Path);
        Assert.Null(result.Schema);
        return Assert.Single(result.Diagnostics);
    }

    [Fact]
    public void Axes_name_the_batch_the_features_fixed_sizes_and_named_sizes()
    {
        var schema = FeatureSchemaReader.ParseOrThrow(Yaml("    axes: [batch, features, 28, width]", "    features: [red, green, blue]"), Path);

        var image = schema.FindInput("image")!;
        Assert.Equal(new[] { "batch", "features", "28", "width" }, image.Axes);
        Assert.Equal(1, image.FeatureAxis);
        Assert.Equal(3, image.Width);
    }

    [Fact]
    public void Without_axes_the_features_are_last_and_two_schemas_that_differ_only_in_axes_differ()
    {
        var flat = FeatureSchemaReader.ParseOrThrow(Yaml("    features: [red, green, blue]"), Path);
        var image = FeatureSchemaReader.ParseOrThrow(Yaml("    axes: [batch, features, 8, 8]", "    features: [red, green, blue]"), Path);

        Assert.Equal(-1, flat.FindInput("image")!.FeatureAxis);
        Assert.NotEqual(flat, image);
        Assert.Equal(image, FeatureSchemaReader.ParseOrThrow(Yaml("    axes: [batch, features, 8, 8]", "    features: [red, green, blue]"), Path));
    }

    [Theory]
    [InlineData("[batch, 28, 28]", "'axes' of input 'image' has 0 'features' and 1 'batch' entries; expected 'features' exactly once and 'batch' at most once", 5, 11)]
    [InlineData("[batch, features, features]", "'axes' of input 'image' has 2 'features' and 1 'batch' entries; expected 'features' exactly once and 'batch' at most once", 5, 11)]
    [InlineData("[batch, features, 0]", "axis 3 of input 'image' is 0; expected 'batch', 'features', an integer size >= 1 or a name", 5, 29)]
    [InlineData("[batch, features, -3]", "axis 3 of input 'image' is -3; expected 'batch', 'features', an integer size >= 1 or a name", 5, 29)]
    [InlineData("[batch, features, 'h w']", "axis 3 of input 'image' is 'h w' (a quoted string); expected 'batch', 'features', an integer size >= 1 or a name", 5, 29)]
    [InlineData("features", "'axes' of input 'image' is 'features'; expected a list such as [batch, features, 28, 28]: 'batch', 'features' (once), sizes >= 1 or names, at most 8 axes", 5, 11)]
    public void Bad_axes_are_refused_at_their_line_and_column(string axes, string message, int line, int column)
    {
        var d = Single(Yaml("    axes: " + axes, "    features: [red, green, blue]"));

        Assert.Equal(SchemaErrorCodes.InvalidValue, d.Id);
        Assert.Equal(message, d.Message);
        Assert.Equal((line, column), (d.Location.Line, d.Location.Column));
    }

    [Fact]
    public void A_categorical_input_lists_its_index_axes_without_features()
    {
        // EmbeddingBag's flat input: every bag's indices end to end along one named axis.
        var schema = FeatureSchemaReader.ParseOrThrow(Yaml("    axes: [tokens]", "    categorical: [pad, the, cat]"), Path);

        var tokens = schema.FindInput("image")!;
        Assert.Equal(InputKind.Categorical, tokens.Kind);
        Assert.Equal(new[] { "tokens" }, tokens.Axes);
        Assert.Equal(-1, tokens.FeatureAxis);
        Assert.Equal(3, tokens.Width);
    }

    [Fact]
    public void Axes_with_set_or_a_features_axis_on_a_categorical_input_are_refused()
    {
        var withSet = Single(Yaml("    set: true", "    axes: [batch, n, features]", "    features: [a]"));
        Assert.Equal("input 'image' has both 'set' and 'axes'; expected one of them ('axes: [batch, N, features]' says what 'set: true' says)", withSet.Message);
        Assert.Equal((6, 5), (withSet.Location.Line, withSet.Location.Column));

        var categorical = Single(Yaml("    axes: [batch, features]", "    categorical: [a, b]"));
        Assert.Equal("'axes' of input 'image' has 1 'features' and 1 'batch' entries; expected no 'features' (an index input's vocabulary is not an axis of its tensor) and 'batch' at most once", categorical.Message);
        Assert.Equal((5, 11), (categorical.Location.Line, categorical.Location.Column));
    }
}
