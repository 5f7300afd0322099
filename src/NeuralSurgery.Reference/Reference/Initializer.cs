using System;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Execution;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>How <see cref="ReferenceModel.Initialize"/> fills weights.</summary>
public sealed record InitOptions
{
    /// <summary>torch.nn's reset_parameters for every layer.</summary>
    public static InitOptions PyTorchDefault { get; } = new();

    /// <summary>
    /// Paper 001 section 2.3.1's first remedy for gradient mapping: every non-bias weight strictly positive, drawn
    /// from U(0.1, 1)/fan_in (an Embedding's fan-in is 1), so no interaction cancels to a zero gradient by chance and
    /// sigmoid and tanh inputs stay out of saturation.
    /// </summary>
    public bool PositiveNonBias { get; init; }

    /// <summary>Biases 0, so a bias never makes a unit non-zero on its own (paper 001 Table 2's x + w row).</summary>
    public bool ZeroBias { get; init; }
}

/// <summary>
/// PyTorch's default initialisation: Linear, Conv1d and Conv2d weight and bias U(−1/√fan_in, 1/√fan_in)
/// (kaiming_uniform with a = √5), Embedding N(0, 1), LSTM/GRU U(−1/√H, 1/√H), LayerNorm and BatchNorm weight 1 and
/// bias 0, running_mean 0, running_var 1. Each tensor draws from its own stream (seed, name).
/// </summary>
internal static class Initializer
{
    public static void Apply(ReferenceModel model, ModelGraph graph, int seed, InitOptions options)
    {
        foreach (var p in graph.Parameters)
        {
            if (p.Role == ParameterRole.NumBatchesTracked)
            {
                model.SetCounter(p.Name, 0);
                continue;
            }

            var data = model.GetTensor(p.Name).Data;
            var spec = graph.FindModule(p.Module)!.Spec;
            var rng = new Random(Seeds.Mix((ulong)(uint)seed, Hash(p.Name)));
            var bias = p.Role is ParameterRole.Bias or ParameterRole.BiasIh or ParameterRole.BiasHh;
            var positive = options.PositiveNonBias && !bias;
            if (bias && options.ZeroBias)
            {
                Array.Clear(data);
                continue;
            }

            if (positive && spec is not (LayerNormSpec or BatchNormSpec))
            {
                // Elements per output row: in for Linear, in/groups·k for Conv1d, in/groups·kh·kw for Conv2d.
                var fanIn = spec is EmbeddingSpec ? 1 : data.Length / p.Shape[0].Value;
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = (float)((0.1 + (0.9 * rng.NextDouble())) / fanIn);
                }

                continue;
            }

            // The layer's own record says what TorchSharp's reset_parameters draws (the differ's init for new
            // rows uses the same fact), so the reference model starts where a fresh TorchSharp module would.
            var rule = spec.DefaultInit(p.Declaration);
            switch (rule.Kind)
            {
                case InitKind.Uniform:
                    Uniform(data, rule.Value, rng);
                    break;
                case InitKind.Normal:
                    for (var i = 0; i < data.Length; i++)
                    {
                        data[i] = (float)(rule.Value * Gaussian(rng));
                    }

                    break;
                default:
                    Array.Fill(data, (float)InitValues.Value(rule, 0, 0));
                    break;
            }
        }
    }

    private static void Uniform(float[] data, double bound, Random rng)
    {
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(bound * ((2 * rng.NextDouble()) - 1));
        }
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static ulong Hash(string name)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
