using System;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Schema;

/// <summary>Lookups shared by inputs and outputs; linear, since the records must hold no caches.</summary>
internal static class SchemaFeatureLists
{
    public static int TotalWidth(EquatableArray<SchemaFeature> features)
    {
        var width = 0;
        foreach (var feature in features)
        {
            width += feature.Width;
        }

        return width;
    }

    public static SchemaFeature? Find(EquatableArray<SchemaFeature> features, string name)
    {
        foreach (var feature in features)
        {
            if (string.Equals(feature.Name, name, StringComparison.Ordinal))
            {
                return feature;
            }
        }

        return null;
    }
}
