using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Checks that the structured tracer's Φ is the reference tracer's, element by element (as
/// TracerAgreementTests does), so a speedup is never reported for a wrong answer.
/// </summary>
internal static class Agreement
{
    /// <summary>Null when every parameter element and every value element agree; otherwise the first difference.</summary>
    public static string? Compare(ModelGraph graph, ReferenceTrace reference, InteractionMap structured)
    {
        foreach (var p in graph.Parameters)
        {
            var layout = structured[p.Name];
            var expected = reference.Parameters[p.Name];
            if (expected.LongLength != layout.ElementCount)
            {
                return $"parameter '{p.Name}': reference has {expected.LongLength} elements, structured {layout.ElementCount}";
            }

            var actual = layout.Expand();
            var diff = FirstDifference(expected, actual);
            if (diff >= 0)
            {
                return $"parameter '{p.Name}' element {Index(layout.Shape, diff)}: reference {expected[diff]}, structured {actual[diff]}";
            }
        }

        foreach (var (value, expected) in reference.Values)
        {
            if (!structured.Values.TryGetValue(value, out var layout))
            {
                return $"value '{value}' is missing from the structured map";
            }

            if (!layout.Shape.SequenceEqual(expected.Shape))
            {
                return $"value '{value}': shape [{string.Join(", ", layout.Shape)}] vs reference [{string.Join(", ", expected.Shape)}]";
            }

            var actual = layout.Expand();
            var diff = FirstDifference(expected.Elements, actual);
            if (diff >= 0)
            {
                return $"value '{value}' element {Index(layout.Shape, diff)}: reference {expected.Elements[diff]}, structured {actual[diff]}";
            }
        }

        return null;
    }

    private static long FirstDifference(FeatureSet[] expected, FeatureSet[] actual)
    {
        if (expected.LongLength != actual.LongLength)
        {
            return 0;
        }

        for (long i = 0; i < expected.LongLength; i++)
        {
            if (!ReferenceEquals(expected[i], actual[i]) && !expected[i].Equals(actual[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Row-major offset as a full index, e.g. <c>[3, 17]</c>.</summary>
    private static string Index(long[] shape, long offset)
    {
        var index = new long[shape.Length];
        for (var a = shape.Length - 1; a >= 0; a--)
        {
            index[a] = offset % shape[a];
            offset /= shape[a];
        }

        return "[" + string.Join(", ", index) + "]";
    }
}
