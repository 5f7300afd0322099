using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>
/// One input of the model (a <c>forward()</c> parameter), dense or categorical.
/// </summary>
/// <param name="Name">The input name, unique within the schema.</param>
/// <param name="Kind">Dense (features along the last axis) or categorical (indices into a vocabulary).</param>
/// <param name="IsSet">
/// The axis before the feature axis is a set (units, tokens). For a categorical input it means the index
/// tensor has a set axis.
/// </param>
/// <param name="Features">For a dense input, its features in slot order; empty for a categorical input.</param>
/// <param name="Values">For a categorical input, its vocabulary (value i is embedding row i); otherwise empty.</param>
/// <param name="Location">The span of the input's name in the YAML file.</param>
/// <param name="Axes">
/// The input's axes when the schema gives them (<c>axes: [batch, features, 28, 28]</c>): "batch", "features", a fixed
/// size in digits, or a name for a size known at run time; empty for the default <c>[batch, features]</c> (or
/// <c>[batch, N, features]</c> for a set).
/// </param>
public sealed record SchemaInput(
    string Name,
    InputKind Kind,
    bool IsSet,
    EquatableArray<SchemaFeature> Features,
    EquatableArray<string> Values,
    SourceLocation Location,
    EquatableArray<string> Axes = default)
{
    /// <summary>The position of the feature axis among <see cref="Axes"/>, or -1 when the schema gives no axes (last).</summary>
    public int FeatureAxis
    {
        get
        {
            for (var i = 0; i < Axes.Count; i++)
            {
                if (Axes[i] == "features")
                {
                    return i;
                }
            }

            return -1;
        }
    }

    /// <summary>The size of the feature axis: the sum of feature widths, or the vocabulary size.</summary>
    public int Width => Kind == InputKind.Categorical ? Values.Count : SchemaFeatureLists.TotalWidth(Features);

    /// <summary>The feature with this name, or null.</summary>
    public SchemaFeature? FindFeature(string name) => SchemaFeatureLists.Find(Features, name);

    /// <summary>The index (embedding row) of a categorical value, or -1.</summary>
    public int IndexOfValue(string value)
    {
        for (var i = 0; i < Values.Count; i++)
        {
            if (string.Equals(Values[i], value, System.StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
