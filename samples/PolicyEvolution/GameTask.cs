using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace PolicyEvolution;

/// <summary>
/// A synthetic game task with a known rule, so accuracy means something. A hero retreats when its health share is
/// below its threshold (lich: 0.5, others 0.3), attacks when an enemy unit is within reach, and moves otherwise.
/// From v3 on it casts instead of attacking when its spell is ready and it has more than half its mana.
/// </summary>
public sealed class GameTask(int seed)
{
    public const int Units = 4;

    public const int Retreat = 0;

    public const int Cast = 3;

    private int _draws;

    /// <summary>
    /// <paramref name="count"/> states with their correct actions. <paramref name="heroWidth"/> is 5 (v1) or 8
    /// (v2 and v3: mana, max_mana, spell_ready); without <paramref name="newFeatures"/> those three are zero and
    /// the heroes are the three v1 knows, i.e. the states a v1 model was trained on.
    /// </summary>
    public TensorDataset Sample(int count, int heroWidth, bool newFeatures, bool castRule)
    {
        var rng = new Random(unchecked((seed * 31) + (++_draws)));
        var hero = new float[count * heroWidth];
        var heroId = new float[count];
        var units = new float[count * Units * 4];
        var action = new float[count];
        for (var i = 0; i < count; i++)
        {
            var h = hero.AsSpan(i * heroWidth, heroWidth);
            h[0] = 0.5f + (float)rng.NextDouble();                  // max_health
            h[1] = h[0] * (float)rng.NextDouble();                  // health
            h[2] = Normal(rng);                                     // position
            h[3] = Normal(rng);
            h[4] = (float)rng.NextDouble();                         // level
            var id = rng.Next(newFeatures ? 4 : 3);
            heroId[i] = id;

            var enemyNear = false;
            for (var u = 0; u < Units; u++)
            {
                var unit = units.AsSpan(((i * Units) + u) * 4, 4);
                unit[0] = (float)rng.NextDouble();                  // health
                unit[1] = Normal(rng);                              // position, relative to the hero
                unit[2] = Normal(rng);
                unit[3] = rng.Next(2);                              // is_enemy
                enemyNear |= unit[3] == 1 && ((unit[1] * unit[1]) + (unit[2] * unit[2])) < 1;
            }

            var spellReady = false;
            if (newFeatures)
            {
                h[5] = (float)rng.NextDouble();                     // mana
                h[6] = 1f;                                          // max_mana
                h[7] = rng.Next(2);                                 // spell_ready
                spellReady = h[7] == 1 && h[5] > 0.5f * h[6];
            }

            var threshold = id == 2 ? 0.5f : 0.3f;
            action[i] = castRule && spellReady && enemyNear ? Cast
                : h[1] / h[0] < threshold ? Retreat
                : enemyNear ? 2
                : 1;
        }

        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["hero"] = new(hero, count, heroWidth),
            ["hero_id"] = new(heroId, count),
            ["units"] = new(units, count, Units, 4),
        };
        return new TensorDataset(inputs, new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["action"] = new(action, count) });
    }

    /// <summary>Share of states whose highest logit (<paramref name="logits"/>, <c>[count, actions]</c>) is the correct action.</summary>
    public static double Accuracy(Tensor logits, TensorDataset data)
    {
        var labels = All(data).Targets["action"];
        return Enumerable.Range(0, data.Count).Count(i => ArgMax(logits, i) == (int)labels.Data[i]) / (double)data.Count;
    }

    /// <summary>Of the states whose correct action is cast, the share the model casts in.</summary>
    public static double CastRecall(Tensor logits, TensorDataset data)
    {
        var labels = All(data).Targets["action"];
        var casts = Enumerable.Range(0, data.Count).Where(i => (int)labels.Data[i] == Cast).ToList();
        return casts.Count == 0 ? 0 : casts.Count(i => ArgMax(logits, i) == Cast) / (double)casts.Count;
    }

    /// <summary>Per state, the probability the model gives the correct action: paper 000's per-instance score.</summary>
    public static double[] TrueClassProbabilities(Tensor logits, TensorDataset data)
    {
        var labels = All(data).Targets["action"];
        var columns = logits.Dim(1);
        var scores = new double[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var row = logits.Data.AsSpan(i * columns, columns);
            var max = row.ToArray().Max();
            var sum = 0.0;
            foreach (var v in row)
            {
                sum += Math.Exp(v - max);
            }

            scores[i] = Math.Exp(row[(int)labels.Data[i]] - max) / sum;
        }

        return scores;
    }

    /// <summary>Largest difference between two logit tensors over their first <paramref name="columns"/> actions.</summary>
    public static double MaxDifference(Tensor before, Tensor after, int columns)
    {
        var worst = 0.0;
        for (var i = 0; i < before.Dim(0); i++)
        {
            for (var c = 0; c < columns; c++)
            {
                worst = Math.Max(worst, Math.Abs(before.Data[(i * before.Dim(1)) + c] - after.Data[(i * after.Dim(1)) + c]));
            }
        }

        return worst;
    }

    private static TrainingBatch All(TensorDataset data) => data.GetBatch(Enumerable.Range(0, data.Count).ToArray());

    private static int ArgMax(Tensor logits, int row)
    {
        var columns = logits.Dim(1);
        var best = 0;
        for (var c = 1; c < columns; c++)
        {
            if (logits.Data[(row * columns) + c] > logits.Data[(row * columns) + best])
            {
                best = c;
            }
        }

        return best;
    }

    private static float Normal(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
}
