using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// A geometric family of OpenAI-Five-shaped configs: every size of <see cref="FiveConfig"/> is interpolated in log
/// space along Small → Medium → Large, so parameter counts grow by a roughly constant factor per step.
/// </summary>
public static class FiveFamily
{
    /// <summary>
    /// Positions on the path: 0 is Small, 1 is Medium, 2 is Large; steps of 1/3 between Small and Medium and of
    /// 1/4 beyond (parameters grow about 3x per step). Eight sizes.
    /// </summary>
    public static IReadOnlyList<double> Positions { get; } = [0, 1.0 / 3, 2.0 / 3, 1, 1.25, 1.5, 1.75, 2];

    /// <summary>The config at <paramref name="position"/> (0 = Small, 1 = Medium, 2 = Large).</summary>
    public static FiveConfig At(double position)
    {
        if (position is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "positions lie in [0, 2]");
        }

        var (a, b, t) = position <= 1
            ? (OpenAiFiveGraphs.Small, OpenAiFiveGraphs.Medium, position)
            : (OpenAiFiveGraphs.Medium, OpenAiFiveGraphs.Large, position - 1);
        return Interpolate(a, b, t);
    }

    /// <summary>A short name: Small, Medium, Large, or the position such as <c>f1.25</c>.</summary>
    public static string Name(double position) => position switch
    {
        0 => "Small",
        1 => "Medium",
        2 => "Large",
        _ => "f" + position.ToString("0.##", CultureInfo.InvariantCulture),
    };

    private static FiveConfig Interpolate(FiveConfig a, FiveConfig b, double t)
    {
        var heads = Geo(a.HeadSizes.Count, b.HeadSizes.Count, t);
        var headSizes = Enumerable.Range(0, heads)
            .Select(i => Geo(HeadOr(a, i, b), HeadOr(b, i, a), t))
            .ToArray();
        return new FiveConfig(
            HeroFeatures: Geo(a.HeroFeatures, b.HeroFeatures, t),
            ExtraHeroFeatures: a.ExtraHeroFeatures,
            UnitFeatures: Geo(a.UnitFeatures, b.UnitFeatures, t),
            UnitTypes: Geo(a.UnitTypes, b.UnitTypes, t),
            HeroVocabulary: Geo(a.HeroVocabulary, b.HeroVocabulary, t),
            Encoder: Geo(a.Encoder, b.Encoder, t),
            Lstm: Geo(a.Lstm, b.Lstm, t),
            HeadSizes: headSizes,
            HeroEmbedding: Geo(a.HeroEmbedding, b.HeroEmbedding, t),
            UnitTypeEmbedding: Geo(a.UnitTypeEmbedding, b.UnitTypeEmbedding, t),
            ExtraEncoder: Geo(a.ExtraEncoder, b.ExtraEncoder, t));
    }

    /// <summary>Head <paramref name="i"/> of <paramref name="c"/>, or the other config's when <paramref name="c"/> has fewer heads.</summary>
    private static int HeadOr(FiveConfig c, int i, FiveConfig other) =>
        i < c.HeadSizes.Count ? c.HeadSizes[i] : other.HeadSizes[i];

    private static int Geo(int from, int to, double t) =>
        t == 0 ? from : t == 1 ? to : Math.Max(1, (int)Math.Round(Math.Exp(((1 - t) * Math.Log(from)) + (t * Math.Log(to)))));
}
