using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Runtime.Reference.Training;
using NeuralSurgery.TorchSharp.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace PolicyEvolution;

/// <summary>
/// Training as a TorchSharp user writes it: the model's own forward, cross-entropy, Adam, minibatches in a seeded
/// order. The game task's samples arrive as host arrays and become TorchSharp tensors once.
/// </summary>
public static class TorchTraining
{
    /// <summary>One epoch's worth of calls is reported through <paramref name="epochCompleted"/>.</summary>
    /// <remarks>
    /// With <paramref name="masked"/>, each step is the sparse step of paper 000 (gradients masked, frozen elements
    /// restored after the optimizer moved them).
    /// </remarks>
    public static void Fit(nn.Module model, TensorDataset data, int epochs, int batchSize, double learningRate, int seed, Action? epochCompleted = null, MaskedStep? masked = null)
    {
        var (inputs, labels) = ToTorch(data);
        using var optimizer = optim.Adam(model.parameters(), learningRate);
        var order = new Random(seed);
        model.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var permutation = Enumerable.Range(0, data.Count).OrderBy(_ => order.Next()).ToArray();
            for (var start = 0; start < permutation.Length; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var rows = torch.tensor(permutation[start..Math.Min(start + batchSize, permutation.Length)].Select(i => (long)i).ToArray());
                var logits = Forward(model, inputs.Select(x => x.index_select(0, rows)).ToArray());
                var loss = nn.functional.cross_entropy(logits, labels.index_select(0, rows));
                optimizer.zero_grad();
                loss.backward();
                if (masked is null)
                {
                    optimizer.step();
                }
                else
                {
                    masked.Step(optimizer);
                }
            }

            epochCompleted?.Invoke();
        }

        model.eval();
    }

    /// <summary>Share of states whose highest logit is the correct action.</summary>
    public static double Accuracy(nn.Module model, TensorDataset data) => GameTask.Accuracy(Logits(model, data), data);

    /// <summary>The model's action logits for every state, in eval mode, as a host tensor <c>[count, actions]</c>.</summary>
    public static NeuralSurgery.Runtime.Reference.Tensor Logits(nn.Module model, TensorDataset data)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (inputs, _) = ToTorch(data);
        var training = model.training;
        model.eval();
        var logits = Forward(model, inputs).contiguous();
        model.train(training);
        return new NeuralSurgery.Runtime.Reference.Tensor(logits.data<float>().ToArray(), [.. logits.shape.Select(d => (int)d)]);
    }

    /// <summary>The policies' forward: hero, hero_id, units.</summary>
    private static Tensor Forward(nn.Module model, Tensor[] inputs) =>
        ((nn.Module<Tensor, Tensor, Tensor, Tensor>)model).forward(inputs[0], inputs[1], inputs[2]);

    private static (Tensor[] Inputs, Tensor Labels) ToTorch(TensorDataset data)
    {
        var all = data.GetBatch(Enumerable.Range(0, data.Count).ToArray());
        Tensor Dense(string name)
        {
            var t = all.Inputs[name];
            return torch.tensor(t.Data, t.ShapeArray().Select(d => (long)d).ToArray());
        }

        Tensor Indices(IReadOnlyDictionary<string, NeuralSurgery.Runtime.Reference.Tensor> source, string name) =>
            torch.tensor(source[name].Data.Select(v => (long)v).ToArray());

        return ([Dense("hero"), Indices(all.Inputs, "hero_id"), Dense("units")], Indices(all.Targets, "action"));
    }
}
